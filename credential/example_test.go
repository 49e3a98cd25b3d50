package credential_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"math/big"
	"strings"
	"time"

	"github.com/entra-go/entra/credential"
)

func ExampleLoadCertificate() {
	// A PEM certificate chain (any order) and its PEM key. With keyPath ""
	// the key is read from the certificate file: a PEM bundle or a PFX.
	cert, err := credential.LoadCertificate("testdata/chain.pem", "testdata/chain-leaf.key",
		credential.CertificateOptions{SendX5C: true}) // SendX5C: the app is registered by subject name and issuer
	if err != nil {
		log.Fatal(err) // an *entra.Error with code invalid_credential_material
	}
	for _, c := range cert.Chain() {
		fmt.Println(c.Subject.CommonName)
	}
	// Output:
	// entra-test-leaf
	// entra-test-intermediate
	// entra-test-root
}

func ExampleLoadCertificate_pfx() {
	// In production the password comes from a secret store, not the source.
	cert, err := credential.LoadCertificate("testdata/chain.pfx", "",
		credential.CertificateOptions{Password: "test-password"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cert.Leaf().Subject.CommonName, len(cert.Chain()))
	// Output: entra-test-leaf 3
}

func ExampleNewCertificate() {
	// Any crypto.Signer works: here an in-memory key, but equally a key
	// held by an HSM or a key vault.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "my-app"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		log.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	cert, err := credential.NewCertificate([]*x509.Certificate{leaf}, key, credential.CertificateOptions{})
	if err != nil {
		log.Fatal(err)
	}

	m, err := cert.Material(context.Background(), credential.Request{
		ClientID:      "00000000-0000-0000-0000-000000000001",
		TokenEndpoint: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
		Dialect:       credential.DialectAAD,
	})
	if err != nil {
		log.Fatal(err)
	}
	var header struct{ Alg, Typ string }
	h, _ := base64.RawURLEncoding.DecodeString(strings.Split(m.Assertion, ".")[0])
	if err := json.Unmarshal(h, &header); err != nil {
		log.Fatal(err)
	}
	fmt.Println(m, header.Alg, header.Typ)
	// Output: credential.Material{client_assertion} ES256 JWT
}

func ExampleNewSecret() {
	secret, err := credential.NewSecret("my-client-secret")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(secret) // never prints the secret
	// Output: credential.Secret{redacted}
}

func ExampleAssertionFunc() {
	// The assertion comes from elsewhere, for example a workload identity
	// token file that the platform renews.
	cred := credential.AssertionFunc(func(ctx context.Context, req credential.AssertionRequest) (credential.Assertion, error) {
		jwt, err := readFederatedToken(ctx)
		if err != nil {
			return credential.Assertion{}, err
		}
		return credential.Assertion{JWT: jwt}, nil
	})

	m, err := cred.Material(context.Background(), credential.Request{
		ClientID:      "00000000-0000-0000-0000-000000000001",
		TokenEndpoint: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m) // never prints the assertion
	// Output: credential.Material{client_assertion}
}

// readFederatedToken stands for reading e.g. $AZURE_FEDERATED_TOKEN_FILE.
func readFederatedToken(context.Context) (string, error) {
	return "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl", nil
}
