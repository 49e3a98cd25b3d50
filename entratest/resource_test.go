package entratest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra/entratest"
)

const (
	resourceScope = entratest.ResourceAudience + "/.default"
	mtlsTokenURL  = "https://mtlsauth.microsoft.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
)

// appToken is a token of the default client for the protected API, from
// the token endpoint u; kv are form values to set, or with "" to remove.
func appToken(t *testing.T, emu *entratest.Emulator, client *http.Client, u string, kv ...string) string {
	t.Helper()
	dc := emu.DefaultClient()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID}, "client_secret": {dc.Secret}, "scope": {resourceScope}}
	for i := 0; i < len(kv); i += 2 {
		if form.Set(kv[i], kv[i+1]); kv[i+1] == "" {
			form.Del(kv[i])
		}
	}
	status, _, body := send(t, client, "POST", u, nil, form)
	token, _ := body["access_token"].(string)
	if status != 200 || token == "" {
		t.Fatalf("token: %d %v", status, body)
	}
	return token
}

// callResource calls the protected API at path with the Authorization
// header authz ("" for none) and a JSON body.
func callResource(t *testing.T, emu *entratest.Emulator, client *http.Client, method, path, authz, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, emu.ResourceURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%d with a body that is not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, resp.Header, v
}

// TestResourceAcceptsItsTokens: the protected API accepts the tokens the
// emulator issues for its audience (an app's, a user's on-behalf-of, a
// managed identity's) and answers with who called and what arrived.
func TestResourceAcceptsItsTokens(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	dc := emu.DefaultClient()
	client := emu.HTTPClient()
	app := appToken(t, emu, client, graphToken)
	status, _, body := callResource(t, emu, client, "PUT", "/items/7", "Bearer "+app, `{"name":"x"}`)
	want := map[string]any{"appid": dc.ID, "oid": dc.ID, "sub": dc.ID, "token_type": "Bearer", "bound": false,
		"method": "PUT", "path": "/api/items/7", "body_length": float64(12)}
	if status != 200 || !maps.Equal(body, want) {
		t.Fatalf("app token: %d %v, want %v", status, body, want)
	}
	// A form body is counted too, though the emulator parses it to record it.
	form := url.Values{"a": {"1"}, "b": {"two"}}
	status, _, body = send(t, client, "POST", strings.Replace(emu.ResourceURL(), "localhost", "login.microsoftonline.com", 1),
		http.Header{"Authorization": {"bearer " + app}}, form)
	if status != 200 || body["body_length"] != float64(len(form.Encode())) || body["path"] != "/api" {
		t.Fatalf("form body on another host name: %d %v", status, body)
	}

	user := emu.RegisterUser(entratest.User{Username: "grace@contoso.example"})
	user.Audience = dc.ID
	obo := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
		"client_id": {dc.ID}, "client_secret": {dc.Secret}, "assertion": {emu.IssueUserToken(user)},
		"scope": {entratest.ResourceAudience + "/access_as_user"}}
	_, _, tok := send(t, client, "POST", graphToken, nil, obo)
	onBehalf, _ := tok["access_token"].(string)
	status, _, body = callResource(t, emu, client, "GET", "/me", "Bearer "+onBehalf, "")
	if status != 200 || body["oid"] != user.ObjectID || body["sub"] != user.Subject || body["scp"] != "access_as_user" || body["appid"] != dc.ID {
		t.Fatalf("on-behalf-of token: %d %v", status, body)
	}

	mi := imdsToken(t, emu, entratest.ResourceAudience, "client_id", "c1")
	if status, _, body = callResource(t, emu, client, "GET", "/", "Bearer "+mi, ""); status != 200 || body["appid"] != "c1" {
		t.Fatalf("managed identity token: %d %v", status, body)
	}

	reqs := emu.Requests("resource")
	if len(reqs) != 4 || reqs[2].Header.Get("Authorization") != "Bearer "+onBehalf || reqs[2].Path != "/api/me" ||
		!strings.HasPrefix(reqs[1].Host, "login.microsoftonline.com:") {
		t.Fatalf("recorded %d requests, the second for %s, the third for %s", len(reqs), reqs[1].Host, reqs[2].Path)
	}
}

