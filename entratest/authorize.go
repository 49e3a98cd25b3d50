package entratest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// codeLifetime is how long an authorization code may be redeemed.
const codeLifetime = 10 * time.Minute

// authCode is what an authorization code stands for.
type authCode struct {
	clientID, redirectURI, scope, nonce, challenge, tenant string
	user                                                   User
	expires                                                time.Time
	redeemed                                               bool
}

// SignIn plays a user at the sign-in page: it requests authorizeURL as a
// program does, not a browser, which would get the page's form, and
// returns the redirect the emulator answers with (the redirect URI with
// code and state, or with an error), without following it. The user is
// the one named by login_hint, else DefaultUser; consent is automatic.
func (e *Emulator) SignIn(ctx context.Context, authorizeURL string) (*url.URL, error) {
	transport := e.Transport()
	defer transport.CloseIdleConnections() // the transport is this call's alone
	client := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authorizeURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("entratest: the sign-in page answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return url.Parse(resp.Header.Get("Location"))
}

// authorize is the authorization endpoint. A browser (Accept: text/html)
// gets the sign-in page, whose form posts the request back here with the
// username typed; a program is signed in at once, as the user of its
// login_hint or the default user, which SignIn relies on.
func (e *Emulator) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.Form // the query; for a POST, the form's values first
	client, redirect, ok := e.authorizeClient(w, q)
	if !ok {
		return
	}
	if code, desc := checkAuthorizeParams(q); code != "" {
		redirectError(w, r, redirect, q.Get("state"), code, desc)
		return
	}
	if r.Method == http.MethodGet && wantsHTML(r) {
		writeSignInPage(w, r, signInForm{ClientID: client.ID, Username: e.hintedUsername(q), Params: q})
		return
	}
	typed := r.PostForm.Has("username") // the sign-in page's form
	username := q.Get("login_hint")
	if typed {
		username = r.PostForm.Get("username")
	}
	user, ok := e.signingIn(username)
	switch {
	case !ok && typed:
		writeSignInPage(w, r, signInForm{ClientID: client.ID, Username: username, Params: q, Error: "We could not find an account with that username."})
	case !ok:
		redirectError(w, r, redirect, q.Get("state"), "invalid_grant", "AADSTS50034: The user account does not exist in the directory.")
	default:
		e.grantCode(w, r, q, client, redirect, user)
	}
}

