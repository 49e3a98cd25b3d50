package entratest_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
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
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/internal/csr"
)

var (
	imdsKeyOnce sync.Once
	imdsKey     *rsa.PrivateKey
)

func rsa2048(t *testing.T) *rsa.PrivateKey {
	imdsKeyOnce.Do(func() {
		var err error
		if imdsKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	})
	return imdsKey
}

// platformMetadata asks the emulated IMDS as a client does.
func platformMetadata(t *testing.T, emu *entratest.Emulator, query string) (map[string]any, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, emu.IMDSURL()+"/metadata/identity/getplatformmetadata?"+query, nil)
	req.Header.Set("Metadata", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return body, resp
}

const cuIDJSON = `{"vmId":"00000000-0000-4000-8000-000000000e1a","vmssId":"00000000-0000-4000-8000-000000000e1b"}`

func issueCredential(t *testing.T, emu *entratest.Emulator, query string, header http.Header, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, emu.IMDSURL()+"/metadata/identity/issuecredential?"+query, bytes.NewReader(body))
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func TestIMDSv2PlatformMetadata(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	body, resp := platformMetadata(t, emu, "cred-api-version=2.0")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Server"), "IMDS") {
		t.Fatalf("%d, Server %q", resp.StatusCode, resp.Header.Get("Server"))
	}
	cu, _ := json.Marshal(body["cuId"])
	if string(cu) != cuIDJSON || body["clientId"] != emu.DefaultIdentityClientID() || body["tenantId"] == "" {
		t.Fatalf("body %v", body)
	}
	// A user-assigned identity by client id is that identity.
	body, _ = platformMetadata(t, emu, "cred-api-version=2.0&client_id=abc")
	if body["clientId"] != "abc" {
		t.Fatalf("clientId %v", body["clientId"])
	}
	for _, q := range []string{"", "cred-api-version=1.0", "cred-api-version=2.0&resource=x", "cred-api-version=2.0&client_id=a&object_id=b"} {
		if _, resp := platformMetadata(t, emu, q); resp.StatusCode != 400 {
			t.Errorf("query %q: %d, want 400", q, resp.StatusCode)
		}
	}
	v1 := miStart(t, entratest.Options{IMDSv1Only: true})
	if _, resp := platformMetadata(t, v1, "cred-api-version=2.0"); resp.StatusCode != 404 {
		t.Errorf("IMDS v1 host: %d, want 404", resp.StatusCode)
	}
}

func TestIMDSv2IssueCredential(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{IMDSCertificateLifetime: 48 * time.Hour})
	md, _ := platformMetadata(t, emu, "cred-api-version=2.0")
	clientID, tenant := md["clientId"].(string), md["tenantId"].(string)
	key := rsa2048(t)
	build := func(r csr.Request) []byte {
		der, err := csr.Build(key, r)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	good := csr.Request{ClientID: clientID, TenantID: tenant, CuID: cuIDJSON}
	// A request crypto/x509 makes: PSS-signed but without the attribute.
	plain, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:            pkix.Name{CommonName: clientID},
		SignatureAlgorithm: x509.SHA256WithRSAPSS,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: clientID}}, key)
	if err != nil {
		t.Fatal(err)
	}
	tampered := build(good)
	tampered[len(tampered)-1] ^= 1
	jsonHeader := http.Header{"Metadata": {"true"}, "Content-Type": {"application/json"}}
	csrBody := func(der []byte) []byte {
		b, _ := json.Marshal(map[string]string{"csr": base64.StdEncoding.EncodeToString(der), "attestation_token": "att"})
		return b
	}
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		want   int
	}{
		{"good", jsonHeader, csrBody(build(good)), 200},
		{"no Metadata header", http.Header{"Content-Type": {"application/json"}}, csrBody(build(good)), 400},
		{"not JSON", jsonHeader, []byte("csr=x"), 400},
		{"csr not base64", jsonHeader, []byte(`{"csr":"%%%"}`), 400},
		{"tampered signature", jsonHeader, csrBody(tampered), 400},
		{"PKCS#1 v1.5 signature", jsonHeader, csrBody(pkcs1), 400},
		{"no cuId attribute", jsonHeader, csrBody(plain), 400},
		{"CN of another identity", jsonHeader, csrBody(build(csr.Request{ClientID: "other", TenantID: tenant, CuID: cuIDJSON})), 400},
		{"DC of another tenant", jsonHeader, csrBody(build(csr.Request{ClientID: clientID, TenantID: "other", CuID: cuIDJSON})), 400},
		{"cuId of another VM", jsonHeader, csrBody(build(csr.Request{ClientID: clientID, TenantID: tenant, CuID: `{"vmId":"x"}`})), 400},
		{"cuId not JSON", jsonHeader, csrBody(build(csr.Request{ClientID: clientID, TenantID: tenant, CuID: `vm`})), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := issueCredential(t, emu, "cred-api-version=2.0", tt.header, tt.body)
			if status != tt.want {
				t.Fatalf("status %d, want %d: %v", status, tt.want, out)
			}
			if status != 200 {
				return
			}
			der, _ := base64.StdEncoding.DecodeString(out["certificate"].(string))
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			life := cert.NotAfter.Sub(time.Now())
			if cert.Subject.CommonName != clientID || !cert.PublicKey.(*rsa.PublicKey).Equal(&key.PublicKey) ||
				life < 47*time.Hour || life > 48*time.Hour || out["tenant_id"] != tenant || out["identity_type"] != "SystemAssigned" ||
				out["mtls_authentication_endpoint"] != "https://eastus.mtlsauth.microsoft.com" {
				t.Fatalf("answer %v, certificate for %q, %v left", out, cert.Subject.CommonName, life)
			}
		})
	}
	if issued := emu.IssuedCredentials(); len(issued) != 1 || issued[0].AttestationToken != "att" {
		t.Fatalf("%d issued", len(issued))
	}
}

