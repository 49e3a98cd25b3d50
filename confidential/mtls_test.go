package confidential

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/internal/clientauth"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/jws"
)

// assertionHeader decodes the JOSE header of a client assertion.
func assertionHeader(t *testing.T, jwt string) map[string]any {
	t.Helper()
	tok, err := jws.Parse(jwt)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Header
}

// TestBearerOverMTLS is the seed's matrix: each flow goes to the mTLS host
// with the certificate in the handshake and the assertion (with x5c) in
// the body; a second identical call is a cache hit.
func TestBearerOverMTLS(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{ExtraHosts: []string{"adfs.contoso.test"}})
	user := f.em.IssueUserToken(entratest.User{Audience: f.clientID, Subject: "alice", TenantID: tenant})
	api := TokenRequest{Scopes: []string{"https://api.contoso.test/read"}}
	tests := []struct {
		name      string
		authority string
		region    string
		obo       bool
		wantHost  string
	}{
		{name: "client credentials, global", wantHost: "mtlsauth.microsoft.com"},
		{name: "client credentials, regional", region: "westus2", wantHost: "westus2.mtlsauth.microsoft.com"},
		{name: "obo, global", obo: true, wantHost: "mtlsauth.microsoft.com"},
		{name: "obo, regional", obo: true, region: "westus2", wantHost: "westus2.mtlsauth.microsoft.com"},
		{name: "alias login.windows.net", authority: "https://login.windows.net/" + tenant, wantHost: "mtlsauth.microsoft.com"},
		{name: "us government", authority: "https://login.microsoftonline.us/" + tenant, wantHost: "mtlsauth.microsoftonline.us"},
		{name: "china", authority: "https://login.partner.microsoftonline.cn/" + tenant, wantHost: "mtlsauth.partner.microsoftonline.cn"},
		{name: "b2c keeps its host", authority: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin", wantHost: "contoso.b2clogin.com"},
		{name: "ad fs keeps its host", authority: "https://adfs.contoso.test/adfs", wantHost: "adfs.contoso.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.em.ResetRequests()
			c := f.client(t, f.rsaCert, func(cfg *Config) {
				cfg.SendCertificateOverMTLS, cfg.Region = true, tt.region
				if tt.authority != "" {
					cfg.Authority = tt.authority
				}
			})
			get := func() (entra.Token, error) {
				if tt.obo {
					return c.AcquireTokenOnBehalfOf(context.Background(), user, api)
				}
				return c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
			}
			tok, err := get()
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != entra.TokenTypeBearer || !strings.HasPrefix(tok.TokenEndpoint, "https://"+tt.wantHost+"/") {
				t.Fatalf("token %v from %s, want Bearer from %s", tok, tok.TokenEndpoint, tt.wantHost)
			}
			reqs := f.tokenRequests()
			last := reqs[len(reqs)-1]
			if last.ClientCertificate == nil || !bytes.Equal(last.ClientCertificate.Raw, f.rsaCert.Leaf().Raw) {
				t.Error("the certificate was not presented in the TLS handshake")
			}
			if last.Form.Get("client_assertion_type") != clientauth.AssertionTypeJWTBearer {
				t.Errorf("client_assertion_type %q", last.Form.Get("client_assertion_type"))
			}
			if _, ok := assertionHeader(t, last.Form.Get("client_assertion"))["x5c"]; !ok {
				t.Error("the assertion has no x5c")
			}
			again, err := get()
			if err != nil || !again.FromCache {
				t.Fatalf("second identical call: %v, %v (the mTLS host must not leak into the cache key)", again, err)
			}
			if n := len(f.tokenRequests()); n != len(reqs) {
				t.Errorf("the second call made a request")
			}
		})
	}
}

// TestPlainCertificateStaysOnLoginHost: without the opt-in nothing changes.
func TestPlainCertificateStaysOnLoginHost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.rsaCert)
	tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.TokenEndpoint, "https://login.microsoftonline.com/") {
		t.Fatalf("endpoint %s", tok.TokenEndpoint)
	}
	last := f.tokenRequests()[0]
	if last.ClientCertificate != nil {
		t.Error("a certificate was presented without the opt-in")
	}
	if _, ok := assertionHeader(t, last.Form.Get("client_assertion"))["x5c"]; ok {
		t.Error("x5c sent without the opt-in")
	}
}

