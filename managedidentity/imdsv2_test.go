package managedidentity

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
)

var imdsHeader = http.Header{"Server": {"IMDS/150.870.65.1854"}}

func TestParsePlatformMetadata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header http.Header
		body   string
		cuID   string // "" for an error
	}{
		{"complete", imdsHeader, `{"cuId": {"vmId": "v", "vmssId": "s"}, "clientId": "c", "tenantId": "t", "attestationEndpoint": "https://a"}`, `{"vmId":"v","vmssId":"s"}`},
		{"vmssId only", imdsHeader, `{"cuId":{"vmssId":"s"},"clientId":"c","tenantId":"t"}`, `{"vmssId":"s"}`},
		{"not from IMDS", http.Header{"Server": {"nginx"}}, `{"cuId":{"vmId":"v"},"clientId":"c","tenantId":"t"}`, ""},
		{"no cuId", imdsHeader, `{"clientId":"c","tenantId":"t"}`, ""},
		{"empty cuId", imdsHeader, `{"cuId":{},"clientId":"c","tenantId":"t"}`, ""},
		{"cuId not an object", imdsHeader, `{"cuId":"v","clientId":"c","tenantId":"t"}`, ""},
		{"no client id", imdsHeader, `{"cuId":{"vmId":"v"},"tenantId":"t"}`, ""},
		{"tenant with a slash", imdsHeader, `{"cuId":{"vmId":"v"},"clientId":"c","tenantId":"t/../x"}`, ""},
		{"not JSON", imdsHeader, `<html>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := parsePlatformMetadata(tt.header, []byte(tt.body))
			if tt.cuID == "" {
				if entra.ErrorCode(err) != entra.CodeInvalidResponse {
					t.Fatalf("err = %v, want invalid_response", err)
				}
				return
			}
			if err != nil || md.cuID != tt.cuID || md.clientID != "c" || md.tenantID != "t" {
				t.Fatalf("got %+v, %v", md, err)
			}
		})
	}
}

var (
	credKeyOnce sync.Once
	credKey     *rsa.PrivateKey
)

func testCredentialKey() *rsa.PrivateKey {
	credKeyOnce.Do(func() { credKey, _ = rsa.GenerateKey(rand.Reader, 2048) })
	return credKey
}

// credentialBody is an issuecredential answer for a certificate of key.
func credentialBody(t testing.TB, key *rsa.PrivateKey, cn string, edit func(map[string]string)) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(7 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{"client_id": "c", "tenant_id": "t", "certificate": base64.StdEncoding.EncodeToString(der),
		"identity_type": "SystemAssigned", "mtls_authentication_endpoint": "https://eastus.mtlsauth.microsoft.com"}
	if edit != nil {
		edit(m)
	}
	b, _ := json.Marshal(m)
	return b
}

func TestParseCredential(t *testing.T) {
	t.Parallel()
	key := testCredentialKey()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name string
		body []byte
		ok   bool
	}{
		{"complete", credentialBody(t, key, "c", nil), true},
		{"another key", credentialBody(t, other, "c", nil), false},
		{"another identity", credentialBody(t, key, "d", nil), false},
		{"no identity type", credentialBody(t, key, "c", func(m map[string]string) { delete(m, "identity_type") }), false},
		{"plain http endpoint", credentialBody(t, key, "c", func(m map[string]string) { m["mtls_authentication_endpoint"] = "http://eastus.mtlsauth.microsoft.com" }), false},
		{"endpoint with a query", credentialBody(t, key, "c", func(m map[string]string) { m["mtls_authentication_endpoint"] += "?x=1" }), false},
		{"certificate not base64", credentialBody(t, key, "c", func(m map[string]string) { m["certificate"] = "%%" }), false},
		{"certificate not DER", credentialBody(t, key, "c", func(m map[string]string) { m["certificate"] = "AAAA" }), false},
		{"not JSON", []byte("nope"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseCredential(tt.body, key)
			if !tt.ok {
				if entra.ErrorCode(err) != entra.CodeInvalidResponse {
					t.Fatalf("err = %v, want invalid_response", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.tokenURL != "https://eastus.mtlsauth.microsoft.com/t/oauth2/v2.0/token" || c.clientID != "c" ||
				len(c.thumbprint) != 43 || c.tls.PrivateKey != key {
				t.Fatalf("credential %+v", c)
			}
		})
	}
}

func TestCertificateRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{&entra.Error{Code: "invalid_client"}, true},
		{&entra.Error{Code: "invalid_client", ErrorCodes: []int{1000610}}, true},
		{&entra.Error{Code: "invalid_client", ErrorCodes: []int{1000614}}, true},
		{&entra.Error{Code: "invalid_client", ErrorCodes: []int{1000615}}, false},
		{&entra.Error{Code: "invalid_client", ErrorCodes: []int{700027}}, false},
		{&entra.Error{Code: entra.CodeTransport}, true},
		{&entra.Error{Code: entra.CodeTimeout}, false},
		{&entra.Error{Code: "invalid_grant"}, false},
	}
	for _, tt := range tests {
		if got := certificateRefused(tt.err); got != tt.want {
			t.Errorf("certificateRefused(%v %v) = %t", tt.err, tt.err.(*entra.Error).ErrorCodes, got)
		}
	}
}

func FuzzParsePlatformMetadata(f *testing.F) {
	f.Add([]byte(`{"cuId":{"vmId":"v","vmssId":"s"},"clientId":"c","tenantId":"t","attestationEndpoint":"https://a"}`))
	f.Add([]byte(`{"cuId":{"vmId":1},"clientId":"c"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		md, err := parsePlatformMetadata(imdsHeader, body)
		if err != nil {
			if entra.ErrorCode(err) != entra.CodeInvalidResponse {
				t.Fatalf("code %q", entra.ErrorCode(err))
			}
			return
		}
		if !printable(md.clientID) || !printable(md.tenantID) || !json.Valid([]byte(md.cuID)) || strings.ContainsAny(md.cuID, "\n\t") {
			t.Fatalf("accepted %+v", md)
		}
	})
}

func FuzzParseCredential(f *testing.F) {
	key := testCredentialKey()
	f.Add(credentialBody(f, key, "c", nil))
	f.Add([]byte(`{"client_id":"c","tenant_id":"t","certificate":"AAAA","identity_type":"x","mtls_authentication_endpoint":"https://h"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseCredential(body, key)
		if err != nil {
			if entra.ErrorCode(err) != entra.CodeInvalidResponse {
				t.Fatalf("code %q", entra.ErrorCode(err))
			}
			return
		}
		if !c.leaf.PublicKey.(*rsa.PublicKey).Equal(&key.PublicKey) || !strings.HasPrefix(c.tokenURL, "https://") {
			t.Fatalf("accepted %+v", c)
		}
	})
}