// The mTLS host gives IMDS certificates mtls_pop tokens, and nothing else.
func TestIMDSv2TokenHost(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	emu := miStart(t, entratest.Options{Now: clock})
	md, _ := platformMetadata(t, emu, "cred-api-version=2.0")
	clientID, tenant := md["clientId"].(string), md["tenantId"].(string)
	key := rsa2048(t)
	der, _ := csr.Build(key, csr.Request{ClientID: clientID, TenantID: tenant, CuID: cuIDJSON})
	b, _ := json.Marshal(map[string]string{"csr": base64.StdEncoding.EncodeToString(der)})
	status, out := issueCredential(t, emu, "cred-api-version=2.0", http.Header{"Metadata": {"true"}, "Content-Type": {"application/json"}}, b)
	if status != 200 {
		t.Fatal(out)
	}
	certDER, _ := base64.StdEncoding.DecodeString(out["certificate"].(string))
	issued := &tls.Certificate{Certificate: [][]byte{certDER}, PrivateKey: key}
	// A certificate of the same key the emulator did not issue.
	self, _ := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: bigOne(), Subject: pkix.Name{CommonName: clientID},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}, &x509.Certificate{SerialNumber: bigOne(), Subject: pkix.Name{CommonName: clientID}}, &key.PublicKey, key)
	foreign := &tls.Certificate{Certificate: [][]byte{self}, PrivateKey: key}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {"https://vault.azure.net/.default"}, "token_type": {"mtls_pop"}}
	post := func(cert *tls.Certificate, tenantPath string, f url.Values) (int, map[string]any) {
		hc := &http.Client{Transport: emu.TransportWithCertificate(cert)}
		resp, err := hc.PostForm("https://eastus.mtlsauth.microsoft.com/"+tenantPath+"/oauth2/v2.0/token", f)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range form {
			f[kk] = vv
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	tests := []struct {
		name   string
		cert   *tls.Certificate
		tenant string
		form   url.Values
		want   int
		code   string
	}{
		{"good", issued, tenant, form, 200, ""},
		{"a certificate the emulator did not issue", foreign, tenant, form, 400, "unauthorized_client"},
		{"bearer", issued, tenant, with("token_type", ""), 400, "invalid_request"},
		{"another client id", issued, tenant, with("client_id", "x"), 401, "invalid_client"},
		{"another tenant", issued, "other", form, 400, "invalid_request"},
		{"a scope without /.default", issued, tenant, with("scope", "https://vault.azure.net/read"), 400, "invalid_scope"},
		{"an assertion as well", issued, tenant, with("client_assertion", "x"), 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := post(tt.cert, tt.tenant, tt.form)
			if status != tt.want || (tt.code != "" && out["error"] != tt.code) {
				t.Fatalf("%d %v, want %d %s", status, out, tt.want, tt.code)
			}
			if status != 200 {
				return
			}
			claims, err := emu.VerifyAccessToken(out["access_token"].(string))
			if err != nil || out["token_type"] != "mtls_pop" {
				t.Fatal(out["token_type"], err)
			}
			cnf, _ := claims["cnf"].(map[string]any)
			if cnf["x5t#S256"] == nil || claims["appid"] != clientID || claims["region"] != "eastus" || claims["aud"] != "https://vault.azure.net" {
				t.Fatalf("claims %v", claims)
			}
		})
	}
	// Expired: the token service says invalid_client, which makes clients mint anew.
	mu.Lock()
	now = now.Add(8 * 24 * time.Hour)
	mu.Unlock()
	if status, out := post(issued, tenant, form); status != 401 || out["error"] != "invalid_client" {
		t.Fatalf("expired certificate: %d %v", status, out)
	}
}

func bigOne() *big.Int { return big.NewInt(1) }
