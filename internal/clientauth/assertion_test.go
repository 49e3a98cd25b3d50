package clientauth

import (
	"context"
	"crypto"
	"crypto/x509"
	"io"
	"sync/atomic"
	"testing"

	"github.com/entra-go/entra"
)

// breakingSigner signs right the first time and returns garbage after.
type breakingSigner struct {
	crypto.Signer
	signed atomic.Int32
}

func (b *breakingSigner) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if b.signed.Add(1) > 1 {
		return []byte("garbage"), nil
	}
	return b.Signer.Sign(rnd, digest, opts)
}

// TestSignerCheckedOnce: only the first signature with each algorithm is
// verified, so later signing pays no verification; a signer that breaks
// after a good first signature is left to the token service to refuse.
func TestSignerCheckedOnce(t *testing.T) {
	t.Parallel()
	key := fixtureRSAKey(t)
	signer := &breakingSigner{Signer: key}
	c, err := NewCertificate([]*x509.Certificate{validCert(t, key, "app")}, signer, CertificateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := testRequest(DialectAAD)
	if _, err := c.Material(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	later := first
	later.TokenEndpoint = "https://login.microsoftonline.com/other/oauth2/v2.0/token"
	if _, err := c.Material(context.Background(), later); err != nil {
		t.Fatalf("a later PS256 signature was verified: %v", err)
	}
	// RS256 is another algorithm: its first signature is checked.
	if _, err := c.Material(context.Background(), testRequest(DialectADFS)); entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial {
		t.Fatalf("the first RS256 signature was not verified: %v", err)
	}
}
