package interop

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cliToken runs the built `entra token ...` against the emulator and
// returns its JSON output.
func cliToken(t *testing.T, p *emulatorProcess, args ...string) (token, source string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, entraCLI(t), args...)
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+p.Info.CAFile, "APP_SECRET="+p.Secret)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("entra %s: %v %s", strings.Join(args[:2], " "), err, stderr)
	}
	var v struct{ AccessToken, Source string }
	var raw map[string]any
	json.Unmarshal(out, &raw)
	v.AccessToken, _ = raw["access_token"].(string)
	v.Source, _ = raw["source"].(string)
	return v.AccessToken, v.Source
}

// cliUserToken signs the user in through `entra auth-url` and redeems the
// code with `entra token auth-code --cache file`.
func cliUserToken(t *testing.T, p *emulatorProcess, file string) string {
	t.Helper()
	cmd := exec.Command(entraCLI(t), "auth-url", "--authority", p.authority(), "--client-id", p.ClientID, "--redirect-uri", interopRedirect,
		"--scope", userReadScope, "--login-hint", interopUser, "--disable-instance-discovery", "-o", "json")
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+p.Info.CAFile)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("entra auth-url: %v", err)
	}
	var a struct{ URL, Nonce, CodeVerifier string }
	var raw map[string]string
	json.Unmarshal(out, &raw)
	a.URL, a.Nonce, a.CodeVerifier = raw["url"], raw["nonce"], raw["code_verifier"]
	loc, _ := url.Parse(p.signIn(t, a.URL))
	tok, _ := cliToken(t, p, "token", "auth-code", "--authority", p.authority(), "--client-id", p.ClientID, "--secret-env", "APP_SECRET",
		"--code", loc.Query().Get("code"), "--redirect-uri", interopRedirect, "--code-verifier", a.CodeVerifier, "--nonce", a.Nonce,
		"--scope", userReadScope, "--cache", file, "--disable-instance-discovery")
	return tok
}

const (
	graphDefault  = "https://graph.microsoft.com/.default"
	userReadScope = "https://graph.microsoft.com/User.Read"
)

// TestCacheFileSharedWithMSALs: a cache file our CLI wrote is read by
// MSAL Python and MSAL Node, and theirs by our CLI, for an app token, a
// user's token and a refresh token. A token served from the cache is the
// very token the writer got (a request would issue another one: new
// iat and uti), so equality shows no token request was made.
func TestCacheFileSharedWithMSALs(t *testing.T) {
	t.Parallel()
	for _, c := range []scriptClient{msalPython, msalNode} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			requireTool(t, c.ready(), c.name)
			// MSAL Python names a cache's environment by host without
			// port, where MSAL Node, MSAL Go and entra keep the port: on
			// the real hosts (port 443) they agree, so the emulator runs
			// there for MSAL Python.
			addr := "127.0.0.1:0"
			if c.name == msalPython.name {
				addr = "127.0.0.1:443"
			}
			p := startEmulatorProcessAt(t, addr)
			dir := t.TempDir()
			common := []string{"--authority", p.authority(), "--client-id", p.ClientID, "--secret-env", "APP_SECRET", "--disable-instance-discovery"}

			t.Run("ours read by theirs", func(t *testing.T) {
				file := filepath.Join(dir, "ours.json")
				app, src := cliToken(t, p, append(append([]string{"token", "client-credentials"}, common...), "--scope", graphDefault, "--cache", file)...)
				if src != "identity_provider" {
					t.Fatalf("source %q", src)
				}
				user := cliUserToken(t, p, file)
				lines := c.run(t, p, map[string]any{"flow": "cache_read", "client_id": p.ClientID, "authority": p.authority(), "secret": p.Secret,
					"cache_file": file, "username": interopUser, "scope_sets": [][]string{{graphDefault}, {userReadScope}}})
				if len(lines) != 3 {
					t.Fatalf("%d tokens", len(lines))
				}
				if b, _ := os.ReadFile(file); os.Getenv("INTEROP_DEBUG") != "" {
					t.Logf("%s", b)
				}
				switch got := tokenOf(t, lines[0]); {
				case c.name == msalNode.name:
					// MSAL Node 7.2.3 finds an app token only by a
					// home_account_id of "", MSAL Python only by null;
					// entra writes null (MSAL Python's), so MSAL Node
					// misses it and asks for a new token.
					if got == app {
						t.Error("MSAL Node found an app token with a null home_account_id: update the README")
					}
					wantClaims(t, "MSAL Node's app token", got, map[string]string{"aud": "https://graph.microsoft.com", "appid": p.ClientID})
				case got != app:
					t.Error("the app token our CLI wrote was not served from the file")
				}
				if tokenOf(t, lines[1]) != user {
					t.Error("the user token our CLI wrote was not served from the file")
				}
				if refreshed := tokenOf(t, lines[2]); refreshed == user {
					t.Error("the forced refresh returned the cached token")
				} else {
					wantClaims(t, "refreshed with our refresh token", refreshed, map[string]string{"aud": "https://graph.microsoft.com", "preferred_username": interopUser})
				}
			})

			t.Run("theirs read by ours", func(t *testing.T) {
				file := filepath.Join(dir, "theirs.json")
				app := tokenOf(t, c.run(t, p, map[string]any{"flow": "client_credentials", "client_id": p.ClientID, "authority": p.authority(),
					"secret": p.Secret, "cache_file": file, "scope_sets": [][]string{{graphDefault}}})[0])
				lines := c.run(t, p, map[string]any{"flow": "auth_code", "client_id": p.ClientID, "authority": p.authority(), "secret": p.Secret,
					"cache_file": file, "redirect_uri": interopRedirect, "username": interopUser, "scope_sets": [][]string{{userReadScope}}})
				latest := tokenOf(t, lines[len(lines)-1]) // the refreshed token, the one in the file
				if b, _ := os.ReadFile(file); os.Getenv("INTEROP_DEBUG") != "" {
					t.Logf("%s", b)
				}
				if got, src := cliToken(t, p, append(append([]string{"token", "client-credentials"}, common...), "--scope", graphDefault, "--cache", file)...); got != app || src != "cache" {
					t.Errorf("app token: source %q, same token %v", src, got == app)
				}
				if got, src := cliToken(t, p, append(append([]string{"token", "silent"}, common...), "--scope", userReadScope, "--username", interopUser, "--cache", file)...); got != latest || src != "cache" {
					t.Errorf("user token: source %q, same token %v", src, got == latest)
				}
				got, src := cliToken(t, p, append(append([]string{"token", "silent"}, common...), "--scope", userReadScope, "--username", interopUser, "--cache", file, "--force-refresh")...)
				if src != "identity_provider" || got == latest {
					t.Errorf("refresh with their refresh token: source %q", src)
				}
				wantClaims(t, "refreshed with their refresh token", got, map[string]string{"aud": "https://graph.microsoft.com", "preferred_username": interopUser})
			})
		})
	}
}
