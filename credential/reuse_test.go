package credential_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"io"
	"sync/atomic"
	"testing"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
)

// countingSigner counts the signatures its key makes, as a key vault's
// bill would.
type countingSigner struct {
	crypto.Signer
	signed atomic.Int32
}

func (c *countingSigner) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.signed.Add(1)
	return c.Signer.Sign(rnd, digest, opts)
}

// TestCertificateAssertionReusedEndToEnd: a confidential client's token
// requests of the same minutes to one token endpoint (another resource, a
// forced refresh) send one assertion, signed once, and the emulator, like
// Entra ID, accepts it each time; another tenant's endpoint gets its own.
func TestCertificateAssertionReusedEndToEnd(t *testing.T) {
	t.Parallel()
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	app := em.DefaultClient()
	certBlock, _ := pem.Decode(app.CertPEM)
	keyBlock, _ := pem.Decode(app.KeyPEM)
	leaf, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	signer := &countingSigner{Signer: key.(crypto.Signer)}
	cred, err := credential.NewCertificate([]*x509.Certificate{leaf}, signer, credential.CertificateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := confidential.New(confidential.Config{
		Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com", ClientID: app.ID,
		Credential: cred, HTTPClient: em.HTTPClient(),
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	graph := []string{"https://graph.microsoft.com/.default"}
	misses := []confidential.TokenRequest{
		{Scopes: graph},
		{Scopes: []string{"https://vault.azure.net/.default"}},
		{Scopes: graph, ForceRefresh: true},
		{Scopes: graph, Tenant: "fabrikam.onmicrosoft.com"},
	}
	for _, req := range misses {
		if tok, err := client.AcquireTokenForClient(ctx, req); err != nil || tok.FromCache {
			t.Fatalf("%v: from the cache %t, %v", req.Scopes, tok.FromCache, err)
		}
	}
	sent := em.Requests("token")
	if len(sent) != len(misses) {
		t.Fatalf("%d token requests, want %d", len(sent), len(misses))
	}
	first := sent[0].Form.Get("client_assertion")
	for i, r := range sent[:3] {
		if r.Form.Get("client_assertion") != first {
			t.Fatalf("request %d to the same endpoint sent another assertion", i)
		}
	}
	if sent[3].Form.Get("client_assertion") == first {
		t.Fatal("another tenant's token endpoint got an assertion for the first one")
	}
	if signer.signed.Load() != 2 {
		t.Fatalf("%d signatures, want 2 (one per token endpoint)", signer.signed.Load())
	}
}
