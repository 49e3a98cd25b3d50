package confidential

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/internal/clientauth"
)

// sameKeyCertificates returns two certificates (a certificate and its
// renewal) over one key.
func sameKeyCertificates(t *testing.T) (*clientauth.Certificate, *clientauth.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return certificateFor(t, key, 100), certificateFor(t, key, 101)
}

func TestMTLSPoP(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.rsaCert)
	ctx := context.Background()
	pop := TokenRequest{Scopes: graphScopes, MTLSPoP: true}

	tok, err := c.AcquireTokenForClient(ctx, pop)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != entra.TokenTypeMTLSPoP || tok.AuthorizationHeader() != "mtls_pop "+tok.AccessToken ||
		tok.BindingCertificate == nil || clientauth.ThumbprintOf(tok.BindingCertificate.Leaf) != f.rsaCert.Thumbprint() {
		t.Fatalf("token %v, binding %v", tok, tok.BindingCertificate != nil)
	}
	req := f.tokenRequests()[0]
	if req.Host != "mtlsauth.microsoft.com" || req.ClientCertificate == nil || req.Form.Get("token_type") != "mtls_pop" ||
		req.Form.Has("client_assertion") || req.Form.Has("client_assertion_type") || req.Form.Has("client_secret") {
		t.Fatalf("request to %s, form %v", req.Host, keys(req.Form))
	}
	claims, err := f.em.VerifyAccessToken(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if cnf, _ := claims["cnf"].(map[string]any); cnf["x5t#S256"] != f.rsaCert.Thumbprint() {
		t.Errorf("cnf %v, want x5t#S256 %s", claims["cnf"], f.rsaCert.Thumbprint())
	}

	again, err := c.AcquireTokenForClient(ctx, pop)
	if err != nil || !again.FromCache || again.TokenType != entra.TokenTypeMTLSPoP || again.BindingCertificate == nil {
		t.Fatalf("second PoP call: %v %v", again, err)
	}
	bearer, err := c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes})
	if err != nil || bearer.FromCache || bearer.TokenType != entra.TokenTypeBearer || bearer.AccessToken == tok.AccessToken {
		t.Fatalf("a bearer request was served the PoP token: %v %v", bearer, err)
	}
	popAgain, err := c.AcquireTokenForClient(ctx, pop)
	if err != nil || popAgain.AccessToken != tok.AccessToken {
		t.Fatalf("PoP after bearer: %v %v", popAgain, err)
	}
}

func TestMTLSPoPRenewedCertificateIsAMiss(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	old, renewed := sameKeyCertificates(t)
	f.em.RegisterClient(entratest.Client{ID: f.clientID, Certificates: []*x509.Certificate{old.Leaf(), renewed.Leaf()}})
	shared := &entratest.Storage{}
	ctx := context.Background()
	pop := TokenRequest{Scopes: graphScopes, MTLSPoP: true}
	if _, err := f.client(t, old, func(cfg *Config) { cfg.Cache = shared }).AcquireTokenForClient(ctx, pop); err != nil {
		t.Fatal(err)
	}
	tok, err := f.client(t, renewed, func(cfg *Config) { cfg.Cache = shared }).AcquireTokenForClient(ctx, pop)
	if err != nil {
		t.Fatal(err)
	}
	if tok.FromCache || clientauth.ThumbprintOf(tok.BindingCertificate.Leaf) != renewed.Thumbprint() {
		t.Fatalf("the renewed certificate was served a token bound to the old one: %v", tok)
	}
}

func TestMTLSPoPErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	noCert := f.bindingCallback(false)
	tests := []struct {
		name      string
		cred      credential.Credential
		authority string
		want      entra.Code
	}{
		{"secret", f.secret, "", entra.CodeMTLSCertificateNotProvided},
		{"secret on common: the credential is checked first", f.secret, "https://login.microsoftonline.com/common", entra.CodeMTLSCertificateNotProvided},
		{"callback without a certificate", noCert, "", entra.CodeMTLSCertificateNotProvided},
		{"common", f.rsaCert, "https://login.microsoftonline.com/common", entra.CodeMissingTenantedAuthority},
		{"organizations", f.rsaCert, "https://login.microsoftonline.com/organizations", entra.CodeMissingTenantedAuthority},
		{"login.usgovcloudapi.net", f.rsaCert, "https://login.usgovcloudapi.net/" + tenant, entra.CodeMTLSNotSupportedForEnvironment},
		{"login.chinacloudapi.cn", f.rsaCert, "https://login.chinacloudapi.cn/" + tenant, entra.CodeMTLSNotSupportedForEnvironment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.em.ResetRequests()
			c := f.client(t, tt.cred, func(cfg *Config) {
				if tt.authority != "" {
					cfg.Authority = tt.authority
				}
			})
			_, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, MTLSPoP: true})
			if entra.ErrorCode(err) != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
			if n := len(f.tokenRequests()); n != 0 {
				t.Errorf("%d token requests were made", n)
			}
		})
	}
	// Other flows do not take PoP yet.
	c := f.client(t, f.rsaCert)
	user := f.em.IssueUserToken(entratest.User{Audience: f.clientID, Subject: "alice", TenantID: tenant})
	if _, err := c.AcquireTokenOnBehalfOf(context.Background(), user, TokenRequest{Scopes: graphScopes, MTLSPoP: true}); entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Errorf("OBO with PoP: %v", err)
	}
}

