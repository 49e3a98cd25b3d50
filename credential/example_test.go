package credential_test

import (
	"fmt"
	"log"

	"github.com/entra-go/entra/credential"
)

func ExampleLoadCertificate() {
	// A PEM file with the certificate chain and its key, or a PFX file.
	cert, err := credential.LoadCertificate("app.pem", "", credential.CertificateOptions{SendX5C: true})
	if err != nil {
		log.Print(err) // entra.Error with code invalid_credential_material
		return
	}
	fmt.Println(cert.Thumbprint())
}

func ExampleNewSecret() {
	secret, err := credential.NewSecret("my-client-secret")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(secret)
	// Output: credential.Secret{redacted}
}
