package credential

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/jws"
)

func selfSigned(t *testing.T, key crypto.Signer, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func pemOf(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }

var (
	valid = [2]time.Time{time.Now().Add(-time.Hour), time.Now().Add(time.Hour)}
)

func TestParseCertificate(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	weakKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaCert := selfSigned(t, rsaKey, valid[0], valid[1])
	ecCert := selfSigned(t, ecKey, valid[0], valid[1])
	otherCert := selfSigned(t, otherKey, valid[0], valid[1])
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	sec1, _ := x509.MarshalECPrivateKey(ecKey)
	ed8, _ := x509.MarshalPKCS8PrivateKey(edKey)
	pfx, err := pkcs12.Modern.Encode(rsaKey, rsaCert, []*x509.Certificate{otherCert}, "pw")
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pemOf("CERTIFICATE", rsaCert.Raw)
	pkcs1PEM := pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))
	join := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name      string
		cert, key []byte
		password  string
		wantErr   string
		wantChain int
	}{
		{name: "PKCS#1 in one file", cert: join(certPEM, pkcs1PEM), wantChain: 1},
		{name: "PKCS#8 in a second file", cert: certPEM, key: pemOf("PRIVATE KEY", pkcs8), wantChain: 1},
		{name: "EC SEC 1", cert: join(pemOf("CERTIFICATE", ecCert.Raw), pemOf("EC PRIVATE KEY", sec1)), wantChain: 1},
		{name: "chain in any order", cert: join(pemOf("CERTIFICATE", otherCert.Raw), certPEM, pkcs1PEM), wantChain: 2},
		{name: "PKCS#12", cert: pfx, password: "pw", wantChain: 2},
		{name: "PKCS#12 wrong password", cert: pfx, password: "nope", wantErr: "password is wrong"},
		{name: "garbage", cert: []byte("\x30\x82garbage"), wantErr: "neither PEM nor"},
		{name: "empty", cert: nil, wantErr: "empty"},
		{name: "truncated PEM", cert: certPEM[:len(certPEM)/2], wantErr: "no PEM certificate or key"},
		{name: "no key", cert: certPEM, wantErr: "no private key"},
		{name: "key does not match", cert: join(pemOf("CERTIFICATE", otherCert.Raw), pkcs1PEM), wantErr: "does not match"},
		{name: "ed25519", cert: join(certPEM, pemOf("PRIVATE KEY", ed8)), wantErr: "unsupported private key type"},
		{name: "encrypted PEM", cert: join(certPEM, pemOf("ENCRYPTED PRIVATE KEY", []byte{1})), wantErr: "encrypted PEM keys"},
		{name: "RSA 1024", cert: join(pemOf("CERTIFICATE", selfSigned(t, weakKey, valid[0], valid[1]).Raw), pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(weakKey))), wantErr: "at least 2048"},
		{name: "expired", cert: join(pemOf("CERTIFICATE", selfSigned(t, rsaKey, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)).Raw), pkcs1PEM), wantErr: "not now"},
		{name: "not yet valid", cert: join(pemOf("CERTIFICATE", selfSigned(t, rsaKey, time.Now().Add(24*time.Hour), time.Now().Add(48*time.Hour)).Raw), pkcs1PEM), wantErr: "not now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCertificate(tt.cert, tt.key, CertificateOptions{Password: tt.password})
			if tt.wantErr != "" {
				if entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want invalid_credential_material containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Chain()) != tt.wantChain {
				t.Fatalf("chain of %d, want %d", len(c.Chain()), tt.wantChain)
			}
		})
	}
}

func TestLoadCertificateUnreadable(t *testing.T) {
	_, err := LoadCertificate(filepath.Join(t.TempDir(), "missing.pem"), "", CertificateOptions{})
	if entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial || !strings.Contains(err.Error(), "cannot read the certificate file") {
		t.Fatalf("got %v", err)
	}
}

