package httpauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
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

const cae = `{"access_token":{"nbf":{"essential":true,"value":"1732960000"}}}`

// resource is a protected API: it accepts a token that satisfies its
// claims challenge (once it asks for one), and for a PoP token, only over
// a connection presenting the bound certificate.
type resource struct {
	*httptest.Server
	challenge atomic.Bool // answer tokens without the claims with a CAE challenge
	mu        sync.Mutex
	seen      []seen
}

type seen struct {
	authorization, tokenBound, body string
	peer                            *x509.Certificate
}

func newResource(t *testing.T) *resource {
	t.Helper()
	r := &resource{}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		s := seen{authorization: req.Header.Get("Authorization"), tokenBound: req.Header.Get("x-ms-tokenboundauth"), body: string(body)}
		if len(req.TLS.PeerCertificates) > 0 {
			s.peer = req.TLS.PeerCertificates[0]
		}
		r.mu.Lock()
		r.seen = append(r.seen, s)
		r.mu.Unlock()
		if r.challenge.Load() && !strings.Contains(s.authorization, "claims-satisfied") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", `+
				`error="insufficient_claims", claims="`+base64.StdEncoding.EncodeToString([]byte(cae))+`"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok:"+s.body)
	}))
	r.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	r.StartTLS()
	t.Cleanup(r.Close)
	return r
}

func (r *resource) requests() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.seen...)
}

// tokens is a token source: it issues "tok-N", and a token that names
// the claims it was asked for.
type tokens struct {
	calls   atomic.Int32
	claims  []string
	mu      sync.Mutex
	binding *tls.Certificate // set: mtls_pop tokens bound to it
}

func (s *tokens) get(_ context.Context, claims string) (entra.Token, error) {
	n := s.calls.Add(1)
	s.mu.Lock()
	s.claims = append(s.claims, claims)
	s.mu.Unlock()
	tok := entra.Token{AccessToken: "tok-" + string(rune('0'+n)), TokenType: entra.TokenTypeBearer, ExpiresOn: time.Now().Add(time.Hour)}
	if claims == cae {
		tok.AccessToken += "-claims-satisfied"
	}
	if s.binding != nil {
		tok.TokenType, tok.BindingCertificate = entra.TokenTypeMTLSPoP, s.binding
	}
	return tok, nil
}

func transportFor(r *resource, s *tokens) *httpauth.Transport {
	return &httpauth.Transport{Token: s.get, Base: r.Client().Transport.(*http.Transport)}
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

func TestBearer(t *testing.T) {
	t.Parallel()
	r := newResource(t)
	s := &tokens{}
	req, _ := http.NewRequest(http.MethodGet, r.URL, nil)
	resp, _ := do(t, transportFor(r, s), req)
	if resp.StatusCode != 200 || r.requests()[0].authorization != "Bearer tok-1" || r.requests()[0].peer != nil {
		t.Fatalf("status %d, resource saw %+v", resp.StatusCode, r.requests())
	}
	if req.Header.Get("Authorization") != "" {
		t.Fatal("the caller's request was modified")
	}
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

func TestPoPPresentsTheBindingCertificate(t *testing.T) {
	t.Parallel()
	r := newResource(t)
	cert := selfSigned(t)
	s := &tokens{binding: cert}
	tr := transportFor(r, s)
	tr.KeyVault = true
	for range 3 { // the certificate's connection is reused
		req, _ := http.NewRequest(http.MethodGet, r.URL, nil)
		if resp, _ := do(t, tr, req); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	for _, got := range r.requests() {
		if !strings.HasPrefix(got.authorization, "mtls_pop tok-") || got.peer == nil || !got.peer.Equal(cert.Leaf) || got.tokenBound != "true" {
			t.Fatalf("resource saw %q, bound auth %q, certificate %v", got.authorization, got.tokenBound, got.peer != nil)
		}
	}
	// Bearer requests through the same transport present no certificate.
	s.binding = nil
	req, _ := http.NewRequest(http.MethodGet, r.URL, nil)
	do(t, tr, req)
	if last := r.requests()[len(r.requests())-1]; last.peer != nil || last.tokenBound != "" {
		t.Fatal("a bearer request presented the certificate")
	}
}

func TestCAEChallengeIsAnsweredOnce(t *testing.T) {
	t.Parallel()
	r := newResource(t)
	r.challenge.Store(true)
	s := &tokens{}
	req, _ := http.NewRequest(http.MethodPost, r.URL, strings.NewReader("payload")) // GetBody set
	resp, body := do(t, transportFor(r, s), req)
	if resp.StatusCode != 200 || body != "ok:payload" {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
	if n := s.calls.Load(); n != 2 || s.claims[0] != "" || s.claims[1] != cae {
		t.Fatalf("%d token calls with claims %q, want one more with the decoded challenge", n, s.claims)
	}
	if seen := r.requests(); len(seen) != 2 || seen[1].body != "payload" {
		t.Fatalf("resource saw %+v: the body was not replayed", seen)
	}
}

func TestSecondChallengeIsReturned(t *testing.T) {
	t.Parallel()
	r := newResource(t)
	r.challenge.Store(true)
	s := &tokens{}
	tr := &httpauth.Transport{Base: r.Client().Transport.(*http.Transport),
		Token: func(ctx context.Context, claims string) (entra.Token, error) {
			tok, err := s.get(ctx, claims)
			tok.AccessToken = strings.TrimSuffix(tok.AccessToken, "-claims-satisfied") // never satisfies
			return tok, err
		}}
	req, _ := http.NewRequest(http.MethodGet, r.URL, nil)
	resp, _ := do(t, tr, req)
	claims, ok := httpauth.Challenge(resp)
	if resp.StatusCode != 401 || !ok || claims != cae || s.calls.Load() != 2 || len(r.requests()) != 2 {
		t.Fatalf("status %d, challenge %q %t, %d token calls, %d requests", resp.StatusCode, claims, ok, s.calls.Load(), len(r.requests()))
	}
}

func TestUnreplayableBodyReturnsTheChallenge(t *testing.T) {
	t.Parallel()
	r := newResource(t)
	r.challenge.Store(true)
	s := &tokens{}
	req, _ := http.NewRequest(http.MethodPost, r.URL, io.NopCloser(strings.NewReader("stream"))) // no GetBody
	resp, _ := do(t, transportFor(r, s), req)
	if _, ok := httpauth.Challenge(resp); resp.StatusCode != 401 || !ok || s.calls.Load() != 1 || len(r.requests()) != 1 {
		t.Fatalf("status %d, %d token calls, %d requests: a body that cannot be replayed was sent again", resp.StatusCode, s.calls.Load(), len(r.requests()))
	}
}

func TestRedirectToAnotherHostCarriesNoToken(t *testing.T) {
	t.Parallel()
	elsewhere := newResource(t)
	origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") == "" {
			t.Error("the origin got no token")
		}
		http.Redirect(w, req, elsewhere.URL+"/moved", http.StatusFound) // another host: another port
	}))
	t.Cleanup(origin.Close)
	s := &tokens{}
	req, _ := http.NewRequest(http.MethodGet, origin.URL, nil)
	resp, _ := do(t, transportFor(elsewhere, s), req)
	if seen := elsewhere.requests(); resp.StatusCode != 200 || len(seen) != 1 || seen[0].authorization != "" {
		t.Fatalf("status %d, the other host saw %+v", resp.StatusCode, seen)
	}
}

func TestChallengeParsing(t *testing.T) {
	t.Parallel()
	enc := base64.StdEncoding.EncodeToString([]byte(cae))
	for _, tt := range []struct {
		header string
		want   string
	}{
		{`Bearer realm="", error="insufficient_claims", claims="` + enc + `"`, cae},
		{`Bearer error="insufficient_claims", claims="` + strings.TrimRight(enc, "=") + `"`, cae},
		{`PoP realm="", claims="` + base64.RawURLEncoding.EncodeToString([]byte(cae)) + `", error="insufficient_claims"`, cae},
		{`Bearer error="invalid_token"`, ""},
		{`Bearer error="insufficient_claims", claims="not base64!"`, ""},
	} {
		resp := &http.Response{StatusCode: 401, Header: http.Header{"Www-Authenticate": {tt.header}}}
		if got, ok := httpauth.Challenge(resp); got != tt.want || ok != (tt.want != "") {
			t.Errorf("Challenge(%s) = %q, %t", tt.header, got, ok)
		}
	}
}

// TestConcurrentRequestsShareOneToken: a confidential client under the
// transport: 20 concurrent requests, one token request.
func TestConcurrentRequestsShareOneToken(t *testing.T) {
	t.Parallel()
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	secret, _ := credential.NewSecret(em.DefaultClient().Secret)
	app, err := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
		ClientID: em.DefaultClient().ID, Credential: secret, HTTPClient: em.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	r := newResource(t)
	tr := &httpauth.Transport{Base: r.Client().Transport.(*http.Transport),
		Token: httpauth.ForClient(app, confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}})}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, r.URL, nil)
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if n := len(em.Requests("token")); n != 1 {
		t.Fatalf("%d token requests for 20 concurrent calls, want 1", n)
	}
}
