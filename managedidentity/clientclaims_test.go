package managedidentity_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

const (
	nsp          = `{"xms_az_nwperimid":{"essential":true}}`
	nspEncoded   = `%7B%22xms_az_nwperimid%22%3A%7B%22essential%22%3Atrue%7D%7D`
	nspSpaced    = " {\n \"xms_az_nwperimid\" : { \"essential\" : true }\t} "
	nspWithValue = `{"xms_az_nwperimid":{"value":"a b","essential":true}}`
)

func claimsClient(t *testing.T, emu *entratest.ManagedIdentityEmulator) *managedidentity.Client {
	c, _ := newClient(t, emu, entratest.MISourceIMDS, func(cfg *managedidentity.Config) { cfg.EnableClientClaims = true })
	return c
}

func TestClientClaimsOnTheWire(t *testing.T) {
	emu := startEmulator(t, entratest.ManagedIdentityOptions{})
	c := claimsClient(t, emu)
	ctx := context.Background()
	withClaims, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource, ClientClaims: nsp})
	if err != nil {
		t.Fatal(err)
	}
	r := emu.Requests()[0]
	if !strings.Contains(r.RawQuery, "&claims="+nspEncoded) && !strings.HasPrefix(r.RawQuery, "claims="+nspEncoded) {
		t.Errorf("query %q lacks claims=%s", r.RawQuery, nspEncoded)
	}
	if info, _ := emu.TokenInfo(withClaims.AccessToken); info.Claims != nsp {
		t.Errorf("IMDS received claims %q", info.Claims)
	}

	// The canonical form is the key: cosmetic differences share the entry.
	tok, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource, ClientClaims: nspSpaced})
	if err != nil || tok.Source != entra.SourceCache || tok.AccessToken != withClaims.AccessToken || len(emu.Requests()) != 1 {
		t.Fatalf("equivalent claims: %v, %v, %d requests", tok, err, len(emu.Requests()))
	}

	// A request without claims never gets the token fetched with them.
	plain, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
	if err != nil || plain.Source != entra.SourceIdentityProvider || plain.AccessToken == withClaims.AccessToken {
		t.Fatalf("no claims: %v, %v", plain, err)
	}
	if r := emu.Requests()[1]; r.Query.Has("claims") {
		t.Errorf("claims sent without client claims: %q", r.RawQuery)
	}
	// ... and vice versa.
	if tok, _ := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource, ClientClaims: nsp}); tok.AccessToken != withClaims.AccessToken {
		t.Errorf("the claims request got the plain token")
	}
	if tok, _ := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource}); tok.AccessToken != plain.AccessToken {
		t.Errorf("the plain request got the claims token")
	}

	// Other claims are another entry; keys are sorted and a space is %20.
	valued, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource, ClientClaims: nspWithValue})
	if err != nil || valued.Source != entra.SourceIdentityProvider {
		t.Fatalf("other claims: %v, %v", valued, err)
	}
	want := "claims=" + `%7B%22xms_az_nwperimid%22%3A%7B%22essential%22%3Atrue%2C%22value%22%3A%22a%20b%22%7D%7D`
	if r := emu.Requests()[2]; !strings.Contains(r.RawQuery, want) {
		t.Errorf("query %q lacks %s", r.RawQuery, want)
	}

	// With a claims challenge too: only the client claims are sent, and
	// the cache read is bypassed; the new token is cached under them.
	challenged, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource, ClientClaims: nsp,
		Claims: `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`})
	if err != nil || challenged.Source != entra.SourceIdentityProvider || challenged.AccessToken == withClaims.AccessToken {
		t.Fatalf("challenge: %v, %v", challenged, err)
	}
	if info, _ := emu.TokenInfo(challenged.AccessToken); info.Claims != nsp {
		t.Errorf("IMDS received claims %q, want the client claims only", info.Claims)
	}
	if tok, _ := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource, ClientClaims: nspSpaced}); tok.AccessToken != challenged.AccessToken {
		t.Errorf("the challenged token was not cached under the client claims")
	}
	if tok, _ := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource}); tok.AccessToken != plain.AccessToken {
		t.Errorf("the plain entry changed")
	}
	if n := len(emu.Requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestBlankClientClaimsAreANoOp(t *testing.T) {
	emu := startEmulator(t, entratest.ManagedIdentityOptions{})
	for _, src := range []entratest.MISource{entratest.MISourceIMDS, entratest.MISourceAppService} {
		c, _ := newClient(t, emu, src) // not opted in
		for _, blank := range []string{"", " ", "\n\t\r "} {
			if _, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource, ClientClaims: blank}); err != nil {
				t.Errorf("%s, %q: %v", src, blank, err)
			}
		}
	}
	for _, r := range emu.Requests() {
		if r.Query.Has("claims") {
			t.Errorf("claims sent: %q", r.RawQuery)
		}
	}
}