// TestOBORefreshTokenOverMTLS: the refresh-token redemption behind an
// expired OBO token also goes over mTLS.
func TestOBORefreshTokenOverMTLS(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	fake := newFakeClock()
	c := f.client(t, f.rsaCert, func(cfg *Config) { cfg.SendCertificateOverMTLS, cfg.now = true, fake.now })
	user := f.em.IssueUserToken(entratest.User{Audience: f.clientID, Subject: "alice", TenantID: tenant})
	req := TokenRequest{Scopes: []string{"https://api.contoso.test/read"}}
	if _, err := c.AcquireTokenOnBehalfOf(context.Background(), user, req); err != nil {
		t.Fatal(err)
	}
	fake.advance(2 * time.Hour)
	if _, err := c.AcquireTokenOnBehalfOf(context.Background(), user, req); err != nil {
		t.Fatal(err)
	}
	reqs := f.tokenRequests()
	last := reqs[len(reqs)-1]
	if last.Form.Get("grant_type") != "refresh_token" || last.Host != "mtlsauth.microsoft.com" || last.ClientCertificate == nil {
		t.Fatalf("refresh went to %s with grant %s, certificate %v", last.Host, last.Form.Get("grant_type"), last.ClientCertificate != nil)
	}
}

func TestMTLSConfigErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	for name, cred := range map[string]credential.Credential{"secret": f.secret, "assertion callback": f.callback()} {
		_, err := New(Config{Authority: "https://login.microsoftonline.com/" + tenant, ClientID: f.clientID, Credential: cred, SendCertificateOverMTLS: true})
		if entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial {
			t.Errorf("%s: err = %v, want %s", name, err, entra.CodeInvalidCredentialMaterial)
		}
	}
	for _, tt := range []struct{ authority, wantHint string }{
		{"https://login.usgovcloudapi.net/" + tenant, "login.microsoftonline.us"},
		{"https://login.chinacloudapi.cn/" + tenant, "login.partner.microsoftonline.cn"},
	} {
		c := f.client(t, f.rsaCert, func(cfg *Config) { cfg.Authority, cfg.SendCertificateOverMTLS = tt.authority, true })
		_, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
		if entra.ErrorCode(err) != entra.CodeMTLSNotSupportedForEnvironment || !strings.Contains(err.Error(), tt.wantHint) {
			t.Errorf("%s: %v", tt.authority, err)
		}
	}
}

// TestAssertionCallbackWithBindingCertificate is "case 2": the callback's
// certificate routes the request over mTLS, the assertion is jwt-pop and
// the token stays Bearer.
func TestAssertionCallbackWithBindingCertificate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.bindingCallback(true))
	tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
	if err != nil {
		t.Fatal(err)
	}
	last := f.tokenRequests()[0]
	if tok.TokenType != entra.TokenTypeBearer || last.Host != "mtlsauth.microsoft.com" || last.ClientCertificate == nil ||
		last.Form.Get("client_assertion_type") != clientauth.AssertionTypeJWTPoP {
		t.Fatalf("token %v; request to %s, type %q, cert %v", tok, last.Host, last.Form.Get("client_assertion_type"), last.ClientCertificate != nil)
	}
}

// TestOneHandshakePerCertificate: sequential forced refreshes with one
// certificate reuse one pooled connection: one TLS handshake in all.
func TestOneHandshakePerCertificate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.rsaCert, func(cfg *Config) { cfg.SendCertificateOverMTLS = true })
	before := f.em.Connections()
	for range 20 {
		if _, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, ForceRefresh: true}); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.em.Connections() - before; n != 1 {
		t.Fatalf("%d TLS handshakes for 20 requests with one certificate, want 1", n)
	}
	if n := c.mtlsClients.Len(); n != 1 {
		t.Fatalf("%d pooled mTLS clients, want 1", n)
	}
}

