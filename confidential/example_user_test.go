package confidential_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
)

// A web app signs a user in with the authorization code flow and PKCE,
// then gets their tokens silently.
func ExampleClient_AcquireTokenByAuthCode() {
	em, app := emulator()
	defer em.Close()
	ctx := context.Background()
	secret, _ := credential.NewSecret(app.Secret)
	client, err := confidential.New(confidential.Config{
		Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com", ClientID: app.ID,
		Credential: secret, HTTPClient: em.HTTPClient(),
	})
	if err != nil {
		log.Fatal(err)
	}
	scopes := []string{"User.Read"}

	// 1. Send the user to the sign-in page; keep State, Nonce and
	// CodeVerifier in their session.
	auth, err := client.AuthCodeURL(ctx, confidential.AuthorizationRequest{RedirectURI: entratest.DefaultRedirectURI, Scopes: scopes})
	if err != nil {
		log.Fatal(err)
	}
	// 2. The user comes back to the redirect URI (the emulator signs its
	// default user in at once).
	back, err := em.SignIn(ctx, auth.URL)
	if err != nil {
		log.Fatal(err)
	}
	code, err := confidential.CodeFromRedirect(auth.State, back.Query())
	if err != nil {
		log.Fatal(err) // state_mismatch: refuse the request
	}
	// 3. Redeem the code.
	tok, err := client.AcquireTokenByAuthCode(ctx, confidential.AuthCode{
		Code: code, RedirectURI: entratest.DefaultRedirectURI, CodeVerifier: auth.CodeVerifier, Nonce: auth.Nonce,
	}, confidential.TokenRequest{Scopes: scopes})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Account.Username, "from the cache:", tok.FromCache)

	// 4. Later requests: silent, from the cache or the refresh token.
	again, err := client.AcquireTokenSilent(ctx, tok.Account, confidential.TokenRequest{Scopes: scopes})
	if err != nil {
		log.Fatal(err) // interaction_required: sign the user in again
	}
	fmt.Println("from the cache:", again.FromCache)
	// Output:
	// ada@contoso.example from the cache: false
	// from the cache: true
}

// An mTLS proof-of-possession token is bound to the client certificate,
// which also authenticates the client in the TLS handshake.
func ExampleTokenRequest_mTLSPoP() {
	em, app := emulator()
	defer em.Close()
	cert, err := credential.ParseCertificate(app.CertPEM, app.KeyPEM, credential.CertificateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	client, err := confidential.New(confidential.Config{
		Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com", ClientID: app.ID,
		Credential: cert, HTTPClient: em.HTTPClient(),
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := client.AcquireTokenForClient(context.Background(), confidential.TokenRequest{
		Scopes: []string{"https://vault.azure.net/.default"}, MTLSPoP: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType, strings.SplitN(tok.AuthorizationHeader(), " ", 2)[0])
	fmt.Println(tok.TokenEndpoint)
	fmt.Println(tok.BindingCertificate.Leaf.Subject.CommonName)
	// Output:
	// mtls_pop mtls_pop
	// https://mtlsauth.microsoft.com/contoso.onmicrosoft.com/oauth2/v2.0/token
	// entra emulator default client
}
