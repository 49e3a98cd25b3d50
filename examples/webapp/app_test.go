package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/entra-go/entra/entratest"
)

// browser is an HTTP client with cookies that does not follow redirects,
// so a test can hand the sign-in page to the emulator's SignIn.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, method, u string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestSignInCallAPISignOut drives the app's handlers with a programmatic
// user (entratest's SignIn) against the embedded emulator.
func TestSignInCallAPISignOut(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	a, stop, err := setup(func(string) string { return "" }, base+"/callback")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	srv.Config.Handler = a.routes()
	srv.Start()
	defer srv.Close()
	c := browser(t)

	resp, _ := get(t, c, http.MethodGet, base+"/signin")
	authorize := resp.Header.Get("Location")
	if u, _ := url.Parse(authorize); resp.StatusCode != http.StatusFound || u.Query().Get("code_challenge") == "" || u.Query().Get("nonce") == "" {
		t.Fatalf("sign-in: %d to %s", resp.StatusCode, authorize)
	}
	em := emulatorOf(t, a)
	back, err := em.SignIn(context.Background(), authorize)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ = get(t, c, http.MethodGet, back.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	if _, page := get(t, c, http.MethodGet, base+"/"); !strings.Contains(page, `id="user"`) {
		t.Fatalf("not signed in after the callback:\n%s", page)
	}
	if _, page := get(t, c, http.MethodPost, base+"/call-api"); !strings.Contains(page, "200 OK") {
		t.Fatalf("the API call failed:\n%s", page)
	}
	get(t, c, http.MethodPost, base+"/signout")
	if _, page := get(t, c, http.MethodGet, base+"/"); !strings.Contains(page, "Not signed in") {
		t.Fatalf("still signed in after signing out:\n%s", page)
	}
	// A redirect whose state is not this browser's is refused.
	get(t, c, http.MethodGet, base+"/signin")
	if resp, page := get(t, c, http.MethodGet, base+"/callback?code=c&state=forged"); resp.StatusCode != http.StatusBadGateway || !strings.Contains(page, "state_mismatch") {
		t.Fatalf("a forged state: %d\n%s", resp.StatusCode, page)
	}
}

// emulatorOf finds the emulator behind the app's authority.
func emulatorOf(t *testing.T, a *app) *entratest.Emulator {
	t.Helper()
	if a.emulator == nil {
		t.Fatal("the app does not run on the embedded emulator")
	}
	return a.emulator
}