// TestResourceRefuses: each token a resource must refuse, and the answer.
func TestResourceRefuses(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second)
	clock := &testClock{now: now}
	emu := miStart(t, entratest.Options{Now: clock.Now})
	client := emu.HTTPClient()
	good := appToken(t, emu, client, graphToken)
	graph := appToken(t, emu, client, graphToken, "scope", "https://graph.microsoft.com/.default")
	clock.Set(now.Add(-2 * time.Hour))
	expired := appToken(t, emu, client, graphToken)
	clock.Set(now.Add(time.Hour))
	early := appToken(t, emu, client, graphToken)
	clock.Set(now)
	parts := strings.Split(good, ".")
	sig := []byte(parts[2])
	sig[len(sig)/2] ^= 1 // 'A' ↔ 'B' and the like: another base64url digit
	tampered := parts[0] + "." + parts[1] + "." + string(sig)

	const realm = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"`
	invalid := func(desc string) string { return `Bearer error="invalid_token", error_description="` + desc + `"` }
	tests := []struct {
		name, authz, challenge string
	}{
		{"another audience", "Bearer " + graph, invalid("The token's audience is not api://entratest-resource.")},
		{"expired", "Bearer " + expired, invalid("The token has expired.")},
		{"not valid yet", "Bearer " + early, invalid("The token is not valid yet.")},
		{"tampered signature", "Bearer " + tampered, invalid("The token is malformed or was not signed by the token service.")},
		{"not a JWT", "Bearer opaque", invalid("The token is malformed or was not signed by the token service.")},
		{"a bearer token as mtls_pop", "mtls_pop " + good, invalid("The mtls_pop scheme needs a token bound to a certificate (cnf).")},
		{"no Authorization header", "", realm},
		{"another scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte("a:b")), realm},
		{"a scheme without a token", "Bearer ", realm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, body := callResource(t, emu, client, "GET", "/x", tt.authz, "")
			if status != 401 || header.Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("%d %q %v; want 401 %q", status, header.Get("WWW-Authenticate"), body, tt.challenge)
			}
			if wantCode := strings.Contains(tt.challenge, "invalid_token"); wantCode != (body["error"] == "invalid_token") || body["error_description"] == "" {
				t.Errorf("body %v", body)
			}
			if desc, _ := body["error_description"].(string); strings.Contains(desc+header.Get("WWW-Authenticate"), parts[1]) {
				t.Error("the refusal echoes the token")
			}
		})
	}
	if status, _, body := callResource(t, emu, client, "GET", "/x", "Bearer "+good, ""); status != 200 {
		t.Fatalf("the good token, at the clock it was issued: %d %v", status, body)
	}
}

// TestResourceProofOfPossession: a bound token passes only over a
// connection that presented its certificate.
func TestResourceProofOfPossession(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	registered, err := tls.X509KeyPair(emu.DefaultClient().CertPEM, emu.DefaultClient().KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	stranger := strangerCertificate(t)
	withCert := func(cert *tls.Certificate) *http.Client {
		transport := emu.TransportWithCertificate(cert)
		t.Cleanup(transport.CloseIdleConnections)
		return &http.Client{Transport: transport, Timeout: 10 * time.Second}
	}
	bound, other, none := withCert(&registered), withCert(&stranger), emu.HTTPClient()
	// An mtls_pop request is authenticated by its certificate alone.
	pop := appToken(t, emu, bound, mtlsTokenURL, "token_type", "mtls_pop", "client_secret", "")
	const notPresented = `Bearer error="invalid_token", error_description="The token is bound to a certificate that the TLS connection did not present."`
	tests := []struct {
		name, authz string
		client      *http.Client
		status      int
		challenge   string
		tokenType   string
	}{
		{"the bound certificate", "mtls_pop " + pop, bound, 200, "", "pop"},
		{"the scheme in capitals", "MTLS_POP " + pop, bound, 200, "", "pop"},
		{"as a bound bearer token", "Bearer " + pop, bound, 200, "", "Bearer"},
		{"another certificate", "mtls_pop " + pop, other, 401, notPresented, ""},
		{"no certificate", "mtls_pop " + pop, none, 401, notPresented, ""},
		{"as a bearer token without the certificate", "Bearer " + pop, none, 401, notPresented, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, body := callResource(t, emu, tt.client, "GET", "/x", tt.authz, "")
			if status != tt.status || header.Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("%d %q %v", status, header.Get("WWW-Authenticate"), body)
			}
			if status == 200 && (body["token_type"] != tt.tokenType || body["bound"] != true) {
				t.Fatalf("answer %v", body)
			}
		})
	}
	reqs := emu.Requests("resource")
	if first := reqs[0].ClientCertificate; first == nil || !first.Equal(registered.Leaf) {
		t.Fatalf("the request did not record the bound certificate: %v", first)
	}
}