// BenchmarkForcedRefreshOverMTLS reports the TLS handshakes per 1,000
// token requests over mTLS with one certificate (bearer and PoP).
func BenchmarkForcedRefreshOverMTLS(b *testing.B) {
	for _, tt := range []struct {
		name string
		req  TokenRequest
		cfg  func(*Config)
	}{
		{"bearer", TokenRequest{Scopes: graphScopes, ForceRefresh: true}, func(cfg *Config) { cfg.SendCertificateOverMTLS = true }},
		{"pop", TokenRequest{Scopes: graphScopes, ForceRefresh: true, MTLSPoP: true}, func(*Config) {}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			f := newFixture(b, entratest.Options{})
			c := f.client(b, f.rsaCert, tt.cfg)
			before := f.em.Connections()
			for b.Loop() {
				if _, err := c.AcquireTokenForClient(context.Background(), tt.req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(f.em.Connections()-before)*1000/float64(b.N), "handshakes/1000req")
		})
	}
}

// TestMTLSServerRefusesTheCertificate: a certificate the service does not
// know for the application is refused, with the service's answer.
func TestMTLSServerRefusesTheCertificate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	stranger := newECCertificate(t) // not registered
	for _, pop := range []bool{false, true} {
		c := f.client(t, stranger, func(cfg *Config) { cfg.SendCertificateOverMTLS = !pop })
		_, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, MTLSPoP: pop})
		var e *entra.Error
		if !errors.As(err, &e) || e.Code != "invalid_client" || !strings.Contains(e.Description, "not registered") {
			t.Fatalf("pop=%v: %v", pop, err)
		}
	}
}

// TestMTLSHTTPClientFactory: a caller-supplied factory makes the client
// per certificate, once; a client it returns that presents no certificate
// meets the mTLS host's demand for one.
func TestMTLSHTTPClientFactory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	var calls []string
	var mu sync.Mutex
	c := f.client(t, f.rsaCert, func(cfg *Config) {
		cfg.MTLSHTTPClient = func(cert *tls.Certificate) (*http.Client, error) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, clientauth.ThumbprintOf(cert.Leaf))
			return &http.Client{Transport: f.em.TransportWithCertificate(cert)}, nil
		}
	})
	for range 3 {
		if _, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, MTLSPoP: true, ForceRefresh: true}); err != nil {
			t.Fatal(err)
		}
	}
	if len(calls) != 1 || calls[0] != f.rsaCert.Thumbprint() {
		t.Fatalf("factory calls %v", calls)
	}

	noCert := f.client(t, f.rsaCert, func(cfg *Config) {
		cfg.MTLSHTTPClient = func(*tls.Certificate) (*http.Client, error) { return f.em.HTTPClient(), nil }
	})
	_, err := noCert.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, MTLSPoP: true})
	var e *entra.Error
	if !errors.As(err, &e) || e.Code != "invalid_client" || !strings.Contains(e.Description, "client certificate is required") {
		t.Fatalf("no certificate presented: %v", err)
	}
	failing := f.client(t, f.rsaCert, func(cfg *Config) {
		cfg.MTLSHTTPClient = func(*tls.Certificate) (*http.Client, error) {
			return nil, errs.New(entra.CodeInvalidArgument, "no client for this certificate")
		}
	})
	if _, err := failing.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, MTLSPoP: true}); entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Fatalf("failing factory: %v", err)
	}
}

// TestDiscoveryNeverPresentsTheCertificate: instance discovery of an
// unknown login.* host goes out without the client certificate; the token
// request to its mTLS host presents it.
func TestDiscoveryNeverPresentsTheCertificate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{ExtraHosts: []string{"login.contoso.test", "mtlsauth.contoso.test"}})
	c := f.client(t, f.rsaCert, func(cfg *Config) {
		cfg.Authority, cfg.SendCertificateOverMTLS = "https://login.contoso.test/"+tenant, true
	})
	tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.TokenEndpoint, "https://mtlsauth.contoso.test/") {
		t.Fatalf("endpoint %s", tok.TokenEndpoint)
	}
	var discovery, token int
	for _, r := range f.em.Requests() {
		switch r.Endpoint {
		case "instance_discovery", "openid_configuration":
			discovery++
			if r.ClientCertificate != nil {
				t.Errorf("%s presented the client certificate", r.Endpoint)
			}
		case "token":
			token++
			if r.ClientCertificate == nil {
				t.Error("the token request did not present the certificate")
			}
		}
	}
	if discovery == 0 || token != 1 {
		t.Fatalf("%d discovery and %d token requests", discovery, token)
	}
}
