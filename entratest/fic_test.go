package entratest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/internal/jws"
)

// testClock is a clock a test sets, shared by the emulator and its issuers.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// ficForm asks for a client's token with a federated assertion.
func ficForm(clientID, assertion string) url.Values {
	return url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {"https://graph.microsoft.com/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion},
	}
}

// outcome is a token answer reduced to what the tests compare: the status,
// the OAuth error and its AADSTS number.
type outcome struct {
	status int
	code   string
	aadsts int
}

func (o outcome) String() string { return fmt.Sprintf("%d %s AADSTS%d", o.status, o.code, o.aadsts) }

// redeem sends a federated assertion for clientID and returns the outcome
// and the error description, if any.
func redeem(t *testing.T, emu *entratest.Emulator, clientID, assertion string) (outcome, string) {
	t.Helper()
	status, _, body := send(t, emu.HTTPClient(), "POST", graphToken, nil, ficForm(clientID, assertion))
	o := outcome{status: status}
	o.code, _ = body["error"].(string)
	if codes, ok := body["error_codes"].([]any); ok && len(codes) == 1 {
		n, _ := codes[0].(float64)
		o.aadsts = int(n)
	}
	if status == http.StatusOK && body["access_token"] == nil {
		t.Fatalf("200 without an access token: %v", body)
	}
	desc, _ := body["error_description"].(string)
	return o, desc
}

// TestFederatedCredentialFromIssuer checks each outcome of a Kubernetes
// service-account token presented as a client's assertion.
func TestFederatedCredentialFromIssuer(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	cluster := emu.NewIssuer("cluster")
	stranger := emu.NewIssuer("stranger")
	rotated := emu.NewIssuer("rotated")
	oldKey := rotated.Token(workload, exchangeAudience, time.Hour)
	rotated = emu.NewIssuer("rotated") // a new key under the same name
	emu.RegisterClient(entratest.Client{ID: "app", FederatedCredentials: []entratest.FederatedCredential{
		{Issuer: cluster.URL(), Subject: workload, Audience: exchangeAudience},
		{Issuer: rotated.URL(), Subject: workload, Audience: exchangeAudience},
		{Issuer: "https://oidc.example/cluster", Subject: workload, Audience: exchangeAudience},
	}})
	tests := []struct {
		name      string
		assertion string
		want      outcome
		desc      string
	}{
		{"accepted", cluster.Token(workload, exchangeAudience, time.Hour), outcome{200, "", 0}, ""},
		{"expired", cluster.Token(workload, exchangeAudience, -time.Minute), outcome{401, "invalid_client", 700024}, "not within its valid time range"},
		{"wrong audience", cluster.Token(workload, "api://AzureADTokenExchangeChina", time.Hour), outcome{401, "invalid_client", 7002206}, "does not match the audience"},
		{"unknown subject", cluster.Token("system:serviceaccount:payments:other", exchangeAudience, time.Hour), outcome{401, "invalid_client", 70021}, "No matching federated identity record found"},
		{"issuer not registered", stranger.Token(workload, exchangeAudience, time.Hour), outcome{401, "invalid_client", 70021}, "Assertion Issuer: '" + stranger.URL() + "'"},
		{"issuer the emulator does not serve", foreignToken(t, "https://oidc.example/cluster", ""), outcome{400, "invalid_request", 50166}, "External OIDC endpoint"},
		{"key no longer published", oldKey, outcome{401, "invalid_client", 7000272}, "could not be found in the metadata"},
		{"forged signature", foreignToken(t, cluster.URL(), kidOf(t, cluster)), outcome{401, "invalid_client", 700027}, "signature validation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, desc := redeem(t, emu, "app", tt.assertion)
			if got != tt.want || !strings.Contains(desc, tt.desc) {
				t.Fatalf("got %v %q, want %v with %q", got, desc, tt.want, tt.desc)
			}
		})
	}
	send(t, emu.HTTPClient(), "POST", graphToken, nil, secretForm(emu))
	reqs := emu.Requests("token")
	if a, b := reqs[len(reqs)-2].ClientAuth, reqs[len(reqs)-1].ClientAuth; a != "federated" || b != "secret" {
		t.Errorf("Request.ClientAuth = %q, %q; want federated, secret", a, b)
	}
}

