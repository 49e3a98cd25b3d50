package confidential_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
)

// The emulator stands in for Entra ID so the examples run anywhere.
func emulator() (*entratest.Emulator, entratest.DefaultClient) {
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	return em, em.DefaultClient()
}

func ExampleClient_AcquireTokenForClient() {
	em, app := emulator()
	defer em.Close()

	secret, err := credential.NewSecret(app.Secret)
	if err != nil {
		log.Fatal(err)
	}
	client, err := confidential.New(confidential.Config{
		Authority:  "https://login.microsoftonline.com/contoso.onmicrosoft.com",
		ClientID:   app.ID,
		Credential: secret,
		HTTPClient: em.HTTPClient(), // omit outside tests
	})
	if err != nil {
		log.Fatal(err)
	}
	req := confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}}
	for range 2 {
		tok, err := client.AcquireTokenForClient(context.Background(), req)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(tok.TokenType, "from the cache:", tok.FromCache)
	}
	// Output:
	// Bearer from the cache: false
	// Bearer from the cache: true
}

func ExampleClient_AcquireTokenOnBehalfOf() {
	em, app := emulator()
	defer em.Close()

	cert, err := credential.ParseCertificate(app.CertPEM, app.KeyPEM, credential.CertificateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	client, err := confidential.New(confidential.Config{
		Authority:  "https://login.microsoftonline.com/contoso.onmicrosoft.com",
		ClientID:   app.ID,
		Credential: cert,
		HTTPClient: em.HTTPClient(),
	})
	if err != nil {
		log.Fatal(err)
	}
	// The bearer token a user sent to this API.
	incoming := em.IssueUserToken(entratest.User{Audience: app.ID, Subject: "alice", TenantID: "contoso.onmicrosoft.com"})

	tok, err := client.AcquireTokenOnBehalfOf(context.Background(), incoming, confidential.TokenRequest{
		Scopes: []string{"https://graph.microsoft.com/User.Read"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType, "from the cache:", tok.FromCache)
	// Output: Bearer from the cache: false
}

func Example_errors() {
	em, app := emulator()
	defer em.Close()

	wrong, _ := credential.NewSecret("not-the-secret")
	client, err := confidential.New(confidential.Config{
		Authority:  "https://login.microsoftonline.com/contoso.onmicrosoft.com",
		ClientID:   app.ID,
		Credential: wrong,
		HTTPClient: em.HTTPClient(),
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.AcquireTokenForClient(context.Background(), confidential.TokenRequest{
		Scopes: []string{"https://graph.microsoft.com/.default"},
	})
	var e *entra.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.StatusCode, e.ErrorCodes[0])
	}
	// Output: invalid_client 401 7000215
}
