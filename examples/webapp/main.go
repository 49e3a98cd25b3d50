// Command webapp is a sample web app on this library: it signs its users
// in with the authorization code flow (PKCE, state and nonce kept in an
// encrypted session cookie), shows who is signed in, calls a downstream
// API as the user through httpauth.Transport (which answers a CAE
// challenge), and signs out.
//
//	go run .                      # on an embedded emulator, at http://localhost:8080
//
// On real Microsoft Entra ID, set:
//
//	ENTRA_AUTHORITY       https://login.microsoftonline.com/{tenant}
//	ENTRA_CLIENT_ID       the app registration's client id
//	ENTRA_CLIENT_SECRET   its secret (or ENTRA_CLIENT_CERT: a PEM or PFX file, with ENTRA_CLIENT_CERT_MTLS=true
//	                      to present it over mutual TLS)
//	ENTRA_REDIRECT_URI    http://localhost:8080/callback, registered as a Web redirect URI
//	API_URL, API_SCOPE    the downstream API and its delegated scope (default: Microsoft Graph's /me, User.Read)
package main

import (
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strconv"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to serve the app on")
	flag.Parse()
	a, stop, err := setup(os.Getenv, "http://"+*addr+"/callback")
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	fmt.Printf("entra web app sample on http://%s\n", *addr)
	log.Fatal(http.ListenAndServe(*addr, a.routes()))
}

// setup builds the app: on real Entra ID when ENTRA_AUTHORITY is set,
// else on an embedded emulator (whose protected API is the downstream
// API). stop releases what it started.
func setup(getenv func(string) string, redirectURI string) (*app, func(), error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sessions, err := newSessions(nil, false)
	if err != nil {
		return nil, nil, err
	}
	if getenv("ENTRA_AUTHORITY") != "" {
		a, err := fromEnvironment(getenv, logger)
		if err != nil {
			return nil, nil, err
		}
		a.sessions = sessions
		return a, func() { a.client.Close() }, nil
	}
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		return nil, nil, err
	}
	dc := em.DefaultClient()
	em.RegisterClient(entratest.Client{ID: dc.ID, Secret: dc.Secret, RedirectURIs: []string{redirectURI}})
	secret, err := credential.NewSecret(dc.Secret)
	if err != nil {
		em.Close()
		return nil, nil, err
	}
	// The browser reaches the emulator as localhost (its certificate is
	// the emulator CA's: a test browser ignores that, a person clicks through).
	client, err := confidential.New(confidential.Config{Authority: em.URL() + "/contoso.onmicrosoft.com", ClientID: dc.ID,
		Credential: secret, Capabilities: []string{"cp1"}, HTTPClient: em.HTTPClient(), Logger: logger})
	if err != nil {
		em.Close()
		return nil, nil, err
	}
	a := &app{client: client, redirectURI: redirectURI, apiURL: em.ResourceURL() + "/me",
		apiScopes: []string{entratest.ResourceAudience + "/access_as_user"}, sessions: sessions, base: em.Transport(), logger: logger,
		emulator: em}
	return a, func() { client.Close(); em.Close() }, nil
}

// fromEnvironment configures the app for real Microsoft Entra ID.
func fromEnvironment(getenv func(string) string, logger *slog.Logger) (*app, error) {
	// cp1: the app answers CAE claims challenges (httpauth.Transport does).
	cfg := confidential.Config{Authority: getenv("ENTRA_AUTHORITY"), ClientID: getenv("ENTRA_CLIENT_ID"),
		Capabilities: []string{"cp1"}, Logger: logger}
	var err error
	switch {
	case getenv("ENTRA_CLIENT_CERT") != "":
		cfg.Credential, err = credential.LoadCertificate(getenv("ENTRA_CLIENT_CERT"), "", credential.CertificateOptions{})
		cfg.SendCertificateOverMTLS, _ = strconv.ParseBool(getenv("ENTRA_CLIENT_CERT_MTLS"))
	default:
		cfg.Credential, err = credential.NewSecret(getenv("ENTRA_CLIENT_SECRET"))
	}
	if err != nil {
		return nil, err
	}
	client, err := confidential.New(cfg)
	if err != nil {
		return nil, err
	}
	apiURL, scope := getenv("API_URL"), getenv("API_SCOPE")
	if apiURL == "" {
		apiURL, scope = "https://graph.microsoft.com/v1.0/me", "https://graph.microsoft.com/User.Read"
	}
	redirect := getenv("ENTRA_REDIRECT_URI")
	if redirect == "" {
		redirect = "http://localhost:8080/callback"
	}
	return &app{client: client, redirectURI: redirect, apiURL: apiURL, apiScopes: []string{scope},
		base: http.DefaultTransport.(*http.Transport), logger: logger}, nil
}