// foreignToken is a token claiming issuer's name (and kid) but signed with
// a key of no issuer the emulator serves.
func foreignToken(t *testing.T, issuer, kid string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := jws.Sign(key, "ES256", map[string]any{"kid": kid}, map[string]any{
		"iss": issuer, "sub": workload, "aud": exchangeAudience, "jti": "x",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func kidOf(t *testing.T, is *entratest.Issuer) string {
	t.Helper()
	tok, err := jws.Parse(is.Token(workload, exchangeAudience, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return tok.HeaderString("kid")
}

// TestFederatedAssertionReusableUntilExpiry checks that one token serves
// for its whole life, as a workload's token file does, and not one second
// more: the emulator allows no clock skew.
func TestFederatedAssertionReusableUntilExpiry(t *testing.T) {
	t.Parallel()
	start := time.Now().Truncate(time.Second)
	clock := &testClock{now: start}
	emu := miStart(t, entratest.Options{Now: clock.Now})
	cluster := emu.NewIssuer("cluster")
	emu.RegisterClient(entratest.Client{ID: "app", FederatedCredentials: []entratest.FederatedCredential{
		{Issuer: cluster.URL(), Subject: workload, Audience: exchangeAudience},
	}})
	token := cluster.Token(workload, exchangeAudience, 10*time.Minute)
	ok := outcome{200, "", 0}
	expired := outcome{401, "invalid_client", 700024}
	steps := []struct {
		at   time.Duration
		want outcome
	}{
		{-time.Second, expired}, // before nbf
		{0, ok},
		{0, ok}, // the same token again
		{10*time.Minute - time.Second, ok},
		{10 * time.Minute, expired},
	}
	for _, s := range steps {
		clock.Set(start.Add(s.at))
		if got, desc := redeem(t, emu, "app", token); got != s.want {
			t.Fatalf("at %v: got %v %q, want %v", s.at, got, desc, s.want)
		}
	}
}

// TestManagedIdentityAsFederatedCredential plays both legs of a managed
// identity as an app's federated credential, on each cloud's
// token-exchange audience: the identity's token for the audience, then
// that token as the assertion of an app that trusts the identity.
func TestManagedIdentityAsFederatedCredential(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{TokenLifetime: 90 * time.Minute})
	issuer := "https://login.microsoftonline.com/" + emu.DefaultUser().TenantID + "/v2.0"
	ok := outcome{200, "", 0}
	tests := []struct {
		name, param, value   string
		registered, resource string
		want                 outcome
	}{
		{"public, system-assigned", "", "", exchangeAudience, exchangeAudience, ok},
		{"US Gov, by client id", "client_id", "c1", "api://AzureADTokenExchangeUSGov", "api://AzureADTokenExchangeUSGov/.default", ok},
		{"China, by resource id", "msi_res_id", "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u", "api://AzureADTokenExchangeChina", "api://AzureADTokenExchangeChina", ok},
		{"France, by object id", "object_id", "o1", "api://AzureADTokenExchangeFrance", "api://AzureADTokenExchangeFrance", ok},
		{"Germany", "", "", "api://AzureADTokenExchangeGermany", "api://AzureADTokenExchangeGermany", ok},
		{"another cloud's audience", "", "", "api://AzureADTokenExchangeUSGov", exchangeAudience, outcome{401, "invalid_client", 7002206}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oid := emu.ManagedIdentityObjectID(tt.param, tt.value)
			app := fmt.Sprintf("app-%d", i)
			emu.RegisterClient(entratest.Client{ID: app, FederatedCredentials: []entratest.FederatedCredential{
				{Issuer: issuer, Subject: oid, Audience: tt.registered},
			}})
			token := imdsToken(t, emu, tt.resource, tt.param, tt.value)
			claims, err := emu.VerifyAccessToken(token)
			iat, _ := claims["iat"].(float64)
			exp, _ := claims["exp"].(float64)
			if err != nil || claims["iss"] != issuer || claims["sub"] != oid || claims["oid"] != oid ||
				claims["aud"] != strings.TrimSuffix(tt.resource, "/.default") || exp-iat != 90*60 {
				t.Fatalf("managed identity token: %v, claims %v", err, claims)
			}
			if got, desc := redeem(t, emu, app, token); got != tt.want {
				t.Fatalf("got %v %q, want %v", got, desc, tt.want)
			}
		})
	}
}

// imdsToken is IMDS's token for resource and the identity param=value
// names (the system-assigned one if param is "").
func imdsToken(t *testing.T, emu *entratest.Emulator, resource, param, value string) string {
	t.Helper()
	q := url.Values{"api-version": {"2018-02-01"}, "resource": {resource}}
	if param != "" {
		q.Set(param, value)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	status, _, body := send(t, client, "GET", emu.ManagedIdentityURL("imds")+"?"+q.Encode(), http.Header{"Metadata": {"true"}}, nil)
	token, _ := body["access_token"].(string)
	if status != 200 || token == "" {
		t.Fatalf("IMDS: %d %v", status, body)
	}
	return token
}