// authorizeClient finds the client an authorization request names and
// checks its redirect URI. If either is wrong, it answers with an error
// page rather than redirect to an address that may not be the client's.
func (e *Emulator) authorizeClient(w http.ResponseWriter, q url.Values) (Client, *url.URL, bool) {
	e.mu.Lock()
	client, known := e.clients[q.Get("client_id")]
	e.mu.Unlock()
	if !known {
		errorPage(w, 700016, "Application with identifier '"+q.Get("client_id")+"' was not found in the directory.")
		return Client{}, nil, false
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !client.allowsRedirect(q.Get("redirect_uri")) {
		errorPage(w, 50011, "The redirect URI specified in the request does not match the redirect URIs configured for the application.")
		return Client{}, nil, false
	}
	return client, redirect, true
}

// checkAuthorizeParams returns the error an authorization request gets
// back at its redirect URI, or "".
func checkAuthorizeParams(q url.Values) (code, desc string) {
	switch {
	case q.Get("response_type") != "code":
		return "unsupported_response_type", "AADSTS700054: response_type must be code."
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256":
		return "invalid_request", "AADSTS501491: code_challenge_method must be S256."
	case q.Get("scope") == "":
		return "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'scope'."
	}
	return "", ""
}

// redirectError sends the browser back to the client with an error.
func redirectError(w http.ResponseWriter, r *http.Request, redirect *url.URL, state, code, desc string) {
	v := redirect.Query()
	v.Set("error", code)
	v.Set("error_description", desc)
	if state != "" {
		v.Set("state", state)
	}
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// hintedUsername is the username the sign-in page offers: the
// login_hint, else the default user's.
func (e *Emulator) hintedUsername(q url.Values) string {
	if hint := q.Get("login_hint"); hint != "" {
		return hint
	}
	return e.DefaultUser().Username
}

// signingIn is the user a sign-in names by username (case-insensitive);
// an empty name is the default user.
func (e *Emulator) signingIn(username string) (User, bool) {
	if username == "" {
		return e.DefaultUser(), true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[strings.ToLower(username)]
	return u, ok
}

// grantCode issues an authorization code for user and sends it, with the
// state, to the redirect URI: in its query, or posted (form_post).
func (e *Emulator) grantCode(w http.ResponseWriter, r *http.Request, q url.Values, client Client, redirect *url.URL, user User) {
	code := "code." + newGUID() + newGUID()
	tenant := e.authorityTenant(r) // before e.mu, which it takes
	e.mu.Lock()
	e.codes[code] = &authCode{
		clientID: client.ID, redirectURI: q.Get("redirect_uri"), scope: q.Get("scope"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), tenant: tenant, user: user, expires: e.opts.Now().Add(codeLifetime),
	}
	e.mu.Unlock()
	params := url.Values{"code": {code}, "session_state": {newGUID()}}
	if s := q.Get("state"); s != "" {
		params.Set("state", s)
	}
	if q.Get("response_mode") == "form_post" {
		formPost(w, redirect.String(), params)
		return
	}
	v := redirect.Query()
	for k, vals := range params {
		v[k] = vals
	}
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// redeemCode checks an authorization_code grant and spends the code.
func (e *Emulator) redeemCode(f url.Values, g *grant) *refusal {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.codes[f.Get("code")]
	switch {
	case !ok || c.clientID != g.clientID:
		return refuse(400, "invalid_grant", 9002313, "Invalid request. The authorization code is malformed or was not issued to this client.")
	case c.redeemed:
		return refuse(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case e.opts.Now().After(c.expires):
		return refuse(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity.")
	case f.Get("redirect_uri") != c.redirectURI:
		return refuse(400, "invalid_grant", 50148, "The redirect_uri does not match the one of the authorization request.")
	}
	if c.challenge != "" {
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.challenge)) != 1 {
			return refuse(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		}
	}
	c.redeemed = true
	g.user, g.nonce = &c.user, c.nonce
	if len(g.scopes) == 0 {
		g.scopes = strings.Fields(c.scope)
	}
	return nil
}

// allowsRedirect matches registered redirect URIs exactly, except that a
// loopback URI (localhost, 127.0.0.1) matches whatever its port, as
// Entra ID allows for native and development apps.
func (c Client) allowsRedirect(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	for _, reg := range c.RedirectURIs {
		if reg == raw {
			return true
		}
		r, err := url.Parse(reg)
		if err == nil && isLoopback(u.Hostname()) && r.Scheme == u.Scheme && r.Hostname() == u.Hostname() && r.Path == u.Path {
			return true
		}
	}
	return false
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

func isLoopback(host string) bool { return host == "localhost" || host == "127.0.0.1" || host == "::1" }

// errorPage is the sign-in page's error, shown instead of redirecting to
// an address that may not belong to the application.
func errorPage(w http.ResponseWriter, aadsts int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, "AADSTS%d: %s\n", aadsts, msg)
}

// formPost answers response_mode=form_post: a page that posts the
// parameters to the redirect URI.
func formPost(w http.ResponseWriter, action string, params url.Values) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	fmt.Fprintf(&b, `<html><body onload="document.forms[0].submit()"><form method="POST" action="%s">`, html.EscapeString(action))
	for k, vs := range params {
		for _, v := range vs {
			fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s"/>`, html.EscapeString(k), html.EscapeString(v))
		}
	}
	b.WriteString("</form></body></html>")
	io.WriteString(w, b.String())
}

// issuerHost is the host a cloud's issuer names, as Entra ID's does,
// whichever alias, regional or mTLS host answered.
func issuerHost(host string) string {
	host = strings.ToLower(host)
	switch {
	case host == "login.windows.net" || host == "sts.windows.net" || host == "mtlsauth.microsoft.com" ||
		strings.HasSuffix(host, ".mtlsauth.microsoft.com") || strings.HasSuffix(host, "login.microsoft.com"):
		return "login.microsoftonline.com"
	case strings.HasPrefix(host, "mtlsauth."):
		return "login." + strings.TrimPrefix(host, "mtlsauth.")
	}
	for _, part := range []string{".mtlsauth.", ".login."} { // {region}.mtlsauth.X, {region}.login.X
		if _, rest, ok := strings.Cut(host, part); ok {
			return "login." + rest
		}
	}
	return host
}
