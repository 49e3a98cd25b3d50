package entratest_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/url"

	"github.com/entra-go/entra/entratest"
)

func ExampleNew() {
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer em.Close()
	app := em.DefaultClient()

	// em.HTTPClient reaches the emulator whatever the host name.
	resp, err := em.HTTPClient().PostForm("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token", url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {app.ID},
		"client_secret": {app.Secret},
		"scope":         {"https://graph.microsoft.com/.default"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	fmt.Println(resp.StatusCode, body.TokenType, body.ExpiresIn, len(em.Requests("token")))
	// Output: 200 Bearer 3600 1
}