// strangerCertificate is a self-signed certificate no client registered.
func strangerCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stranger"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestRevokeSessions: after a revocation, the protected API challenges a
// cp1 client's older token with the claims a new token satisfies, and
// refuses another client's.
func TestRevokeSessions(t *testing.T) {
	t.Parallel()
	issued := time.Now().Truncate(time.Second)
	clock := &testClock{now: issued}
	emu := miStart(t, entratest.Options{Now: clock.Now})
	client := emu.HTTPClient()
	const cp1 = `{"access_token":{"xms_cc":{"values":["cp1"]}}}`
	capable, plain := appToken(t, emu, client, graphToken, "claims", cp1), appToken(t, emu, client, graphToken)
	for _, tok := range []string{capable, plain} {
		if status, _, body := callResource(t, emu, client, "GET", "/", "Bearer "+tok, ""); status != 200 {
			t.Fatalf("before the revocation: %d %v", status, body)
		}
	}

	// Half a second into a later second, to check that the challenge names
	// the second, as a client compares it with iat.
	revoked := issued.Add(time.Minute + 500*time.Millisecond)
	clock.Set(revoked)
	emu.RevokeSessions()
	status, header, _ := callResource(t, emu, client, "GET", "/", "Bearer "+capable, "")
	challenge := header.Get("WWW-Authenticate")
	const prefix = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="`
	m := regexp.MustCompile(`claims="([^"]*)"$`).FindStringSubmatch(challenge)
	if status != 401 || !strings.HasPrefix(challenge, prefix) || m == nil {
		t.Fatalf("cp1 token after the revocation: %d %q", status, challenge)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(m[1])
	if err != nil {
		t.Fatalf("claims %q are not padded standard base64: %v", m[1], err)
	}
	var claims struct {
		AccessToken struct {
			Nbf struct {
				Essential bool
				Value     string
			}
		} `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || !claims.AccessToken.Nbf.Essential ||
		claims.AccessToken.Nbf.Value != strconv.FormatInt(revoked.Unix(), 10) {
		t.Fatalf("claims %s (%v), want nbf %d", raw, err, revoked.Unix())
	}

	status, header, body := callResource(t, emu, client, "GET", "/", "Bearer "+plain, "")
	if status != 401 || !strings.HasPrefix(header.Get("WWW-Authenticate"), `Bearer error="invalid_token", `) || body["error"] != "invalid_token" {
		t.Fatalf("a token without cp1 after the revocation: %d %q %v", status, header.Get("WWW-Authenticate"), body)
	}

	// The client asks again with the challenge's claims and its capability,
	// in the second of the revocation.
	answer := `{"access_token":{"nbf":{"essential":true,"value":"` + claims.AccessToken.Nbf.Value + `"},"xms_cc":{"values":["cp1"]}}}`
	fresh := appToken(t, emu, client, graphToken, "claims", answer)
	if status, _, body := callResource(t, emu, client, "GET", "/", "Bearer "+fresh, ""); status != 200 {
		t.Fatalf("a token issued after the revocation: %d %v", status, body)
	}
}
