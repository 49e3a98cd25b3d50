package credential_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/credential"
)

func ExampleNewSecret() {
	_, err := credential.NewSecret(os.Getenv("UNSET_SECRET_VARIABLE"))
	fmt.Println(entra.ErrorCode(err))
	// Output: invalid_credential_material
}

// selfSigned returns a PEM certificate and key, as a file pair would hold.
func selfSigned(cn string) (certPEM, keyPEM []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		log.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		log.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

func ExampleParseCertificate() {
	certPEM, keyPEM := selfSigned("my-app")
	// SendX5C: the app is registered by subject name and issuer.
	cred, err := credential.ParseCertificate(certPEM, keyPEM, credential.CertificateOptions{SendX5C: true})
	if err != nil {
		log.Fatal(err) // an *entra.Error with code invalid_credential_material
	}
	// Printing a credential shows the subject and thumbprint, never the key.
	fmt.Println(strings.HasPrefix(fmt.Sprint(cred), `credential.Certificate{subject="CN=my-app" x5t#S256=`))
	// Output: true
}

func ExampleCertificateOptions() {
	// No fmt verb and no log/slog handler shows the password.
	fmt.Println(credential.CertificateOptions{Password: os.Getenv("HOME"), SendX5C: true})
	// Output: credential.CertificateOptions{Password:redacted SendX5C:true}
}

func ExampleNewAssertion() {
	// A federated credential: the assertion is a token another issuer
	// signed, read anew for each request (it rotates).
	cred := credential.NewAssertion(func(ctx context.Context, req credential.AssertionRequest) (string, error) {
		token, err := os.ReadFile("/var/run/secrets/tokens/federated-token")
		return strings.TrimSpace(string(token)), err
	})
	_ = cred // confidential.Config{Credential: cred, ...}
}

func ExampleNewBoundAssertion() {
	// An assertion bound to a certificate that rotates: requests present
	// the current one over mutual TLS, and tokens are cached per
	// certificate, so a new certificate never gets the old one's tokens.
	certPEM, keyPEM := selfSigned("bound")
	current, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		log.Fatal(err)
	}
	cred := credential.NewBoundAssertion(
		func(context.Context) (*tls.Certificate, error) { return &current, nil },
		func(ctx context.Context, req credential.AssertionRequest) (string, error) {
			return signedElsewhere(ctx, req.TokenEndpoint) // e.g. a key vault signs it
		})
	_ = cred
}

func signedElsewhere(context.Context, string) (string, error) { return "eyJ...", nil }
