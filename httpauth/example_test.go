package httpauth_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/httpauth"
)

func ExampleTransport() {
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer em.Close()
	secret, _ := credential.NewSecret(em.DefaultClient().Secret)
	app, err := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
		ClientID: em.DefaultClient().ID, Credential: secret, HTTPClient: em.HTTPClient()})
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "scheme:", r.Header.Get("Authorization")[:6])
	}))
	defer api.Close()

	// Every request carries a token; a CAE challenge is answered once.
	client := &http.Client{Transport: &httpauth.Transport{
		Token: httpauth.ForClient(app, confidential.TokenRequest{Scopes: []string{"api://my-api/.default"}}),
	}}
	resp, err := client.Get(api.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output: scheme: Bearer
}
