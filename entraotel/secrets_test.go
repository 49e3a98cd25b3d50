package entraotel_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

// claimsChallenge is a claims payload as a resource sends it, with a
// marker to look for.
const claimsChallenge = `{"access_token":{"nbf":{"essential":true,"value":"claims-marker-5c1e"}}}`

// TestNothingSecretIsRecorded runs a miss, a traced hit, a claims
// challenge, a failure, an on-behalf-of and a managed identity
// acquisition, then looks for the client secret, each token, the claims,
// the user assertion and the user name in every span and metric point.
func TestNothingSecretIsRecorded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, entratest.Options{})
	c, ctx := h.confidential(t), t.Context()
	secrets := []string{h.em.DefaultClient().Secret, claimsChallenge, "claims-marker-5c1e"}
	keep := func(tok string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, tok, tok[:strings.LastIndexByte(tok, '.')]) // the token, and its unsigned part
	}
	tok, err := c.AcquireTokenForClient(ctx, forClient)
	keep(tok.AccessToken, err)
	traced, _ := h.caller(t)
	tok, err = c.AcquireTokenForClient(traced, forClient)
	keep(tok.AccessToken, err)
	tok, err = c.AcquireTokenForClient(traced, confidential.TokenRequest{Scopes: []string{graph}, Claims: claimsChallenge})
	keep(tok.AccessToken, err)
	h.em.InjectFault(entratest.Fault{Endpoint: "token", Status: http.StatusUnauthorized})
	if _, err := c.AcquireTokenForClient(traced, confidential.TokenRequest{Scopes: []string{graph}, ForceRefresh: true}); err == nil {
		t.Fatal("no error for a 401")
	}
	user := entratest.User{Audience: h.em.DefaultClient().ID, Subject: "u", Username: "grace.marker@contoso.example"}
	assertion := h.em.IssueUserToken(user)
	secrets = append(secrets, assertion, user.Username)
	tok, err = c.AcquireTokenOnBehalfOf(traced, assertion, confidential.TokenRequest{Scopes: []string{"https://api.contoso.test/read"}})
	keep(tok.AccessToken, err)
	tok, err = h.managedIdentity(t).AcquireToken(traced, managedidentity.TokenRequest{Resource: "https://management.azure.com"})
	keep(tok.AccessToken, err)

	if sent := h.em.Requests("token")[1].Form.Get("claims"); sent != claimsChallenge {
		t.Fatalf("the claims sent were %q: the test would prove nothing", sent)
	}
	recorded := append(spanStrings(h.ended()), metricStrings(t, h)...)
	if len(recorded) < 20 {
		t.Fatalf("only %d strings recorded: the test would prove nothing", len(recorded))
	}
	for _, s := range recorded {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("recorded %q, which holds a secret", s)
			}
		}
	}
}

// spanStrings renders every name, attribute, status, event and link.
func spanStrings(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name(), s.Status().Description)
		out = append(out, kvStrings(s.Attributes())...)
		for _, e := range s.Events() {
			out = append(out, e.Name)
			out = append(out, kvStrings(e.Attributes)...)
		}
		for _, l := range s.Links() {
			out = append(out, kvStrings(l.Attributes)...)
		}
	}
	return out
}

// metricStrings renders every attribute of every data point and exemplar.
func metricStrings(t *testing.T, h *harness) []string {
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					out = append(out, kvStrings(dp.Attributes.ToSlice())...)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					out = append(out, kvStrings(dp.Attributes.ToSlice())...)
					for _, e := range dp.Exemplars {
						out = append(out, kvStrings(e.FilteredAttributes)...)
					}
				}
			default:
				t.Fatalf("%s: unexpected aggregation %T", m.Name, m.Data)
			}
		}
	}
	return out
}

func kvStrings(kvs []attribute.KeyValue) []string {
	out := make([]string, len(kvs))
	for i, kv := range kvs {
		out[i] = fmt.Sprintf("%s=%s", kv.Key, kv.Value.Emit())
	}
	return out
}
