package clientauth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/entra-go/entra"
)

// FuzzParseCertificate checks that ParseCertificate never panics, always
// fails with an *entra.Error, and that what it accepts can sign.
func FuzzParseCertificate(f *testing.F) {
	for _, s := range []struct{ cert, key, password string }{
		{"rsa.crt", "rsa-pkcs1.key", ""},
		{"rsa.crt", "rsa-pkcs8.key", ""},
		{"ec.crt", "ec-sec1.key", ""},
		{"ec.crt", "ec-pkcs8.key", ""},
		{"chain.pem", "chain-leaf.key", ""},
		{"chain.pfx", "", fixturePassword},
		{"nopass.pfx", "", ""},
		{"ed25519.pem", "", ""},
		{"rsa.crt", "rsa-encrypted-pkcs1.key", ""},
	} {
		var key []byte
		if s.key != "" {
			key = fixture(f, s.key)
		}
		f.Add(fixture(f, s.cert), key, s.password)
	}
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), []byte(nil), "")
	f.Add([]byte{0x30, 0x82, 0x01}, []byte(nil), "pw")
	f.Add([]byte("-----BEGIN"), []byte("-----BEGIN PRIVATE KEY-----\n"), "")

	f.Fuzz(func(t *testing.T, certData, keyData []byte, password string) {
		c, err := ParseCertificate(certData, keyData, CertificateOptions{Password: password})
		if err != nil {
			if c != nil {
				t.Fatal("a credential and an error")
			}
			var e *entra.Error
			if !errors.As(err, &e) || err != error(e) {
				t.Fatalf("error %T %v is not an *entra.Error", err, err)
			}
			if e.Code != entra.CodeInvalidCredentialMaterial {
				t.Fatalf("code %s", e.Code)
			}
			return
		}
		m, err := c.Material(context.Background(), testRequest(DialectAAD))
		if err != nil || strings.Count(m.Assertion, ".") != 2 {
			t.Fatalf("an accepted certificate cannot sign: %v", err)
		}
	})
}