func TestAssertion(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name    string
		key     crypto.Signer
		dialect Dialect
		x5c     bool
		alg     string
		thumb   string
	}{
		{"AAD RSA", rsaKey, DialectAAD, false, "PS256", "x5t#S256"},
		{"AAD EC with x5c", ecKey, DialectAAD, true, "ES256", "x5t#S256"},
		{"ADFS RSA", rsaKey, DialectADFS, false, "RS256", "x5t"},
		{"OIDC RSA", rsaKey, DialectOIDC, false, "RS256", "x5t#S256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := selfSigned(t, tt.key, valid[0], valid[1])
			c, err := NewCertificate([]*x509.Certificate{leaf}, tt.key, CertificateOptions{SendX5C: tt.x5c})
			if err != nil {
				t.Fatal(err)
			}
			req := Request{ClientID: "client", TokenEndpoint: "https://login.microsoftonline.com/t/oauth2/v2.0/token", Dialect: tt.dialect}
			m1, err := c.Material(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			m2, _ := c.Material(context.Background(), req)
			tok, err := jws.Parse(m1.Assertion)
			if err != nil {
				t.Fatal(err)
			}
			if err := tok.Verify(tt.key.Public(), tt.alg); err != nil {
				t.Fatalf("signature: %v", err)
			}
			if tok.HeaderString("typ") != "JWT" || tok.HeaderString(tt.thumb) == "" {
				t.Fatalf("header %v", tok.Header)
			}
			if tt.thumb == "x5t#S256" && tok.HeaderString("x5t#S256") != c.Thumbprint() {
				t.Fatal("x5t#S256 is not the certificate's")
			}
			if x5c, _ := tok.Header["x5c"].([]any); tt.x5c != (len(x5c) == 1) ||
				(tt.x5c && x5c[0] != base64.StdEncoding.EncodeToString(leaf.Raw)) {
				t.Fatalf("x5c %v", tok.Header["x5c"])
			}
			var claims struct {
				Aud, Iss, Sub, Jti string
				Nbf, Exp, Iat      int64
			}
			if err := json.Unmarshal(tok.Payload, &claims); err != nil {
				t.Fatal(err)
			}
			if claims.Aud != req.TokenEndpoint || claims.Iss != "client" || claims.Sub != "client" || claims.Jti == "" ||
				claims.Exp-claims.Nbf > 600 || claims.Exp <= time.Now().Unix() {
				t.Fatalf("claims %+v", claims)
			}
			tok2, _ := jws.Parse(m2.Assertion)
			var claims2 struct{ Jti string }
			json.Unmarshal(tok2.Payload, &claims2)
			if claims2.Jti == claims.Jti {
				t.Fatal("jti reused")
			}
			// IncludeX5C forces the chain in.
			req.IncludeX5C = true
			m3, _ := c.Material(context.Background(), req)
			tok3, _ := jws.Parse(m3.Assertion)
			if tok3.Header["x5c"] == nil {
				t.Fatal("IncludeX5C ignored")
			}
		})
	}
}

func TestNothingSecretIsPrinted(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	leaf := selfSigned(t, key, valid[0], valid[1])
	c, _ := NewCertificate([]*x509.Certificate{leaf}, key, CertificateOptions{Password: "pfx-password-123"})
	m, _ := c.Material(context.Background(), Request{ClientID: "c", TokenEndpoint: "https://x/t"})
	s, _ := NewSecret("client-secret-456")
	a := Assertion{JWT: "assertion-789"}
	printed := fmt.Sprintf("%v %+v %#v %s %v %+v %#v %v %#v %v %#v", c, c, c, s, s, s, s, a, a, m, m)
	keyDER := x509.MarshalPKCS1PrivateKey(key)
	for _, secret := range []string{"pfx-password-123", "client-secret-456", "assertion-789", m.Assertion, base64.StdEncoding.EncodeToString(keyDER)[:40], key.D.String()[:20]} {
		if strings.Contains(printed, secret) {
			t.Errorf("printed output contains %.16q", secret)
		}
	}
}

func TestSecretAndCallback(t *testing.T) {
	if _, err := NewSecret("  "); entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial {
		t.Fatalf("blank secret: %v", err)
	}
	empty := AssertionFunc(func(context.Context, AssertionRequest) (Assertion, error) { return Assertion{}, nil })
	if _, err := empty.Material(context.Background(), Request{}); entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial {
		t.Fatalf("empty assertion: %v", err)
	}
	failing := AssertionFunc(func(context.Context, AssertionRequest) (Assertion, error) { return Assertion{}, os.ErrDeadlineExceeded })
	if _, err := failing.Material(context.Background(), Request{}); entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial {
		t.Fatalf("failing callback: %v", err)
	}
}

func FuzzParseCertificate(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), "")
	f.Add([]byte{0x30, 0x82, 0x01}, "pw")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		if _, err := ParseCertificate(data, nil, CertificateOptions{Password: password}); err != nil && entra.ErrorCode(err) == "" {
			t.Fatalf("error %v is not an *entra.Error", err)
		}
	})
}
