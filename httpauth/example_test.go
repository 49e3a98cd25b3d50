package httpauth_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/httpauth"
)

// The emulator's protected API stands for Graph, Key Vault or your own
// API: it accepts an mTLS PoP token only over a connection that presents
// the certificate the token is bound to, which the Transport does.
func ExampleTransport() {
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer em.Close()
	dc := em.DefaultClient()
	cert, err := credential.ParseCertificate(dc.CertPEM, dc.KeyPEM, credential.CertificateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	app, err := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
		ClientID: dc.ID, Credential: cert, HTTPClient: em.HTTPClient()})
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()

	// Every request carries a token; a CAE challenge is answered once.
	client := &http.Client{Transport: &httpauth.Transport{
		Token: httpauth.ForClient(app, confidential.TokenRequest{Scopes: []string{entratest.ResourceAudience + "/.default"}, MTLSPoP: true}),
		Base:  em.Transport(), // trusts the emulator; nil means http.DefaultTransport
	}}
	resp, err := client.Get(em.ResourceURL() + "/items")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var caller struct {
		TokenType string `json:"token_type"`
		Bound     bool   `json:"bound"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&caller); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, caller.TokenType, "bound:", caller.Bound)
	// Output: 200 OK pop bound: true
}
