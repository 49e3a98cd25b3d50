package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestInABrowser drives the sample in headless Chromium: the app sends the
// browser to the emulator's sign-in page, the user signs in, lands back
// signed in, calls the API through httpauth.Transport, sees its answer and
// signs out. A screenshot of the signed-in page is saved
// ($ENTRA_ARTIFACTS, else the test's temporary folder).
func TestInABrowser(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("ENTRA_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium is not installed")
		}
		t.Skip("chromium is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	a, stop, err := setup(func(string) string { return "" }, base+"/callback")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("ignore-certificate-errors", true), // the emulator's CA is the test's own
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(900, 560))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	// Each step waits for what the previous one brought about.
	step := func(name string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if _, err := chromedp.Run(ctx, a); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func(sel chromedp.ID) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
	step("open the app", chromedp.Navigate(base+"/"))
	step("follow the sign-in link", chromedp.Click(chromedp.ID("signin")))
	step("reach the emulator's sign-in page", chromedp.WaitVisible(chromedp.ID("username")))
	signInTitle, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	step("sign in", chromedp.Click(chromedp.ID("signin")))
	step("land back signed in", chromedp.WaitVisible(chromedp.ID("user")))
	user := text("user")
	step("call the API", chromedp.Click(chromedp.ID("call-api")))
	step("see its answer", chromedp.WaitVisible(chromedp.ID("api-answer")))
	answer := text("api-answer")
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	step("sign out", chromedp.Click(chromedp.ID("signout")))
	step("see the sign-in link again", chromedp.WaitVisible(chromedp.CSS("a#signin")))
	afterSignOut, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	who := a.emulator.DefaultUser()
	if !strings.Contains(signInTitle, "Sign in") || !strings.Contains(user, who.Username) {
		t.Fatalf("sign-in page %q, user %q, want %s", signInTitle, user, who.Username)
	}
	// The API saw the user's delegated token: their object id and the
	// delegated scope.
	for _, want := range []string{"200 OK", `"oid": "` + who.ObjectID + `"`, `"scp": "access_as_user"`} {
		if !strings.Contains(answer, want) {
			t.Fatalf("the API's answer %q lacks %s", answer, want)
		}
	}
	if !strings.Contains(afterSignOut, "Not signed in") {
		t.Fatalf("after signing out: %q", afterSignOut)
	}
	dir := os.Getenv("ENTRA_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "webapp.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
}
