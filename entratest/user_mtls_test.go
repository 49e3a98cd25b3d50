package entratest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra/internal/jws"
)

const authorizeURL = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"

func authorizeQuery(clientID string, kv ...string) string {
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {DefaultRedirectURI},
		"scope": {"User.Read openid profile offline_access"}, "state": {"s1"}, "nonce": {"n1"}}
	for i := 0; i < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return authorizeURL + "?" + q.Encode()
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	e := start(t, Options{})
	dc := e.DefaultClient()
	grace := e.RegisterUser(User{Username: "grace@contoso.example", Name: "Grace"})
	ctx := context.Background()
	tests := []struct {
		name    string
		url     string
		wantErr string // a sign-in page error, or "" for a redirect
		check   func(t *testing.T, back *url.URL)
	}{
		{name: "code and state", url: authorizeQuery(dc.ID), check: func(t *testing.T, back *url.URL) {
			if back.Host != "localhost" || back.Query().Get("code") == "" || back.Query().Get("state") != "s1" {
				t.Errorf("redirect %s", back)
			}
		}},
		{name: "any port of a loopback redirect", url: authorizeQuery(dc.ID, "redirect_uri", "http://localhost:53111/callback"), check: func(t *testing.T, back *url.URL) {
			if back.Port() != "53111" || back.Query().Get("code") == "" {
				t.Errorf("redirect %s", back)
			}
		}},
		{name: "unregistered redirect URI", url: authorizeQuery(dc.ID, "redirect_uri", "https://evil.example/cb"), wantErr: "AADSTS50011"},
		{name: "unknown client", url: authorizeQuery("nobody"), wantErr: "AADSTS700016"},
		{name: "wrong response type", url: authorizeQuery(dc.ID, "response_type", "token"), check: func(t *testing.T, back *url.URL) {
			if back.Query().Get("error") != "unsupported_response_type" || back.Query().Get("state") != "s1" {
				t.Errorf("redirect %s", back)
			}
		}},
		{name: "plain PKCE", url: authorizeQuery(dc.ID, "code_challenge", "abc", "code_challenge_method", "plain"), check: func(t *testing.T, back *url.URL) {
			if back.Query().Get("error") != "invalid_request" {
				t.Errorf("redirect %s", back)
			}
		}},
		{name: "unknown login hint", url: authorizeQuery(dc.ID, "login_hint", "nobody@contoso.example"), check: func(t *testing.T, back *url.URL) {
			if back.Query().Get("error") == "" {
				t.Errorf("redirect %s", back)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			back, err := e.SignIn(ctx, tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, back)
		})
	}

	// form_post answers with a page that posts the code.
	resp, err := e.HTTPClient().Get(authorizeQuery(dc.ID, "response_mode", "form_post"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `name="code"`) || !strings.Contains(string(page), `action="http://localhost/callback"`) {
		t.Errorf("form_post page %d: %s", resp.StatusCode, page)
	}

	// login_hint picks the user: the ID token names them.
	back, err := e.SignIn(ctx, authorizeQuery(dc.ID, "login_hint", "GRACE@contoso.example"))
	if err != nil {
		t.Fatal(err)
	}
	a := post(t, e, tokenURL, url.Values{"grant_type": {"authorization_code"}, "client_id": {dc.ID}, "client_secret": {dc.Secret},
		"code": {back.Query().Get("code")}, "redirect_uri": {DefaultRedirectURI}, "scope": {"User.Read openid profile offline_access"}, "client_info": {"1"}})
	if a.status != 200 {
		t.Fatalf("redemption: %d %v", a.status, a.body)
	}
	idt, _ := jws.Parse(a.body["id_token"].(string))
	var claims map[string]any
	json.Unmarshal(idt.Payload, &claims)
	if claims["preferred_username"] != grace.Username || claims["nonce"] != "n1" || claims["aud"] != dc.ID || claims["oid"] != grace.ObjectID {
		t.Errorf("ID token claims %v", claims)
	}
	ci, _ := base64.RawURLEncoding.DecodeString(a.body["client_info"].(string))
	if string(ci) != `{"uid":"`+grace.ObjectID+`","utid":"`+grace.TenantID+`"}` {
		t.Errorf("client_info %s", ci)
	}
	if a.body["refresh_token"] == nil || a.body["scope"] == nil {
		t.Errorf("answer %v", a.body)
	}
}

func TestAuthCodeGrant(t *testing.T) {
	t.Parallel()
	e := start(t, Options{})
	dc := e.DefaultClient()
	ctx := context.Background()
	const verifier = "a-verifier-of-at-least-forty-three-characters-long"
	code := func() string {
		back, err := e.SignIn(ctx, authorizeQuery(dc.ID, "code_challenge", challenge(verifier), "code_challenge_method", "S256"))
		if err != nil {
			t.Fatal(err)
		}
		return back.Query().Get("code")
	}
	redeem := func(code, redirect, verifier string) answer {
		return post(t, e, tokenURL, url.Values{"grant_type": {"authorization_code"}, "client_id": {dc.ID}, "client_secret": {dc.Secret},
			"code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}, "scope": {"User.Read openid offline_access"}})
	}
	c := code()
	if a := redeem(c, DefaultRedirectURI, verifier); a.status != 200 {
		t.Fatalf("redemption: %v", a.body)
	}
	tests := []struct {
		name, code, redirect, verifier string
		aadsts                         string
	}{
		{"code used twice", c, DefaultRedirectURI, verifier, "AADSTS54005"},
		{"verifier does not match", code(), DefaultRedirectURI, verifier + "x", "AADSTS501481"},
		{"redirect URI differs", code(), "http://localhost/other", verifier, "AADSTS50148"},
		{"unknown code", "code.nope", DefaultRedirectURI, verifier, "AADSTS9002313"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := redeem(tt.code, tt.redirect, tt.verifier)
			if a.status != 400 || a.code() != "invalid_grant" || !strings.Contains(a.body["error_description"].(string), tt.aadsts) {
				t.Fatalf("%d %v", a.status, a.body)
			}
		})
	}

	// Codes expire after ten minutes.
	now := time.Now()
	late := start(t, Options{Now: func() time.Time { return now }})
	back, err := late.SignIn(ctx, authorizeQuery(late.DefaultClient().ID))
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(11 * time.Minute)
	a := post(t, late, tokenURL, url.Values{"grant_type": {"authorization_code"}, "client_id": {late.DefaultClient().ID},
		"client_secret": {late.DefaultClient().Secret}, "code": {back.Query().Get("code")}, "redirect_uri": {DefaultRedirectURI}, "scope": {"User.Read"}})
	if a.code() != "invalid_grant" || !strings.Contains(a.body["error_description"].(string), "AADSTS70008") {
		t.Fatalf("expired code: %v", a.body)
	}
}

func TestRefreshTokenFamilies(t *testing.T) {
	t.Parallel()
	e := start(t, Options{})
	dc := e.DefaultClient()
	e.RegisterClient(Client{ID: dc.ID, Secret: dc.Secret, RedirectURIs: []string{DefaultRedirectURI}, FamilyID: "1"})
	e.RegisterClient(Client{ID: "sibling", Secret: "s2", FamilyID: "1"})
	e.RegisterClient(Client{ID: "outsider", Secret: "s3"})
	back, err := e.SignIn(context.Background(), authorizeQuery(dc.ID))
	if err != nil {
		t.Fatal(err)
	}
	a := post(t, e, tokenURL, url.Values{"grant_type": {"authorization_code"}, "client_id": {dc.ID}, "client_secret": {dc.Secret},
		"code": {back.Query().Get("code")}, "redirect_uri": {DefaultRedirectURI}, "scope": {"User.Read offline_access"}})
	if a.body["foci"] != "1" {
		t.Fatalf("a family client's answer has no foci: %v", a.body)
	}
	rt := a.body["refresh_token"].(string)
	refresh := func(client, secret, rt string) answer {
		return post(t, e, tokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "client_secret": {secret},
			"refresh_token": {rt}, "scope": {"User.Read offline_access"}})
	}
	if a := refresh("outsider", "s3", rt); a.code() != "invalid_grant" {
		t.Fatalf("a client outside the family redeemed it: %v", a.body)
	}
	b := refresh("sibling", "s2", rt)
	if b.status != 200 {
		t.Fatalf("the sibling could not redeem the family refresh token: %v", b.body)
	}
	if a := refresh("sibling", "s2", rt); a.code() != "invalid_grant" {
		t.Fatal("a rotated refresh token was accepted again")
	}
	e.RevokeRefreshTokens()
	if a := refresh("sibling", "s2", b.body["refresh_token"].(string)); a.code() != "invalid_grant" {
		t.Fatal("a revoked refresh token was accepted")
	}
}

func TestMTLSHosts(t *testing.T) {
	t.Parallel()
	e := start(t, Options{})
	dc := e.DefaultClient()
	rsaKey, rsaCert := defaultKey(t, e)
	registered := &tls.Certificate{Certificate: [][]byte{rsaCert.Raw}, PrivateKey: rsaKey}
	strangerCert, strangerKey := newClientCertificate(t)
	stranger := &tls.Certificate{Certificate: [][]byte{strangerCert.Raw}, PrivateKey: strangerKey}
	const mtlsURL = "https://mtlsauth.microsoft.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
	const regionalURL = "https://westus2.mtlsauth.microsoft.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
	jwtBearer := "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	jwtPoP := "urn:ietf:params:oauth:client-assertion-type:jwt-pop"
	cc := func(kv ...string) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID}, "scope": {"https://graph.microsoft.com/.default"}}
		for i := 0; i < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	jti := 0
	assert := func(aud string) string {
		jti++
		return assertion(t, rsaKey, rsaCert, "PS256", dc.ID, aud, time.Now(), 5*time.Minute, "m"+string(rune('a'+jti)))
	}
	tests := []struct {
		name    string
		cert    *tls.Certificate
		url     string
		form    url.Values
		status  int
		code    string
		wantCnf bool
		bearer  bool // bound (cnf) yet a Bearer token: the jwt-pop assertion's
		region  string
	}{
		{name: "no certificate", url: mtlsURL, form: cc("token_type", "mtls_pop"), status: 400, code: "invalid_client"},
		{name: "unregistered certificate", cert: stranger, url: mtlsURL, form: cc("token_type", "mtls_pop"), status: 401, code: "invalid_client"},
		{name: "bearer over mTLS", cert: registered, url: mtlsURL, form: cc("client_assertion_type", jwtBearer, "client_assertion", assert(mtlsURL)), status: 200},
		{name: "bearer over mTLS without an assertion", cert: registered, url: mtlsURL, form: cc(), status: 401, code: "invalid_client"},
		{name: "PoP", cert: registered, url: mtlsURL, form: cc("token_type", "mtls_pop"), status: 200, wantCnf: true},
		{name: "PoP, regional", cert: registered, url: regionalURL, form: cc("token_type", "mtls_pop"), status: 200, wantCnf: true, region: "westus2"},
		{name: "PoP on the login host", cert: registered, url: tokenURL, form: cc("token_type", "mtls_pop"), status: 400, code: "invalid_request"},
		{name: "PoP with a jwt-bearer assertion", cert: registered, url: mtlsURL,
			form: cc("token_type", "mtls_pop", "client_assertion_type", jwtBearer, "client_assertion", assert(mtlsURL)), status: 400, code: "invalid_request"},
		{name: "PoP with a secret", cert: registered, url: mtlsURL, form: cc("token_type", "mtls_pop", "client_secret", dc.Secret), status: 400, code: "invalid_request"},
		{name: "PoP on common", cert: registered, url: "https://mtlsauth.microsoft.com/common/oauth2/v2.0/token", form: cc("token_type", "mtls_pop"), status: 400, code: "invalid_request"},
		{name: "jwt-pop over mTLS, made for the login host", cert: registered, url: mtlsURL,
			form: cc("client_assertion_type", jwtPoP, "client_assertion", assert(tokenURL)), status: 200, wantCnf: true, bearer: true},
		{name: "jwt-pop off mTLS", cert: registered, url: tokenURL, form: cc("client_assertion_type", jwtPoP, "client_assertion", assert(tokenURL)), status: 400, code: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			transport := e.Transport()
			if tt.cert != nil {
				transport = e.TransportWithCertificate(tt.cert)
			}
			resp, err := (&http.Client{Transport: transport}).PostForm(tt.url, tt.form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status || (tt.code != "" && body["error"] != tt.code) {
				t.Fatalf("%d %v", resp.StatusCode, body)
			}
			if tt.status != 200 {
				return
			}
			claims, err := e.VerifyAccessToken(body["access_token"].(string))
			if err != nil {
				t.Fatal(err)
			}
			cnf, bound := claims["cnf"].(map[string]any)
			wantType := "Bearer"
			if tt.wantCnf {
				if !tt.bearer {
					wantType = "mtls_pop"
				}
				sum := sha256.Sum256(rsaCert.Raw)
				if !bound || cnf["x5t#S256"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
					t.Errorf("cnf %v", claims["cnf"])
				}
			} else if bound {
				t.Errorf("a bearer token carries cnf %v", cnf)
			}
			if body["token_type"] != wantType || (tt.region != "" && claims["region"] != tt.region) {
				t.Errorf("token_type %v, region %v", body["token_type"], claims["region"])
			}
		})
	}
}

