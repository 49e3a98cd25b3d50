package managedidentity_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/managedidentity"
)

// sfTokenService behaves as the Service Fabric token service does: it
// checks the secret header, ignores every query parameter it does not know
// (object_id among them), and answers with the application's
// system-assigned identity unless principalId (api-version 2020-05-01)
// names a user-assigned identity bound to the application.
type sfTokenService struct {
	*httptest.Server
	secret string
	// tokens maps a principal id to its identity's token; "" is the
	// system-assigned identity.
	tokens map[string]string
	mu     sync.Mutex
	seen   []url.Values
}

func newSFTokenService(t *testing.T, tokens map[string]string) *sfTokenService {
	s := &sfTokenService{secret: "sf-secret-0f9e8d7c", tokens: tokens}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *sfTokenService) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.seen = append(s.seen, q)
	s.mu.Unlock()
	if r.Header.Get("secret") != s.secret {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	identity := ""
	if _, known := s.tokens[q.Get("principalId")]; known && q.Get("api-version") == "2020-05-01" {
		identity = q.Get("principalId")
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "access_token": s.tokens[identity],
		"expires_on": time.Now().Add(time.Hour).Unix(), "resource": q.Get("resource")})
}

func (s *sfTokenService) queries() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.seen...)
}

func (s *sfTokenService) env() map[string]string {
	sum := sha1.Sum(s.Certificate().Raw)
	return map[string]string{
		"IDENTITY_ENDPOINT":          s.URL + "/metadata/identity/oauth2/token",
		"IDENTITY_HEADER":            s.secret,
		"IDENTITY_SERVER_THUMBPRINT": hex.EncodeToString(sum[:]),
	}
}

// A user-assigned identity on Service Fabric must be selected as the
// service understands it; otherwise the caller silently gets the
// system-assigned identity's token.
func TestServiceFabricSelectsTheUserAssignedIdentity(t *testing.T) {
	t.Parallel()
	const principal = "5b7c1e2a-0d3f-4a6b-9c8d-7e6f5a4b3c2d"
	srv := newSFTokenService(t, map[string]string{"": "sf.system-assigned", principal: "sf.user-assigned"})
	env := srv.env()
	tests := []struct {
		name      string
		id        managedidentity.ID
		principal string
		wantToken string
	}{
		{"user-assigned by object id", managedidentity.UserAssignedObjectID(principal), principal, "sf.user-assigned"},
		{"system-assigned", managedidentity.SystemAssigned(), "", "sf.system-assigned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.queries())
			c, err := managedidentity.New(managedidentity.Config{ID: tt.id,
				Getenv: func(k string) string { return env[k] }, RetryPolicy: noRetry})
			if err != nil || c.Source() != managedidentity.SourceServiceFabric {
				t.Fatalf("New: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tok, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != tt.wantToken {
				t.Errorf("got the token %q, want %q", tok.AccessToken, tt.wantToken)
			}
			qs := srv.queries()[before:]
			if len(qs) != 1 {
				t.Fatalf("%d requests, want 1", len(qs))
			}
			q := qs[0]
			if got := q.Get("api-version"); got != "2020-05-01" {
				t.Errorf("api-version %q, want 2020-05-01", got)
			}
			if q.Has("object_id") {
				t.Errorf("query %v carries object_id, which the service ignores", q)
			}
			wantPrincipal := tt.principal
			if got := q.Get("principalId"); got != wantPrincipal || q.Has("principalId") != (wantPrincipal != "") {
				t.Errorf("principalId %q, want %q", got, wantPrincipal)
			}
		})
	}

	// The service cannot select an identity by client or resource id: New
	// refuses them, so no request goes out.
	before := len(srv.queries())
	for _, id := range []managedidentity.ID{managedidentity.UserAssignedClientID("c"),
		managedidentity.UserAssignedResourceID("/subscriptions/s/x")} {
		_, err := managedidentity.New(managedidentity.Config{ID: id, Getenv: func(k string) string { return env[k] }})
		wantCode(t, err, entra.CodeInvalidArgument)
	}
	if n := len(srv.queries()) - before; n != 0 {
		t.Errorf("%d requests for identities the source cannot select", n)
	}
}
