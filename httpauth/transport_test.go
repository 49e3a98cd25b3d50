package httpauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/httpauth"
)

// These tests call the emulator's protected API, which checks tokens as
// a resource does: signature, audience, lifetime, the certificate a PoP
// token is bound to, and revoked sessions (CAE).

var resourceScopes = []string{entratest.ResourceAudience + "/.default"}

// world is an emulator with a movable clock and a confidential client of
// its default application, signing with the registered certificate and
// announcing the CAE capability.
type world struct {
	em    *entratest.Emulator
	app   *confidential.Client
	clock atomic.Int64 // seconds added to the real time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{}
	em, err := entratest.New(entratest.Options{
		Now:        func() time.Time { return time.Now().Add(time.Duration(w.clock.Load()) * time.Second) },
		ExtraHosts: []string{"origin.contoso.example", "elsewhere.contoso.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	dc := em.DefaultClient()
	cert, err := credential.ParseCertificate(dc.CertPEM, dc.KeyPEM, credential.CertificateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.em = em
	w.app, err = confidential.New(confidential.Config{
		Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com", ClientID: dc.ID,
		Credential: cert, Capabilities: []string{"cp1"}, HTTPClient: em.HTTPClient(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// revoke moves the clock on and revokes every session, so that the
// tokens issued so far get a claims challenge.
func (w *world) revoke() {
	w.clock.Add(2)
	w.em.RevokeSessions()
}

func (w *world) transport(token httpauth.TokenFunc) *httpauth.Transport {
	return &httpauth.Transport{Token: token, Base: w.em.Transport()}
}

// answer is what the protected API says of an accepted request.
type answer struct {
	AppID      string `json:"appid"`
	TokenType  string `json:"token_type"`
	Bound      bool   `json:"bound"`
	Path       string `json:"path"`
	BodyLength int    `json:"body_length"`
}

func call(t *testing.T, tr http.RoundTripper, req *http.Request) (*http.Response, answer) {
	t.Helper()
	resp, body := do(t, tr, req)
	var a answer
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
	}
	return resp, a
}

func do(t *testing.T, tr http.RoundTripper, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func selfSigned(t *testing.T) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bound"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func TestBearer(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tr := w.transport(httpauth.ForClient(w.app, confidential.TokenRequest{Scopes: resourceScopes}))
	tr.KeyVault = true // changes nothing for a bearer token
	req, _ := http.NewRequest(http.MethodGet, w.em.ResourceURL()+"/items", nil)
	resp, a := call(t, tr, req)
	if resp.StatusCode != 200 || a.TokenType != "Bearer" || a.Bound || a.AppID != w.em.DefaultClient().ID || a.Path != "/api/items" {
		t.Fatalf("status %d, answer %+v", resp.StatusCode, a)
	}
	if req.Header.Get("Authorization") != "" {
		t.Fatal("the caller's request was modified")
	}
	if got := w.em.Requests("resource")[0]; got.ClientCertificate != nil || got.Header.Get("x-ms-tokenboundauth") != "" {
		t.Fatal("a bearer request presented a certificate or asked for token-bound authentication")
	}
}

func TestPoP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pop := httpauth.ForClient(w.app, confidential.TokenRequest{Scopes: resourceScopes, MTLSPoP: true})
	tr := w.transport(pop)
	tr.KeyVault = true
	var afterFirst int64
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodGet, w.em.ResourceURL(), nil)
		if resp, a := call(t, tr, req); resp.StatusCode != 200 || a.TokenType != "pop" || !a.Bound {
			t.Fatalf("status %d, answer %+v", resp.StatusCode, a)
		}
		if i == 0 {
			afterFirst = w.em.Connections()
		}
	}
	if n := w.em.Connections() - afterFirst; n != 0 {
		t.Fatalf("%d new connections for later calls with the same certificate, want 0", n)
	}
	tok, err := pop(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range w.em.Requests("resource") {
		if got.ClientCertificate == nil || !got.ClientCertificate.Equal(tok.BindingCertificate.Leaf) || got.Header.Get("x-ms-tokenboundauth") != "true" {
			t.Fatal("the resource did not see the binding certificate and x-ms-tokenboundauth")
		}
	}

	// The resource refuses the token over a connection presenting another
	// certificate, or none.
	for name, cert := range map[string]func(*testing.T) *entra.Token{
		"another certificate": func(t *testing.T) *entra.Token { c := tok; c.BindingCertificate = selfSigned(t); return &c },
		"no certificate":      func(*testing.T) *entra.Token { c := tok; c.BindingCertificate = nil; return &c },
	} {
		stolen := cert(t)
		tr := w.transport(func(context.Context, string) (entra.Token, error) { return *stolen, nil })
		req, _ := http.NewRequest(http.MethodGet, w.em.ResourceURL(), nil)
		resp, _ := call(t, tr, req)
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s: status %d, challenge %q", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
}

// TestCAE: after the sessions are revoked, the resource's
// claims challenge costs one token request, and the body is replayed.
func TestCAE(t *testing.T) {
	t.Parallel()
	for _, popToken := range []bool{false, true} {
		w := newWorld(t)
		tr := w.transport(httpauth.ForClient(w.app, confidential.TokenRequest{Scopes: resourceScopes, MTLSPoP: popToken}))
		post := func() (*http.Response, answer) {
			req, _ := http.NewRequest(http.MethodPost, w.em.ResourceURL(), strings.NewReader("payload")) // GetBody set
			return call(t, tr, req)
		}
		if resp, _ := post(); resp.StatusCode != 200 {
			t.Fatalf("pop=%t: status %d before the revocation", popToken, resp.StatusCode)
		}
		w.revoke()
		resp, a := post()
		if resp.StatusCode != 200 || a.BodyLength != len("payload") {
			t.Fatalf("pop=%t: status %d, answer %+v after the challenge", popToken, resp.StatusCode, a)
		}
		tokens := w.em.Requests("token")
		if len(tokens) != 2 || !strings.Contains(tokens[1].Form.Get("claims"), `"nbf"`) {
			t.Fatalf("pop=%t: %d token requests, want 2, the second with the challenge's claims", popToken, len(tokens))
		}
		if n := len(w.em.Requests("resource")); n != 3 {
			t.Fatalf("pop=%t: %d calls of the resource, want 3", popToken, n)
		}
		if resp, _ := post(); resp.StatusCode != 200 || len(w.em.Requests("token")) != 2 {
			t.Fatalf("pop=%t: the token that answered the challenge was not reused", popToken)
		}
	}
}

func TestSecondChallengeIsReturned(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	stale := func(ctx context.Context, _ string) (entra.Token, error) { // ignores the challenge
		return w.app.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: resourceScopes})
	}
	tr := w.transport(stale)
	req, _ := http.NewRequest(http.MethodGet, w.em.ResourceURL(), nil)
	call(t, tr, req)
	w.revoke()
	resp, _ := call(t, tr, req)
	claims, ok := httpauth.Challenge(resp)
	if resp.StatusCode != 401 || !ok || !strings.Contains(claims, `"nbf"`) {
		t.Fatalf("status %d, challenge %q %t", resp.StatusCode, claims, ok)
	}
	if n := len(w.em.Requests("resource")); n != 3 {
		t.Fatalf("%d calls of the resource, want 3: the second challenge is not answered", n)
	}
}

func TestUnreplayableBody(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tr := w.transport(httpauth.ForClient(w.app, confidential.TokenRequest{Scopes: resourceScopes}))
	req, _ := http.NewRequest(http.MethodGet, w.em.ResourceURL(), nil)
	call(t, tr, req)
	w.revoke()
	req, _ = http.NewRequest(http.MethodPost, w.em.ResourceURL(), io.NopCloser(strings.NewReader("stream"))) // no GetBody
	resp, _ := call(t, tr, req)
	if _, ok := httpauth.Challenge(resp); resp.StatusCode != 401 || !ok {
		t.Fatalf("status %d, challenge %t", resp.StatusCode, ok)
	}
	if n, m := len(w.em.Requests("token")), len(w.em.Requests("resource")); n != 1 || m != 2 {
		t.Fatalf("%d token requests, %d calls of the resource: a body that cannot be replayed was sent again", n, m)
	}
}

// TestRedirect: the token follows a redirect on the same
// host, not one to another host.
func TestRedirect(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tr := w.transport(httpauth.ForClient(w.app, confidential.TokenRequest{Scopes: resourceScopes}))
	for _, tt := range []struct {
		to        string
		wantToken bool
	}{
		{"https://origin.contoso.example/api/moved", true},
		{"https://elsewhere.contoso.example/api/moved", false},
	} {
		w.em.ResetRequests()
		w.em.InjectFault(entratest.Fault{Endpoint: "resource", Host: "origin.contoso.example", Status: http.StatusTemporaryRedirect,
			Header: http.Header{"Location": {tt.to}}})
		req, _ := http.NewRequest(http.MethodGet, "https://origin.contoso.example/api/items", nil)
		resp, _ := call(t, tr, req)
		seen := w.em.Requests("resource")
		if len(seen) != 2 || seen[0].Header.Get("Authorization") == "" {
			t.Fatalf("%s: the resource saw %d requests", tt.to, len(seen))
		}
		if got := seen[1].Header.Get("Authorization") != ""; got != tt.wantToken || (resp.StatusCode == 200) != tt.wantToken {
			t.Fatalf("%s: token sent %t, status %d", tt.to, got, resp.StatusCode)
		}
	}
}

// TestConcurrentPoP: concurrent calls share one token
// acquisition and the certificate's connections.
func TestConcurrentPoP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tr := w.transport(httpauth.ForClient(w.app, confidential.TokenRequest{Scopes: resourceScopes, MTLSPoP: true}))
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, w.em.ResourceURL(), nil)
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if n := len(w.em.Requests("token")); n != 1 {
		t.Fatalf("%d token requests for 20 concurrent calls, want 1", n)
	}
}