func TestMTLSPoPHosts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	for _, tt := range []struct{ authority, region, wantHost string }{
		{"https://login.microsoftonline.com/consumers", "", "mtlsauth.microsoft.com"},
		{"https://login.microsoftonline.com/" + tenant, "westus2", "westus2.mtlsauth.microsoft.com"},
		{"https://login.microsoftonline.us/" + tenant, "", "mtlsauth.microsoftonline.us"},
		{"https://login.partner.microsoftonline.cn/" + tenant, "", "mtlsauth.partner.microsoftonline.cn"},
		{"https://login.sovcloud-identity.fr/" + tenant, "", "mtlsauth.sovcloud-identity.fr"},
	} {
		t.Run(tt.wantHost, func(t *testing.T) {
			c := f.client(t, f.rsaCert, func(cfg *Config) { cfg.Authority, cfg.Region = tt.authority, tt.region })
			tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, MTLSPoP: true})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tok.TokenEndpoint, "https://"+tt.wantHost+"/") || tok.TokenType != entra.TokenTypeMTLSPoP {
				t.Fatalf("%v from %s", tok, tok.TokenEndpoint)
			}
		})
	}
}

func TestMTLSPoPWithCallbackCertificate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.bindingCallback(true))
	tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, MTLSPoP: true})
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != entra.TokenTypeMTLSPoP || clientauth.ThumbprintOf(tok.BindingCertificate.Leaf) != f.ecCert.Thumbprint() {
		t.Fatalf("token %v", tok)
	}
	again, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, MTLSPoP: true})
	if err != nil || !again.FromCache {
		t.Fatalf("second call %v %v", again, err)
	}
}

// TestRFC8705OIDC: a generic OIDC authority takes the discovery document's
// mtls_endpoint_aliases.token_endpoint, and PoP is a certificate-bound
// Bearer token with the certificate authenticating the client.
func TestRFC8705OIDC(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{ExtraHosts: []string{"idp.contoso.test"}})
	c := f.client(t, f.rsaCert, func(cfg *Config) {
		cfg.Authority, cfg.AuthorityKind = "https://idp.contoso.test/oidc", AuthorityOIDC
	})
	tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, MTLSPoP: true})
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenEndpoint != "https://idp.contoso.test/oidc/mtls/token" || tok.TokenType != entra.TokenTypeBearer || tok.BindingCertificate == nil {
		t.Fatalf("token %v from %s", tok, tok.TokenEndpoint)
	}
	req := f.tokenRequests()[len(f.tokenRequests())-1]
	if req.Form.Has("client_assertion") || req.Form.Has("token_type") {
		t.Errorf("form %v", keys(req.Form))
	}
	claims, err := f.em.VerifyAccessToken(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if cnf, _ := claims["cnf"].(map[string]any); cnf["x5t#S256"] != f.rsaCert.Thumbprint() {
		t.Errorf("cnf %v", claims["cnf"])
	}
	again, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, MTLSPoP: true})
	if err != nil || !again.FromCache || again.TokenType != entra.TokenTypeBearer {
		t.Fatalf("second call %v %v", again, err)
	}
}

