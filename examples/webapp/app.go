package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/httpauth"
)

// app is a web app that signs its users in with the authorization code
// flow (PKCE, state and nonce), shows who is signed in, and calls a
// downstream API with the user's token through httpauth.Transport.
type app struct {
	client      *confidential.Client
	redirectURI string
	apiURL      string
	apiScopes   []string
	sessions    *sessions
	base        *http.Transport // for the downstream API
	logger      *slog.Logger
	// emulator is the embedded emulator the app runs on, if it does.
	emulator *entratest.Emulator
}

// signInScopes are asked for at sign-in; the downstream API's token is
// then obtained silently, with the refresh token.
var signInScopes = []string{"User.Read"}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /signin", a.signIn)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("POST /call-api", a.callAPI)
	mux.HandleFunc("POST /signout", a.signOut)
	return mux
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>entra web app sample</title></head>
<body>
{{if .User}}
<p id="user">Signed in as <b>{{.User}}</b></p>
<form method="post" action="/call-api"><button id="call-api" type="submit">Call the API</button></form>
{{if .API}}<pre id="api-answer">{{.API}}</pre>{{end}}
<form method="post" action="/signout"><button id="signout" type="submit">Sign out</button></form>
{{else}}
<p>Not signed in.</p>
<a id="signin" href="/signin">Sign in</a>
{{end}}
{{if .Error}}<p id="error">{{.Error}}</p>{{end}}
</body></html>`))

type view struct{ User, API, Error string }

func (a *app) render(w http.ResponseWriter, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, v); err != nil {
		a.logger.Warn("render", "error", err)
	}
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	s := a.sessions.get(r)
	a.render(w, view{User: s.Username})
}

// signIn sends the user to the sign-in page, keeping state, nonce and the
// PKCE verifier in the (encrypted) session cookie.
func (a *app) signIn(w http.ResponseWriter, r *http.Request) {
	auth, err := a.client.AuthCodeURL(r.Context(), confidential.AuthorizationRequest{RedirectURI: a.redirectURI, Scopes: signInScopes})
	if err != nil {
		a.fail(w, err)
		return
	}
	a.sessions.set(w, session{State: auth.State, Nonce: auth.Nonce, Verifier: auth.CodeVerifier})
	http.Redirect(w, r, auth.URL, http.StatusFound)
}

// callback redeems the code the sign-in page sent back.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	s := a.sessions.get(r)
	code, err := confidential.CodeFromRedirect(s.State, r.URL.Query()) // state_mismatch for a forged redirect
	if err != nil {
		a.fail(w, err)
		return
	}
	tok, err := a.client.AcquireTokenByAuthCode(r.Context(), confidential.AuthCode{Code: code, RedirectURI: a.redirectURI,
		CodeVerifier: s.Verifier, Nonce: s.Nonce}, confidential.TokenRequest{Scopes: signInScopes})
	if err != nil {
		a.fail(w, err)
		return
	}
	a.sessions.set(w, session{Account: tok.Account.HomeAccountID, Username: tok.Account.Username})
	http.Redirect(w, r, "/", http.StatusFound)
}

// callAPI calls the downstream API as the signed-in user: the transport
// gets the user's token silently (cached, or through the refresh token)
// and answers a CAE challenge once.
func (a *app) callAPI(w http.ResponseWriter, r *http.Request) {
	s := a.sessions.get(r)
	if s.Account == "" {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	account := &entra.Account{HomeAccountID: s.Account}
	token := func(ctx context.Context, claims string) (entra.Token, error) {
		return a.client.AcquireTokenSilent(ctx, account, confidential.TokenRequest{Scopes: a.apiScopes, Claims: claims})
	}
	api := &http.Client{Transport: &httpauth.Transport{Token: token, Base: a.base}, Timeout: 30 * time.Second}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, a.apiURL, nil)
	if err != nil {
		a.fail(w, err)
		return
	}
	resp, err := api.Do(req)
	if err != nil {
		a.fail(w, err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") == nil {
		body = pretty.Bytes()
	}
	a.render(w, view{User: s.Username, API: resp.Status + "\n" + strings.TrimSpace(string(body))})
}

// signOut forgets the user here: the session and the cached tokens.
func (a *app) signOut(w http.ResponseWriter, r *http.Request) {
	if s := a.sessions.get(r); s.Account != "" {
		if err := a.client.RemoveAccount(r.Context(), entra.Account{HomeAccountID: s.Account}); err != nil {
			a.logger.Warn("sign-out", "error", entra.ErrorCode(err))
		}
	}
	a.sessions.clear(w)
	http.Redirect(w, r, "/", http.StatusFound)
}

// fail shows the error's code and message (never a token: errors of this
// library carry none).
func (a *app) fail(w http.ResponseWriter, err error) {
	var e *entra.Error
	msg := "something went wrong"
	if errors.As(err, &e) {
		msg = string(e.Code) + ": " + e.Message
	}
	w.WriteHeader(http.StatusBadGateway)
	a.render(w, view{Error: msg})
}