func TestOIDCMTLSAlias(t *testing.T) {
	t.Parallel()
	e := start(t, Options{ExtraHosts: []string{"idp.contoso.test"}})
	dc := e.DefaultClient()
	rsaKey, rsaCert := defaultKey(t, e)
	resp, err := e.HTTPClient().Get("https://idp.contoso.test/oidc/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Aliases struct {
			TokenEndpoint string `json:"token_endpoint"`
		} `json:"mtls_endpoint_aliases"`
		Bound bool `json:"tls_client_certificate_bound_access_tokens"`
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc.Aliases.TokenEndpoint != "https://idp.contoso.test/oidc/mtls/token" || !doc.Bound {
		t.Fatalf("discovery %+v", doc)
	}
	client := &http.Client{Transport: e.TransportWithCertificate(&tls.Certificate{Certificate: [][]byte{rsaCert.Raw}, PrivateKey: rsaKey})}
	r, err := client.PostForm(doc.Aliases.TokenEndpoint, url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID}, "scope": {"api/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	r.Body.Close()
	if body["token_type"] != "Bearer" {
		t.Fatalf("answer %v", body)
	}
	claims, _ := e.VerifyAccessToken(body["access_token"].(string))
	if _, ok := claims["cnf"]; !ok {
		t.Fatal("an RFC 8705 token is not bound")
	}
	r, err = e.HTTPClient().PostForm(doc.Aliases.TokenEndpoint, url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID}, "client_secret": {dc.Secret}, "scope": {"api/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 400 {
		t.Fatalf("the alias answered %d without a client certificate", r.StatusCode)
	}
}

func newClientCertificate(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "stranger"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

// TestAudienceOfScopes: the access token's aud is the resource of the scope.
func TestAudienceOfScopes(t *testing.T) {
	t.Parallel()
	e := start(t, Options{})
	dc := e.DefaultClient()
	for scope, want := range map[string]string{
		"api://x/.default":                              "api://x",
		"https://graph.microsoft.com/.default":          "https://graph.microsoft.com",
		"00000003-0000-0000-c000-000000000000/.default": "00000003-0000-0000-c000-000000000000",
	} {
		a := post(t, e, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID}, "client_secret": {dc.Secret}, "scope": {scope}})
		claims, err := e.VerifyAccessToken(a.body["access_token"].(string))
		if err != nil || claims["aud"] != want {
			t.Errorf("%s: aud %v (%v)", scope, claims["aud"], err)
		}
	}
}