// TestBoundAssertionRotation: tokens a bound assertion gets (bearer over
// mTLS and PoP alike) are keyed by its certificate, asked before the
// look-up: after the certificate rotates, the next call is a miss that
// presents the new certificate, never the token bound to the old one
// (which Entra ID would refuse with AADSTS500181; MSAL.NET issue 6117).
func TestBoundAssertionRotation(t *testing.T) {
	t.Parallel()
	for _, pop := range []bool{false, true} {
		t.Run(fmt.Sprintf("pop=%t", pop), func(t *testing.T) {
			f := newFixture(t, entratest.Options{})
			old, renewed := sameKeyCertificates(t)
			f.em.RegisterClient(entratest.Client{ID: f.clientID, Certificates: []*x509.Certificate{old.Leaf(), renewed.Leaf()}})
			var current atomic.Pointer[tls.Certificate]
			first := old.TLSCertificate()
			current.Store(&first)
			cred := credential.NewBoundAssertion(func(context.Context) (*tls.Certificate, error) { return current.Load(), nil },
				func(ctx context.Context, req credential.AssertionRequest) (string, error) {
					m, err := old.Material(ctx, clientauth.Request{ClientID: req.ClientID, TokenEndpoint: req.TokenEndpoint})
					return m.Assertion, err
				})
			c := f.client(t, cred)
			ctx := context.Background()
			req := TokenRequest{Scopes: graphScopes, MTLSPoP: pop}
			if _, err := c.AcquireTokenForClient(ctx, req); err != nil {
				t.Fatal(err)
			}
			if again, err := c.AcquireTokenForClient(ctx, req); err != nil || !again.FromCache {
				t.Fatalf("before the rotation: %v %v, want a hit", again, err)
			}
			second := renewed.TLSCertificate()
			current.Store(&second)
			tok, err := c.AcquireTokenForClient(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if tok.FromCache {
				t.Fatal("the token bound to the old certificate was served after the rotation")
			}
			last := f.tokenRequests()[len(f.tokenRequests())-1]
			if last.ClientCertificate == nil || !last.ClientCertificate.Equal(renewed.Leaf()) {
				t.Fatal("the request after the rotation did not present the new certificate")
			}
			if !pop && last.Form.Get("client_assertion_type") != clientauth.AssertionTypeJWTPoP {
				t.Errorf("bearer over mTLS sent %q, want jwt-pop", last.Form.Get("client_assertion_type"))
			}
			claims, err := f.em.VerifyAccessToken(tok.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if cnf, _ := claims["cnf"].(map[string]any); cnf["x5t#S256"] != renewed.Thumbprint() {
				t.Errorf("the new token is bound to %v, want the renewed certificate", claims["cnf"])
			}
		})
	}
}

// TestWatchedCertificateRotation: a certificate file replaced on disk while
// the client runs binds the next PoP token to the new certificate, without
// a new client; the bearer token obtained before is still served.
func TestWatchedCertificateRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	old, renewed := sameKeyCertificates(t)
	f.em.RegisterClient(entratest.Client{ID: f.clientID, Certificates: []*x509.Certificate{old.Leaf(), renewed.Leaf()}})
	path := filepath.Join(t.TempDir(), "app.pem")
	write := func(c *clientauth.Certificate) {
		key, err := x509.MarshalPKCS8PrivateKey(c.TLSCertificate().PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Leaf().Raw}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})...)
		if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	write(old)
	cred, err := clientauth.WatchCertificate(path, "", clientauth.CertificateOptions{}, nil, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	c := f.client(t, cred)
	ctx := context.Background()
	pop := TokenRequest{Scopes: graphScopes, MTLSPoP: true}
	bearer := TokenRequest{Scopes: graphScopes}
	first, err := c.AcquireTokenForClient(ctx, pop)
	if err != nil {
		t.Fatal(err)
	}
	firstBearer, err := c.AcquireTokenForClient(ctx, bearer)
	if err != nil || clientauth.ThumbprintOf(first.BindingCertificate.Leaf) != old.Thumbprint() {
		t.Fatalf("before the rotation: %v", err)
	}
	write(renewed)
	time.Sleep(20 * time.Millisecond) // past the check interval
	tok, err := c.AcquireTokenForClient(ctx, pop)
	if err != nil {
		t.Fatal(err)
	}
	if tok.FromCache || clientauth.ThumbprintOf(tok.BindingCertificate.Leaf) != renewed.Thumbprint() {
		t.Fatalf("after the rotation the PoP token is bound to %s, want the new certificate", clientauth.ThumbprintOf(tok.BindingCertificate.Leaf))
	}
	if last := f.tokenRequests()[len(f.tokenRequests())-1]; !last.ClientCertificate.Equal(renewed.Leaf()) {
		t.Fatal("the request after the rotation did not present the new certificate")
	}
	if again, err := c.AcquireTokenForClient(ctx, bearer); err != nil || !again.FromCache || again.AccessToken != firstBearer.AccessToken {
		t.Fatalf("the bearer token from before the rotation was not served: %v", err)
	}
}
