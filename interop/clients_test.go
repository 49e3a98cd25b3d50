package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A client runner: MSAL Python or MSAL Node, running one task.
type scriptClient struct {
	name string
	argv func(task string) []string
	env  func(p *emulatorProcess) []string
	// ready reports whether the client is installed.
	ready func() bool
}

var (
	msalPython = scriptClient{
		name:  "MSAL Python",
		argv:  func(task string) []string { return []string{"/usr/bin/python3", "msalpy/run.py", task} },
		env:   func(p *emulatorProcess) []string { return []string{"REQUESTS_CA_BUNDLE=" + p.Info.CAFile} },
		ready: func() bool { return exec.Command("/usr/bin/python3", "-c", "import msal").Run() == nil },
	}
	msalNode = scriptClient{
		name: "MSAL Node",
		argv: func(task string) []string { return []string{"node", "msalnode/run.mjs", task} },
		env:  func(p *emulatorProcess) []string { return []string{"NODE_EXTRA_CA_CERTS=" + p.Info.CAFile} },
		ready: func() bool {
			_, err := os.Stat("msalnode/node_modules/@azure/msal-node/package.json")
			return err == nil
		},
	}
)

// run runs a task and returns the JSON lines it printed. An authorize_url
// line is answered with the sign-in's redirect on the client's stdin.
func (c scriptClient) run(t *testing.T, p *emulatorProcess, task map[string]any, env ...string) []map[string]any {
	t.Helper()
	b, _ := json.Marshal(task)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	argv := c.argv(string(b))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), c.env(p)...), env...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Errorf("%s printed %q", c.name, sc.Text())
			continue
		}
		if u, ok := v["authorize_url"].(string); ok {
			io.WriteString(stdin, p.signIn(t, u)+"\n")
			continue
		}
		lines = append(lines, v)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s: %v\n%s", c.name, err, stderr.String())
	}
	return lines
}

func tokenOf(t *testing.T, line map[string]any) string {
	t.Helper()
	s, _ := line["access_token"].(string)
	if s == "" {
		t.Fatalf("no access token in %v", line)
	}
	return s
}

// wantClaims checks a token's claims against want ("" values: present).
func wantClaims(t *testing.T, what, token string, want map[string]string) {
	t.Helper()
	c := claimsOf(t, token)
	for k, v := range want {
		got, _ := c[k].(string)
		if got == "" || (v != "" && got != v) {
			t.Errorf("%s: claim %s = %q, want %q", what, k, got, v)
		}
	}
}

// TestMSALClientsAgainstEmulator runs MSAL Python and MSAL Node,
// unmodified, through every confidential-client flow they support against
// `entra emulator`, and checks the tokens' claims.
func TestMSALClientsAgainstEmulator(t *testing.T) {
	t.Parallel()
	for _, c := range []scriptClient{msalPython, msalNode} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			requireTool(t, c.ready(), c.name)
			p := startEmulatorProcess(t)
			sha1Hex, sha256Hex := p.thumbprints()
			base := func(flow string, scopes ...[]string) map[string]any {
				return map[string]any{"flow": flow, "client_id": p.ClientID, "authority": p.authority(), "scope_sets": scopes}
			}
			withCert := func(task map[string]any, x5c bool) map[string]any {
				task["key_pem"], task["thumbprint_sha1_hex"], task["thumbprint_sha256"] = p.KeyPEM, sha1Hex, sha256Hex
				if x5c {
					task["x5c_pem"] = p.CertPEM
				}
				return task
			}
			graph, vault := []string{"https://graph.microsoft.com/.default"}, []string{"https://vault.azure.net/.default"}
			app := func(aud string) map[string]string {
				return map[string]string{"aud": aud, "appid": p.ClientID, "tid": interopTenant}
			}

			t.Run("client credentials with a secret", func(t *testing.T) {
				task := base("client_credentials", graph)
				task["secret"] = p.Secret
				wantClaims(t, "secret", tokenOf(t, c.run(t, p, task)[0]), app("https://graph.microsoft.com"))
			})
			t.Run("client credentials with a certificate, two resources in one assertion's life", func(t *testing.T) {
				lines := c.run(t, p, withCert(base("client_credentials", graph, vault), false))
				if len(lines) != 2 {
					t.Fatalf("%d tokens", len(lines))
				}
				wantClaims(t, "first resource", tokenOf(t, lines[0]), app("https://graph.microsoft.com"))
				wantClaims(t, "second resource", tokenOf(t, lines[1]), app("https://vault.azure.net"))
			})
			t.Run("client credentials with a certificate and x5c", func(t *testing.T) {
				wantClaims(t, "x5c", tokenOf(t, c.run(t, p, withCert(base("client_credentials", graph), true))[0]), app("https://graph.microsoft.com"))
			})
			t.Run("tenant given by domain", func(t *testing.T) {
				task := base("client_credentials", graph)
				task["secret"], task["authority"] = p.Secret, p.Info.TokenService+"/contoso.onmicrosoft.com"
				wantClaims(t, "domain", tokenOf(t, c.run(t, p, task)[0]), app("https://graph.microsoft.com"))
			})
			t.Run("on behalf of", func(t *testing.T) {
				task := base("obo", []string{"https://graph.microsoft.com/User.Read"})
				task["secret"], task["user_assertion"] = p.Secret, p.userToken(t)
				wantClaims(t, "obo", tokenOf(t, c.run(t, p, task)[0]), map[string]string{
					"aud": "https://graph.microsoft.com", "appid": p.ClientID, "tid": interopTenant, "preferred_username": interopUser})
			})
			t.Run("auth code with PKCE, silent from cache, refresh", func(t *testing.T) {
				task := base("auth_code", []string{"https://graph.microsoft.com/User.Read"})
				task["secret"], task["redirect_uri"], task["username"] = p.Secret, interopRedirect, interopUser
				lines := c.run(t, p, task)
				if len(lines) != 3 {
					t.Fatalf("%d tokens", len(lines))
				}
				user := map[string]string{"aud": "https://graph.microsoft.com", "appid": p.ClientID, "preferred_username": interopUser}
				first, silent, refreshed := tokenOf(t, lines[0]), tokenOf(t, lines[1]), tokenOf(t, lines[2])
				wantClaims(t, "auth code", first, user)
				if silent != first {
					t.Error("silent did not answer from the cache")
				}
				if refreshed == first {
					t.Error("the forced refresh answered the cached token")
				}
				wantClaims(t, "refreshed", refreshed, user)
				if id, _ := lines[0]["id_token"].(string); id == "" {
					t.Error("no ID token")
				} else {
					wantClaims(t, "id token", id, map[string]string{"aud": p.ClientID, "tid": interopTenant, "preferred_username": interopUser})
				}
			})
		})
	}
}
