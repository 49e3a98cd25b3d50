package entratest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra/internal/jws"
)

// TestAssertionVariants: the emulator accepts the assertions real clients
// send (thumbprints in any base64 form, no nbf, fractional times) and
// refuses what Entra ID refuses (AADSTS700027).
func TestAssertionVariants(t *testing.T) {
	t.Parallel()
	now := time.Now()
	e := start(t, Options{Now: func() time.Time { return now }})
	dc := e.DefaultClient()
	key, cert := defaultKey(t, e)
	s256, s1 := sha256.Sum256(cert.Raw), sha1.Sum(cert.Raw)
	other := sha256.Sum256([]byte("another certificate"))
	unix := float64(now.Unix())
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"aud": tokenURL, "iss": dc.ID, "sub": dc.ID, "jti": "j", "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	tests := []struct {
		name   string
		header map[string]any
		claims map[string]any
		why    string // "" for accepted, else in error_description
	}{
		{"x5t#S256 base64url unpadded (MSAL Node)", map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])}, claims(nil), ""},
		{"x5t#S256 standard base64 padded (MSAL Go)", map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}, claims(nil), ""},
		{"x5t base64url padded (MSAL Python)", map[string]any{"x5t": base64.URLEncoding.EncodeToString(s1[:])}, claims(nil), ""},
		{"x5t base64url unpadded", map[string]any{"x5t": base64.RawURLEncoding.EncodeToString(s1[:])}, claims(nil), ""},
		{"x5t standard base64 unpadded", map[string]any{"x5t": base64.RawStdEncoding.EncodeToString(s1[:])}, claims(nil), ""},
		{"no nbf (MSAL Python)", map[string]any{"x5t": base64.URLEncoding.EncodeToString(s1[:])},
			claims(func(c map[string]any) { delete(c, "nbf"); c["iat"] = now.Unix() }), ""},
		{"fractional iat and exp (MSAL Python)", map[string]any{"x5t": base64.URLEncoding.EncodeToString(s1[:])},
			claims(func(c map[string]any) { delete(c, "nbf"); c["iat"] = unix + 0.25; c["exp"] = unix + 600.75 }), ""},
		{"neither nbf nor iat, short exp", map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])},
			claims(func(c map[string]any) { delete(c, "nbf") }), ""},
		{"unregistered thumbprint", map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(other[:])}, claims(nil), "not registered"},
		{"thumbprint of the wrong length", map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(s1[:])}, claims(nil), "not registered"},
		{"thumbprint mixing alphabets", map[string]any{"x5t#S256": "-+" + base64.RawURLEncoding.EncodeToString(s256[:])[2:]}, claims(nil), "not registered"},
		{"no nbf, iat an hour before exp", map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])},
			claims(func(c map[string]any) { delete(c, "nbf"); c["iat"] = now.Add(-50 * time.Minute).Unix() }), "longer than 10 minutes"},
		{"neither nbf nor iat, exp in an hour", map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])},
			claims(func(c map[string]any) { delete(c, "nbf"); c["exp"] = now.Add(time.Hour).Unix() }), "longer than 10 minutes"},
		{"fractional exp just past", map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])},
			claims(func(c map[string]any) { c["nbf"] = unix - 300; c["exp"] = unix - 0.5 }), "expired"},
		{"no exp", map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])},
			claims(func(c map[string]any) { delete(c, "exp") }), "exp is missing"},
		{"exp not a number", map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])},
			claims(func(c map[string]any) { c["exp"] = true }), "malformed"},
		{"wrong audience", map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])},
			claims(func(c map[string]any) { c["aud"] = "https://login.microsoftonline.com/other/oauth2/v2.0/token" }), "audience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.header["typ"] = "JWT"
			signed, err := jws.Sign(key, "PS256", tt.header, tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			a := post(t, e, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID},
				"scope": {"https://graph.microsoft.com/.default"}, "client_assertion_type": {assertionTypeJWTBearer}, "client_assertion": {signed}})
			desc, _ := a.body["error_description"].(string)
			switch {
			case tt.why == "" && a.status != 200:
				t.Fatalf("refused: %d %s", a.status, desc)
			case tt.why != "" && (a.status != 401 || a.code() != "invalid_client" || !strings.HasPrefix(desc, "AADSTS700027") || !strings.Contains(desc, tt.why)):
				t.Fatalf("status %d %q, want 401 AADSTS700027 mentioning %q", a.status, desc, tt.why)
			}
		})
	}
}

func TestDecodeThumbprint(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	tests := []struct {
		in string
		ok bool
	}{
		{base64.RawURLEncoding.EncodeToString(sum[:]), true},
		{base64.URLEncoding.EncodeToString(sum[:]), true},
		{base64.StdEncoding.EncodeToString(sum[:]), true},
		{base64.RawStdEncoding.EncodeToString(sum[:]), true},
		{"", false},
		{base64.RawURLEncoding.EncodeToString(sum[:16]), false},
		{"!!" + base64.RawURLEncoding.EncodeToString(sum[:])[2:], false},
		{strings.Repeat("A", 200), false},
	}
	for _, tt := range tests {
		got, ok := decodeThumbprint(tt.in, sha256.Size)
		if ok != tt.ok || (ok && string(got) != string(sum[:])) {
			t.Errorf("decodeThumbprint(%q) = %x, %v; want ok=%v", tt.in, got, ok, tt.ok)
		}
	}
}

