package entratest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra/internal/jws"
)

const tokenURL = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"

func start(t *testing.T, opts Options) *Emulator {
	t.Helper()
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func post(t *testing.T, e *Emulator, u string, form url.Values) answer {
	t.Helper()
	resp, err := e.HTTPClient().PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) code() string { s, _ := a.body["error"].(string); return s }

// assertion builds a client assertion like a client library would.
func assertion(t *testing.T, key crypto.Signer, cert *x509.Certificate, alg, clientID, aud string, nbf time.Time, life time.Duration, jti string) string {
	t.Helper()
	sum := sha256.Sum256(cert.Raw)
	tok, err := jws.Sign(key, alg, map[string]any{"typ": "JWT", "x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])},
		map[string]any{"aud": aud, "iss": clientID, "sub": clientID, "jti": jti, "nbf": nbf.Unix(), "exp": nbf.Add(life).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func defaultKey(t *testing.T, e *Emulator) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	dc := e.DefaultClient()
	cb, _ := pem.Decode(dc.CertPEM)
	kb, _ := pem.Decode(dc.KeyPEM)
	cert, _ := x509.ParseCertificate(cb.Bytes)
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return key.(crypto.Signer), cert
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	e := start(t, Options{RefreshIn: 30 * time.Minute})
	dc := e.DefaultClient()
	rsaKey, rsaCert := defaultKey(t, e)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "ec"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ecKey.PublicKey, ecKey)
	ecCert, _ := x509.ParseCertificate(der)
	unregistered, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.RegisterClient(Client{ID: dc.ID, Secret: dc.Secret, Certificates: []*x509.Certificate{rsaCert, ecCert}})
	now := time.Now()
	base := func() url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID}, "scope": {"https://graph.microsoft.com/.default"}}
	}
	with := func(kv ...string) url.Values {
		f := base()
		for i := 0; i < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	jwt := "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"secret", with("client_secret", dc.Secret), 200, ""},
		{"RSA PS256 assertion", with("client_assertion_type", jwt, "client_assertion", assertion(t, rsaKey, rsaCert, "PS256", dc.ID, tokenURL, now, 10*time.Minute, "j1")), 200, ""},
		{"RSA RS256 assertion", with("client_assertion_type", jwt, "client_assertion", assertion(t, rsaKey, rsaCert, "RS256", dc.ID, tokenURL, now, 5*time.Minute, "j2")), 200, ""},
		{"EC ES256 assertion", with("client_assertion_type", jwt, "client_assertion", assertion(t, ecKey, ecCert, "ES256", dc.ID, tokenURL, now, 5*time.Minute, "j3")), 200, ""},
		{"jti of an earlier assertion", with("client_assertion_type", jwt, "client_assertion", assertion(t, ecKey, ecCert, "ES256", dc.ID, tokenURL, now, 5*time.Minute, "j3")), 200, ""},
		{"wrong secret", with("client_secret", "nope"), 401, "invalid_client"},
		{"unknown client", with("client_id", "unknown", "client_secret", dc.Secret), 400, "unauthorized_client"},
		{"no credential", base(), 401, "invalid_client"},
		{"expired assertion", with("client_assertion_type", jwt, "client_assertion", assertion(t, rsaKey, rsaCert, "PS256", dc.ID, tokenURL, now.Add(-time.Hour), 10*time.Minute, "j4")), 401, "invalid_client"},
		{"wrong audience", with("client_assertion_type", jwt, "client_assertion", assertion(t, rsaKey, rsaCert, "PS256", dc.ID, "https://elsewhere/token", now, 10*time.Minute, "j5")), 401, "invalid_client"},
		{"longer than 10 minutes", with("client_assertion_type", jwt, "client_assertion", assertion(t, rsaKey, rsaCert, "PS256", dc.ID, tokenURL, now, time.Hour, "j6")), 401, "invalid_client"},
		{"unregistered certificate", with("client_assertion_type", jwt, "client_assertion", assertion(t, unregistered, ecCert, "ES256", dc.ID, tokenURL, now, 5*time.Minute, "j7")), 401, "invalid_client"},
		{"scope without /.default", with("client_secret", dc.Secret, "scope", "User.Read"), 400, "invalid_scope"},
		{"claims not an object", with("client_secret", dc.Secret, "claims", "[1]"), 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(t, e, tokenURL, tt.form)
			if a.status != tt.status || a.code() != tt.code {
				t.Fatalf("status %d %q, want %d %q: %v", a.status, a.code(), tt.status, tt.code, a.body["error_description"])
			}
			if tt.status != 200 {
				desc, _ := a.body["error_description"].(string)
				if !strings.HasPrefix(desc, "AADSTS") || a.body["trace_id"] == "" || a.body["correlation_id"] == "" {
					t.Errorf("not an ESTS error body: %v", a.body)
				}
				return
			}
			if a.body["token_type"] != "Bearer" || a.body["expires_in"] != float64(3600) || a.body["refresh_in"] != float64(1800) {
				t.Fatalf("body %v", a.body)
			}
			tok, err := jws.Parse(a.body["access_token"].(string))
			if err != nil || tok.Verify(&e.signer.PublicKey, "RS256") != nil {
				t.Fatal("access token is not signed by the emulator")
			}
			var claims map[string]any
			json.Unmarshal(tok.Payload, &claims)
			if claims["aud"] != "https://graph.microsoft.com" || claims["appid"] != dc.ID || claims["tid"] != e.TenantID() {
				t.Errorf("claims %v", claims)
			}
		})
	}
}

