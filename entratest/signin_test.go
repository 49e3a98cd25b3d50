package entratest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra/entratest"
)

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// page is an answer of the authorization endpoint as a browser sees it.
type page struct {
	status   int
	location string
	body     string
}

// browse requests u as a browser does, without following redirects.
func browse(t *testing.T, client *http.Client, method, u string, form url.Values) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", browserAccept)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(raw)}
}

var (
	formTag   = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	inputTag  = regexp.MustCompile(`<input ([^>]*)>`)
	attribute = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// fields are the named inputs of a page's form, unescaped.
func fields(body string) url.Values {
	out := url.Values{}
	for _, tag := range inputTag.FindAllStringSubmatch(body, -1) {
		attrs := map[string]string{}
		for _, a := range attribute.FindAllStringSubmatch(tag[1], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		if name, ok := attrs["name"]; ok {
			out.Add(name, attrs["value"])
		}
	}
	return out
}

// TestSignInPage plays a browser: the sign-in page, its form posted with
// another user's name, the redirect with code and state, and the code
// redeemed for that user's tokens.
func TestSignInPage(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	dc := emu.DefaultClient()
	grace := emu.RegisterUser(entratest.User{Username: "grace@contoso.example"})
	transport := emu.Transport()
	t.Cleanup(transport.CloseIdleConnections)
	browser := &http.Client{Transport: transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	const verifier = "a-verifier-of-at-least-forty-three-characters-long"
	sum := sha256.Sum256([]byte(verifier))
	const state = `s1"><script>alert(1)</script>`
	q := url.Values{"client_id": {dc.ID}, "response_type": {"code"}, "redirect_uri": {"http://localhost:8400/callback"},
		"scope": {"User.Read openid offline_access"}, "state": {state}, "nonce": {"n1"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	authorize := "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"

	p := browse(t, browser, "GET", authorize+"?"+q.Encode(), nil)
	f := fields(p.body)
	if p.status != 200 || !strings.Contains(p.body, "<title>Sign in</title>") || !strings.Contains(p.body, `<button id="signin" type="submit">`) ||
		!strings.Contains(p.body, `<code id="client_id">`+dc.ID+`</code>`) || f.Get("username") != emu.DefaultUser().Username {
		t.Fatalf("sign-in page %d:\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, "<script>") || f.Get("state") != state || f.Get("code_challenge") != q.Get("code_challenge") {
		t.Fatalf("the page does not carry the request escaped: %v\n%s", f, p.body)
	}
	m := formTag.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no form:\n%s", p.body)
	}
	action, _ := url.Parse(authorize)
	action = action.ResolveReference(&url.URL{Path: html.UnescapeString(m[1])})

	f.Set("username", "nobody@contoso.example")
	if p := browse(t, browser, "POST", action.String(), f); p.status != 200 || !strings.Contains(p.body, `id="error"`) ||
		fields(p.body).Get("username") != "nobody@contoso.example" {
		t.Fatalf("an unknown username: %d %s\n%s", p.status, p.location, p.body)
	}

	f.Set("username", "GRACE@contoso.example")
	p = browse(t, browser, "POST", action.String(), f)
	back, err := url.Parse(p.location)
	if p.status != 302 || err != nil || back.Port() != "8400" || back.Query().Get("code") == "" || back.Query().Get("state") != state {
		t.Fatalf("after the sign-in: %d %q", p.status, p.location)
	}
	status, _, tok := send(t, emu.HTTPClient(), "POST", graphToken, nil, url.Values{"grant_type": {"authorization_code"},
		"client_id": {dc.ID}, "client_secret": {dc.Secret}, "code": {back.Query().Get("code")},
		"redirect_uri": {q.Get("redirect_uri")}, "code_verifier": {verifier}})
	idToken, _ := tok["id_token"].(string)
	claims, err := emu.VerifyAccessToken(idToken)
	if status != 200 || err != nil || claims["oid"] != grace.ObjectID || claims["nonce"] != "n1" {
		t.Fatalf("redeeming the code: %d %v %v", status, tok, claims)
	}
	if methods := requestMethods(emu.Requests("authorize")); methods != "GET POST POST" {
		t.Errorf("authorize requests %s", methods)
	}
}

// TestSignInPageVariants: the login_hint prefills the page, form_post
// still posts the code, and programs still get the redirect at once.
func TestSignInPageVariants(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	dc := emu.DefaultClient()
	emu.RegisterUser(entratest.User{Username: "grace@contoso.example"})
	transport := emu.Transport()
	t.Cleanup(transport.CloseIdleConnections)
	browser := &http.Client{Transport: transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize?" + url.Values{
		"client_id": {dc.ID}, "response_type": {"code"}, "redirect_uri": {entratest.DefaultRedirectURI}, "scope": {"openid"},
		"login_hint": {"grace@contoso.example"}, "response_mode": {"form_post"}, "state": {"s2"}}.Encode()

	p := browse(t, browser, "GET", authorize, nil)
	f := fields(p.body)
	if p.status != 200 || f.Get("username") != "grace@contoso.example" || f.Get("response_mode") != "form_post" {
		t.Fatalf("sign-in page with a login_hint %d: %v", p.status, f)
	}
	p = browse(t, browser, "POST", strings.Split(authorize, "?")[0], f)
	if posted := fields(p.body); p.status != 200 || posted.Get("code") == "" || posted.Get("state") != "s2" ||
		!strings.Contains(p.body, `action="`+entratest.DefaultRedirectURI+`"`) {
		t.Fatalf("form_post after the sign-in page: %d\n%s", p.status, p.body)
	}

	back, err := emu.SignIn(t.Context(), strings.Replace(authorize, "form_post", "query", 1))
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("a program's sign-in: %v %v", back, err)
	}
}

func requestMethods(reqs []entratest.Request) string {
	var methods []string
	for _, r := range reqs {
		methods = append(methods, r.Method)
	}
	return strings.Join(methods, " ")
}