func TestParseAssertionClaims(t *testing.T) {
	tests := []struct {
		in       string
		ok       bool
		exp      float64
		nbf, iat bool
	}{
		{`{"exp":1700000600,"nbf":1700000000}`, true, 1700000600, true, false},
		{`{"exp":1700000600.5,"iat":1700000000.25}`, true, 1700000600.5, false, true},
		{`{"exp":1.7000006e9}`, true, 1700000600, false, false},
		{`{"exp":"soon"}`, false, 0, false, false},
		{`{"exp":1e999}`, false, 0, false, false},
		{`{"iss":1}`, false, 0, false, false},
		{`[]`, false, 0, false, false},
	}
	for _, tt := range tests {
		c, ok := parseAssertionClaims([]byte(tt.in))
		if ok != tt.ok || (ok && (c.exp != tt.exp || c.hasNbf != tt.nbf || c.hasIat != tt.iat)) {
			t.Errorf("parseAssertionClaims(%s) = %+v, %v", tt.in, c, ok)
		}
	}
}

func FuzzParseAssertionClaims(f *testing.F) {
	f.Add([]byte(`{"aud":"a","iss":"i","sub":"s","jti":"j","exp":1.5,"iat":1,"nbf":0}`))
	f.Add([]byte(`{"exp":"1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, ok := parseAssertionClaims(b)
		if !ok {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if c.hasExp && (c.exp != c.exp) {
			t.Fatal("NaN exp accepted")
		}
	})
}

func FuzzDecodeThumbprint(f *testing.F) {
	f.Add("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=")
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := decodeThumbprint(s, sha256.Size)
		if ok && len(b) != sha256.Size {
			t.Fatalf("%q decoded to %d bytes", s, len(b))
		}
	})
}

// TestDomainTenant: a tenant given by domain is named by its id in
// discovery, the issuer and the tokens' tid, as Entra ID answers.
func TestDomainTenant(t *testing.T) {
	t.Parallel()
	const fabrikam = "0d9f4a1e-5c1b-4a7e-9c3d-2b6f8e1a7c44"
	e := start(t, Options{TenantID: "3F2504E0-4F89-41D3-9A0C-0305E82C3301"})
	if e.TenantID() != "3f2504e0-4f89-41d3-9a0c-0305e82c3301" {
		t.Fatalf("TenantID %q", e.TenantID())
	}
	e.RegisterDomain("Fabrikam.onmicrosoft.com", fabrikam)
	dc := e.DefaultClient()
	tests := []struct{ tenant, want string }{
		{"contoso.onmicrosoft.com", e.TenantID()},
		{"fabrikam.onmicrosoft.com", fabrikam},
		{strings.ToUpper(fabrikam), fabrikam},
	}
	for _, tt := range tests {
		base := "https://login.microsoftonline.com/" + tt.tenant
		resp, err := e.HTTPClient().Get(base + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		byID := "https://login.microsoftonline.com/" + tt.want
		if doc["issuer"] != byID+"/v2.0" || doc["token_endpoint"] != byID+"/oauth2/v2.0/token" {
			t.Errorf("%s: discovery %v", tt.tenant, doc)
		}
		a := post(t, e, base+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID},
			"client_secret": {dc.Secret}, "scope": {"https://graph.microsoft.com/.default"}})
		if a.status != 200 {
			t.Fatalf("%s: %d %v", tt.tenant, a.status, a.body)
		}
		claims, err := e.VerifyAccessToken(a.body["access_token"].(string))
		if err != nil || claims["tid"] != tt.want || claims["iss"] != "https://sts.windows.net/"+tt.want+"/" {
			t.Errorf("%s: claims %v, %v", tt.tenant, claims, err)
		}
	}
}

// TestGivenCA: an emulator started with Options.CA serves a certificate
// that CA issued, so what trusted an earlier emulator trusts it.
func TestGivenCA(t *testing.T) {
	t.Parallel()
	first := start(t, Options{})
	ca := &tls.Certificate{Certificate: [][]byte{first.ca.cert.Raw}, PrivateKey: first.ca.key}
	second := start(t, Options{CA: ca})
	if !bytes.Equal(first.CACertPEM(), second.CACertPEM()) {
		t.Fatal("CACertPEM is not the given CA")
	}
	// A client that trusts the first emulator's CA only, dialling the
	// second emulator's address.
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(first.CACertPEM())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := client.Get(second.URL() + "/common/discovery/instance?api-version=1.1&authorization_endpoint=" + url.QueryEscape(second.URL()+"/t/oauth2/v2.0/authorize"))
	if err != nil {
		t.Fatalf("the second emulator is not trusted through the first's CA: %v", err)
	}
	resp.Body.Close()
	leaf := &tls.Certificate{Certificate: [][]byte{first.ca.cert.Raw}}
	if _, err := New(Options{CA: leaf}); err == nil {
		t.Error("a CA without its key was accepted")
	}
}
