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

func claimsClient(t *testing.T, emu *entratest.Emulator) *managedidentity.Client {
	c, _ := newClient(t, emu, "imds", func(cfg *managedidentity.Config) { cfg.EnableClientClaims = true })
	return c
}

func TestClientClaimsOnTheWire(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
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
	if got := r.Query.Get("claims"); got != nsp {
		t.Errorf("IMDS received claims %q", got)
	}

	// The canonical form is the key: cosmetic differences share the entry.
	tok, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource, ClientClaims: nspSpaced})
	if err != nil || !tok.FromCache || tok.AccessToken != withClaims.AccessToken || len(emu.Requests()) != 1 {
		t.Fatalf("equivalent claims: %v, %v, %d requests", tok, err, len(emu.Requests()))
	}

	// A request without claims never gets the token fetched with them.
	plain, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
	if err != nil || plain.FromCache || plain.AccessToken == withClaims.AccessToken {
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
	if err != nil || valued.FromCache {
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
	if err != nil || challenged.FromCache || challenged.AccessToken == withClaims.AccessToken {
		t.Fatalf("challenge: %v, %v", challenged, err)
	}
	if reqs := emu.Requests(); reqs[len(reqs)-1].Query.Get("claims") != nsp {
		t.Errorf("IMDS received claims %q, want the client claims only", reqs[len(reqs)-1].Query.Get("claims"))
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
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	for _, src := range []string{"imds", "app_service"} {
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
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const secret = "s3cr3t-perimeter-9d2c"
	tests := []struct {
		name     string
		src      string
		optIn    bool
		claims   string
		code     entra.Code
		contains []string
	}{
		{"not opted in", "imds", false, `{"xms_az_nwperimid":{"value":"` + secret + `"}}`, entra.CodeExperimentalFeature, []string{"EnableClientClaims"}},
		{"not opted in, invalid", "imds", false, `{"` + secret, entra.CodeExperimentalFeature, nil},
		{"truncated", "imds", true, `{"xms_az_nwperimid":{"value":"` + secret + `"}`, entra.CodeInvalidJSONClaims, nil},
		{"null", "imds", true, `null`, entra.CodeInvalidJSONClaims, nil},
		{"array", "imds", true, `["` + secret + `"]`, entra.CodeInvalidJSONClaims, nil},
		{"string", "imds", true, `"` + secret + `"`, entra.CodeInvalidJSONClaims, nil},
		{"number", "imds", true, `42`, entra.CodeInvalidJSONClaims, nil},
		{"duplicate key", "imds", true, `{"xms_az_nwperimid":1,"xms_az_nwperimid":"` + secret + `"}`, entra.CodeInvalidJSONClaims, nil},
		{"trailing data", "imds", true, nsp + `{"` + secret + `":1}`, entra.CodeInvalidJSONClaims, nil},
		{"another key", "imds", true, `{"xms_az_nwperimid":{"value":"` + secret + `"},"xms_cc":{"values":["` + secret + `"]}}`,
			entra.CodeInvalidArgument, []string{`"xms_cc"`, "xms_az_nwperimid"}},
		{"only another key", "imds", true, `{"access_token":{"nbf":{"value":"` + secret + `"}}}`,
			entra.CodeInvalidArgument, []string{`"access_token"`}},
		{"long key", "imds", true, `{"` + strings.Repeat("k", 200) + secret + `":1}`, entra.CodeInvalidArgument, []string{"…"}},
	}
	names := map[string]string{
		"app_service": "App Service", "azure_arc": "Azure Arc",
		"cloud_shell": "Cloud Shell", "service_fabric": "Service Fabric",
		"machine_learning": "Machine Learning",
	}
	for src, name := range names {
		tests = append(tests, struct {
			name     string
			src      string
			optIn    bool
			claims   string
			code     entra.Code
			contains []string
		}{"source " + name, src, true, `{"xms_az_nwperimid":{"value":"` + secret + `"}}`, entra.CodeInvalidArgument, []string{name, "IMDS"}})
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
