package confidential

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
)

const perimeter = `{"xms_az_nwperimid":{"essential":true}}`

func TestClientClaims(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret, func(cfg *Config) { cfg.EnableClientClaims = true; cfg.Capabilities = []string{"cp1"} })
	ctx := context.Background()
	get := func(req TokenRequest) entra.Token {
		t.Helper()
		req.Scopes = graphScopes
		tok, err := c.AcquireTokenForClient(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	first := get(TokenRequest{ClientClaims: perimeter})
	if first.FromCache {
		t.Fatal("first client-claims call was not sent")
	}
	if got, want := f.tokenRequests()[0].Form.Get("claims"), `{"access_token":{"xms_cc":{"values":["cp1"]}},"xms_az_nwperimid":{"essential":true}}`; got != want {
		t.Fatalf("claims on the wire %s, want %s", got, want)
	}
	// The same claims in other formatting: a hit.
	reformatted := get(TokenRequest{ClientClaims: "{ \"xms_az_nwperimid\" :\n { \"essential\" : true } }"})
	if !reformatted.FromCache || reformatted.AccessToken != first.AccessToken {
		t.Fatal("reformatted claims missed the cache")
	}
	// No claims: never the token fetched with them.
	plain := get(TokenRequest{})
	if plain.FromCache || plain.AccessToken == first.AccessToken {
		t.Fatal("a request without client claims got the client-claims token")
	}
	// Other claims: another entry.
	other := get(TokenRequest{ClientClaims: `{"xms_az_nwperimid":{"essential":false}}`})
	if other.FromCache {
		t.Fatal("different claims were served another claims value's token")
	}
	// And the client-claims entry did not take the plain token.
	if again := get(TokenRequest{ClientClaims: perimeter}); again.AccessToken != first.AccessToken {
		t.Fatal("client-claims entry lost")
	}
	// Blank client claims are none.
	if blank := get(TokenRequest{ClientClaims: "  \n"}); blank.AccessToken != plain.AccessToken {
		t.Fatal("blank client claims were not a no-op")
	}

	// Challenge + client claims: cache read bypassed, both merged (client
	// wins on collisions), result cached under the client-claims key.
	f.em.ResetRequests()
	challenge := `{"access_token":{"nbf":{"essential":true,"value":"1"}},"xms_az_nwperimid":{"essential":false}}`
	challenged := get(TokenRequest{ClientClaims: perimeter, Claims: challenge})
	if challenged.FromCache {
		t.Fatal("a claims challenge was answered from the cache")
	}
	if got, want := f.tokenRequests()[0].Form.Get("claims"),
		`{"access_token":{"nbf":{"essential":true,"value":"1"},"xms_cc":{"values":["cp1"]}},"xms_az_nwperimid":{"essential":true}}`; got != want {
		t.Fatalf("merged claims %s, want %s", got, want)
	}
	if after := get(TokenRequest{ClientClaims: perimeter}); after.AccessToken != challenged.AccessToken || !after.FromCache {
		t.Fatal("the challenged token was not cached under the client-claims key")
	}
	if p := get(TokenRequest{}); p.AccessToken != plain.AccessToken {
		t.Fatal("the challenged token replaced the plain one")
	}
}

func TestClientClaimsOnBehalfOf(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret, func(cfg *Config) { cfg.EnableClientClaims = true })
	user := f.em.IssueUserToken(entratest.User{Audience: f.clientID, Subject: "alice", TenantID: tenant})
	req := TokenRequest{Scopes: []string{"https://api.contoso.test/read"}, ClientClaims: perimeter}
	a, err := c.AcquireTokenOnBehalfOf(context.Background(), user, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.tokenRequests()[0].Form.Get("claims"); got != perimeter {
		t.Fatalf("claims %s", got)
	}
	req.ClientClaims = `{"xms_az_nwperimid" : {"essential" : true}}`
	b, err := c.AcquireTokenOnBehalfOf(context.Background(), user, req)
	if err != nil || !b.FromCache || b.AccessToken != a.AccessToken {
		t.Fatalf("reformatted OBO claims: %v %v", b, err)
	}
}

// TestClientClaimsErrorsNeverShowTheClaims runs every error path of the
// feature and checks no error text or log line carries the claims input.
func TestClientClaimsErrorsNeverShowTheClaims(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	on := f.client(t, f.secret, func(cfg *Config) { cfg.EnableClientClaims = true; cfg.Logger = logger })
	off := f.client(t, f.secret, func(cfg *Config) { cfg.Logger = logger })
	user := f.em.IssueUserToken(entratest.User{Audience: f.clientID, Subject: "alice", TenantID: tenant})
	const marker = "nsp-secret-7f3a"
	tests := []struct {
		name   string
		c      *Client
		client string
		claims string
		want   entra.Code
	}{
		{"not opted in", off, `{"xms_az_nwperimid":{"id":"` + marker + `"}}`, "", entra.CodeExperimentalFeature},
		{"null", on, "null", "", entra.CodeInvalidJSONClaims},
		{"array", on, `["` + marker + `"]`, "", entra.CodeInvalidJSONClaims},
		{"string", on, `"` + marker + `"`, "", entra.CodeInvalidJSONClaims},
		{"truncated", on, `{"` + marker + `":`, "", entra.CodeInvalidJSONClaims},
		{"duplicate keys", on, `{"` + marker + `":1,"` + marker + `":2}`, "", entra.CodeInvalidJSONClaims},
		{"bad challenge with good client claims", on, `{"a":"` + marker + `"}`, `{"` + marker, entra.CodeInvalidJSONClaims},
		{"challenge not an object", on, `{"a":"` + marker + `"}`, `[1]`, entra.CodeInvalidJSONClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, obo := range []bool{false, true} {
				req := TokenRequest{Scopes: graphScopes, ClientClaims: tt.client, Claims: tt.claims}
				var err error
				if obo {
					_, err = tt.c.AcquireTokenOnBehalfOf(context.Background(), user, req)
				} else {
					_, err = tt.c.AcquireTokenForClient(context.Background(), req)
				}
				if entra.ErrorCode(err) != tt.want {
					t.Fatalf("obo=%v: got %v, want %s", obo, err, tt.want)
				}
				if strings.Contains(err.Error(), marker) || strings.Contains(err.Error(), tt.client) {
					t.Fatalf("error shows the claims: %v", err)
				}
			}
		})
	}
	// A successful request logs too; the claims must not be in it either.
	if _, err := on.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, ClientClaims: `{"xms_az_nwperimid":{"id":"` + marker + `"}}`}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "entra: http") {
		t.Fatal("nothing was logged; the log check would prove nothing")
	}
	if strings.Contains(logs.String(), marker) {
		t.Fatal("a log line shows the claims")
	}
}