func TestOnBehalfOfAndRefreshRotation(t *testing.T) {
	t.Parallel()
	e := start(t, Options{})
	dc := e.DefaultClient()
	user := e.IssueUserToken(User{Audience: dc.ID, Subject: "alice", TenantID: "t"})
	obo := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
		"client_id": {dc.ID}, "client_secret": {dc.Secret}, "assertion": {user}, "scope": {"https://api.test/read offline_access openid profile"}}
	a := post(t, e, tokenURL, obo)
	rt, _ := a.body["refresh_token"].(string)
	if a.status != 200 || rt == "" {
		t.Fatalf("OBO: %d %v", a.status, a.body)
	}
	garbage := url.Values{}
	for k, v := range obo {
		garbage[k] = v
	}
	garbage.Set("assertion", "not.a.token")
	if a := post(t, e, tokenURL, garbage); a.code() != "invalid_grant" {
		t.Fatalf("garbage user assertion: %v", a.body)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {dc.ID}, "client_secret": {dc.Secret}, "scope": {"https://api.test/read offline_access"}}
	a = post(t, e, tokenURL, refresh)
	if a.status != 200 || a.body["refresh_token"] == rt || a.body["refresh_token"] == nil {
		t.Fatalf("refresh did not rotate: %v", a.body)
	}
	if a := post(t, e, tokenURL, refresh); a.code() != "invalid_grant" {
		t.Fatalf("a used refresh token was accepted: %v", a.body)
	}
}

func TestDiscoveryAndRegionalHost(t *testing.T) {
	t.Parallel()
	e := start(t, Options{ExtraHosts: []string{"login.contoso.test"}})
	c := e.HTTPClient()
	get := func(u string) map[string]any {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", u, resp.StatusCode, v)
		}
		return v
	}
	// A tenant given by domain is answered with its id, as Entra ID does.
	doc := get("https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration")
	byID := "https://login.microsoftonline.com/" + e.TenantID()
	if doc["token_endpoint"] != byID+"/oauth2/v2.0/token" || doc["issuer"] != byID+"/v2.0" {
		t.Errorf("openid configuration %v", doc)
	}
	inst := get("https://login.contoso.test/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.contoso.test/t/oauth2/v2.0/authorize")
	if !strings.Contains(mustJSON(inst["metadata"]), `"preferred_network":"login.contoso.test"`) {
		t.Errorf("instance discovery %v", inst)
	}
	if keys := get("https://login.microsoftonline.com/t/discovery/v2.0/keys"); keys["keys"] == nil {
		t.Error("no keys")
	}
	dc := e.DefaultClient()
	a := post(t, e, "https://eastus.login.microsoft.com/t/oauth2/v2.0/token",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID}, "client_secret": {dc.Secret}, "scope": {"api://x/.default"}})
	if a.status != 200 {
		t.Fatalf("regional: %v", a.body)
	}
	reqs := e.Requests("token")
	if reqs[len(reqs)-1].Host != "eastus.login.microsoft.com" {
		t.Fatalf("host %q", reqs[len(reqs)-1].Host)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestFaults(t *testing.T) {
	t.Parallel()
	e := start(t, Options{})
	dc := e.DefaultClient()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID}, "client_secret": {dc.Secret}, "scope": {"api://x/.default"}}
	e.InjectFault(Fault{Status: 503, RetryAfter: "7", Times: 2})
	e.InjectFault(Fault{Status: 200, Body: []byte("<html>"), ContentType: "text/html"})
	for i, want := range []int{503, 503, 200, 200} {
		a := post(t, e, tokenURL, form)
		if a.status != want {
			t.Fatalf("request %d: %d, want %d", i, a.status, want)
		}
		if i < 2 && (a.header.Get("Retry-After") != "7" || a.code() != "temporarily_unavailable") {
			t.Fatalf("request %d: %v %v", i, a.header, a.body)
		}
		if i == 2 && a.body != nil {
			t.Fatalf("raw body fault not applied: %v", a.body)
		}
	}
	// A delay is abandoned when the client leaves.
	e.InjectFault(Fault{Delay: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	startAt := time.Now()
	if _, err := e.HTTPClient().Do(req); err == nil {
		t.Fatal("a delayed answer arrived before the deadline")
	}
	if time.Since(startAt) > 5*time.Second {
		t.Fatal("the delay did not honour the client's context")
	}
}

func TestIMDSCompute(t *testing.T) {
	t.Parallel()
	e := start(t, Options{Region: "westeurope"})
	for _, tt := range []struct {
		header string
		status int
	}{{"true", 200}, {"", 400}} {
		req, _ := http.NewRequest(http.MethodGet, e.IMDSURL()+"/metadata/instance/compute?api-version=2021-02-01", nil)
		if tt.header != "" {
			req.Header.Set("Metadata", tt.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]string
		json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if resp.StatusCode != tt.status || (tt.status == 200 && v["location"] != "westeurope") {
			t.Fatalf("Metadata %q: %d %v", tt.header, resp.StatusCode, v)
		}
	}
}

func TestConcurrentRequests(t *testing.T) {
	t.Parallel()
	e := start(t, Options{})
	dc := e.DefaultClient()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID}, "client_secret": {dc.Secret}, "scope": {"api://x/.default"}}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a := post(t, e, tokenURL, form); a.status != 200 {
				t.Errorf("%d", a.status)
			}
		}()
	}
	wg.Wait()
	if n := len(e.Requests("token")); n != 20 {
		t.Fatalf("recorded %d requests", n)
	}
}
