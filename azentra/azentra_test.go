package azentra_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/azentra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

// resource is an Azure-like API: it records the Authorization header of
// each request and, when told to, answers a CAE claims challenge once.
type resource struct {
	mu        sync.Mutex
	auth      []string
	challenge bool
}

func (r *resource) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	if r.challenge {
		r.challenge = false
		claims := base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`))
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="`+claims+`"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func pipeline(t *testing.T, cred azcore.TokenCredential, srv *httptest.Server, scope string) func() *http.Response {
	t.Helper()
	bearer := runtime.NewBearerTokenPolicy(cred, []string{scope}, nil)
	pl := runtime.NewPipeline("azentra.test", "v0", runtime.PipelineOptions{PerRetry: []policy.Policy{bearer}},
		&policy.ClientOptions{Transport: srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}})
	return func() *http.Response {
		req, err := runtime.NewRequest(context.Background(), http.MethodGet, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := pl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
}

// TestConfidentialThroughTheSDKPipeline: the SDK's bearer policy gets
// tokens from the client (once, then from its cache) and answers a CAE
// claims challenge with a fresh token.
func TestConfidentialThroughTheSDKPipeline(t *testing.T) {
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	dc := em.DefaultClient()
	secret, _ := credential.NewSecret(dc.Secret)
	client, err := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
		ClientID: dc.ID, Credential: secret, HTTPClient: em.HTTPClient(), Capabilities: []string{"cp1"}})
	if err != nil {
		t.Fatal(err)
	}
	api := &resource{}
	srv := httptest.NewTLSServer(api)
	defer srv.Close()
	do := pipeline(t, azentra.Confidential(client), srv, "https://vault.azure.net/.default")
	for range 2 {
		if resp := do(); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if n := len(em.Requests("token")); n != 1 {
		t.Fatalf("%d token requests for two API calls, want 1", n)
	}
	if !strings.HasPrefix(api.auth[0], "Bearer ") || api.auth[0] != api.auth[1] {
		t.Fatalf("Authorization headers %q", api.auth)
	}

	api.challenge = true
	if resp := do(); resp.StatusCode != 200 {
		t.Fatalf("after the claims challenge: status %d", resp.StatusCode)
	}
	reqs := em.Requests("token")
	last := reqs[len(reqs)-1]
	if len(reqs) != 2 || !strings.Contains(last.Form.Get("claims"), `"nbf"`) || !strings.Contains(last.Form.Get("claims"), `"cp1"`) {
		t.Fatalf("the challenge was not passed on: %d requests, claims %q", len(reqs), last.Form.Get("claims"))
	}
}

func TestManagedIdentityThroughTheSDKPipeline(t *testing.T) {
	mi, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mi.Close()
	client, err := managedidentity.New(managedidentity.Config{Getenv: mi.Getenv("imds")})
	if err != nil {
		t.Fatal(err)
	}
	api := &resource{}
	srv := httptest.NewTLSServer(api)
	defer srv.Close()
	do := pipeline(t, azentra.ManagedIdentity(client), srv, "https://vault.azure.net/.default")
	for range 2 {
		if resp := do(); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	reqs := mi.Requests("imds")
	if len(reqs) != 1 || reqs[0].Query.Get("resource") != "https://vault.azure.net" {
		t.Fatalf("IMDS requests %d (resource %q)", len(reqs), reqs[0].Query.Get("resource"))
	}

	_, err = azentra.ManagedIdentity(client).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"a/.default", "b/.default"}})
	if entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Fatalf("two scopes: %v", err)
	}
}

// TestBearerTokensOnly: PoP tokens of the same client and scope stay apart.
func TestBearerTokensOnly(t *testing.T) {
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	cert, _ := credential.ParseCertificate(em.DefaultClient().CertPEM, em.DefaultClient().KeyPEM, credential.CertificateOptions{})
	client, _ := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
		ClientID: em.DefaultClient().ID, Credential: cert, HTTPClient: em.HTTPClient()})
	// The adapter asks for bearer tokens only, so a PoP token can reach it
	// only through a cache shared with PoP requests: it never does.
	tok, err := azentra.Confidential(client).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	if err != nil || tok.Token == "" {
		t.Fatal(err)
	}
	if _, err := client.AcquireTokenForClient(context.Background(), confidential.TokenRequest{Scopes: []string{"https://vault.azure.net/.default"}, MTLSPoP: true}); err != nil {
		t.Fatal(err)
	}
	again, err := azentra.Confidential(client).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	if err != nil || again.Token != tok.Token {
		t.Fatalf("the adapter did not get its bearer token back: %v", err)
	}
}