// Every client-claims error path: the right code, and no error text or
// log record contains the claims.
func TestClientClaimsErrors(t *testing.T) {
	emu := startEmulator(t, entratest.ManagedIdentityOptions{})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const secret = "s3cr3t-perimeter-9d2c"
	tests := []struct {
		name     string
		src      entratest.MISource
		optIn    bool
		claims   string
		code     entra.Code
		contains []string
	}{
		{"not opted in", entratest.MISourceIMDS, false, `{"xms_az_nwperimid":{"value":"` + secret + `"}}`, entra.CodeExperimentalFeature, []string{"EnableClientClaims"}},
		{"not opted in, invalid", entratest.MISourceIMDS, false, `{"` + secret, entra.CodeExperimentalFeature, nil},
		{"truncated", entratest.MISourceIMDS, true, `{"xms_az_nwperimid":{"value":"` + secret + `"}`, entra.CodeInvalidJSONClaims, nil},
		{"null", entratest.MISourceIMDS, true, `null`, entra.CodeInvalidJSONClaims, nil},
		{"array", entratest.MISourceIMDS, true, `["` + secret + `"]`, entra.CodeInvalidJSONClaims, nil},
		{"string", entratest.MISourceIMDS, true, `"` + secret + `"`, entra.CodeInvalidJSONClaims, nil},
		{"number", entratest.MISourceIMDS, true, `42`, entra.CodeInvalidJSONClaims, nil},
		{"duplicate key", entratest.MISourceIMDS, true, `{"xms_az_nwperimid":1,"xms_az_nwperimid":"` + secret + `"}`, entra.CodeInvalidJSONClaims, nil},
		{"trailing data", entratest.MISourceIMDS, true, nsp + `{"` + secret + `":1}`, entra.CodeInvalidJSONClaims, nil},
		{"another key", entratest.MISourceIMDS, true, `{"xms_az_nwperimid":{"value":"` + secret + `"},"xms_cc":{"values":["` + secret + `"]}}`,
			entra.CodeInvalidRequest, []string{`"xms_cc"`, "xms_az_nwperimid"}},
		{"only another key", entratest.MISourceIMDS, true, `{"access_token":{"nbf":{"value":"` + secret + `"}}}`,
			entra.CodeInvalidRequest, []string{`"access_token"`}},
		{"long key", entratest.MISourceIMDS, true, `{"` + strings.Repeat("k", 200) + secret + `":1}`, entra.CodeInvalidRequest, []string{"…"}},
	}
	names := map[entratest.MISource]string{
		entratest.MISourceAppService: "App Service", entratest.MISourceAzureArc: "Azure Arc",
		entratest.MISourceCloudShell: "Cloud Shell", entratest.MISourceServiceFabric: "Service Fabric",
		entratest.MISourceMachineLearning: "Machine Learning",
	}
	for src, name := range names {
		tests = append(tests, struct {
			name     string
			src      entratest.MISource
			optIn    bool
			claims   string
			code     entra.Code
			contains []string
		}{"source " + name, src, true, `{"xms_az_nwperimid":{"value":"` + secret + `"}}`, entra.CodeInvalidRequest, []string{name, "IMDS"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, emu, tt.src, func(cfg *managedidentity.Config) {
				cfg.EnableClientClaims = tt.optIn
				cfg.Logger = logger
			})
			_, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource, ClientClaims: tt.claims})
			e := wantCode(t, err, tt.code)
			for _, w := range tt.contains {
				if !strings.Contains(e.Error(), w) {
					t.Errorf("%q does not contain %q", e.Error(), w)
				}
			}
			text := e.Error() + " " + e.Message + " " + e.Description
			for _, leak := range []string{tt.claims, secret, "s3cr3t"} {
				if strings.Contains(text, leak) {
					t.Errorf("error %q contains the claims (%q)", text, leak)
				}
			}
		})
	}
	if n := len(emu.Requests()); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
	if strings.Contains(logs.String(), "s3cr3t") {
		t.Errorf("logs contain the claims:\n%s", logs.String())
	}
}
