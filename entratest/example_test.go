package entratest_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"time"

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

// A workload on Kubernetes: the cluster's issuer writes the pod's token
// file, and an app registration trusts the pod's service account.
func ExampleEmulator_NewIssuer() {
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer em.Close()
	cluster := em.NewIssuer("cluster")
	em.RegisterClient(entratest.Client{ID: "payments-api", FederatedCredentials: []entratest.FederatedCredential{{
		Issuer: cluster.URL(), Subject: "system:serviceaccount:payments:api", Audience: "api://AzureADTokenExchange",
	}}})
	dir, err := os.MkdirTemp("", "pod")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "azure-identity-token")
	// The kubelet writes the file, and rewrites it before the token expires.
	if err := cluster.WriteTokenFile(file, "system:serviceaccount:payments:api", "api://AzureADTokenExchange", time.Hour); err != nil {
		log.Fatal(err)
	}

	token, err := os.ReadFile(file) // AZURE_FEDERATED_TOKEN_FILE
	if err != nil {
		log.Fatal(err)
	}
	resp, err := em.HTTPClient().PostForm("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token", url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {"payments-api"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {string(token)},
		"scope":                 {"https://graph.microsoft.com/.default"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode, em.Requests("token")[0].ClientAuth)
	// Output: 200 federated
}
