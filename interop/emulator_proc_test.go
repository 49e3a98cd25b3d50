package interop

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The interop tests of real Microsoft clients (MSAL Python, MSAL Node,
// azidentity) run against `entra emulator`, a process of its own started
// from the CLI built here. Without ENTRA_REQUIRE_INTEROP=1 they skip when
// a client is not installed; with it (scripts/test.sh) they fail.

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// entraCLI builds cmd/entra once per test binary.
func entraCLI(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "entra-interop-cli")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "entra")
		if out, err := exec.Command("go", "build", "-C", "../cmd/entra", "-o", cliPath, ".").CombinedOutput(); err != nil {
			cliErr = &buildError{string(out)}
		}
	})
	if cliErr != nil {
		t.Fatalf("building the CLI: %v", cliErr)
	}
	return cliPath
}

type buildError struct{ out string }

func (b *buildError) Error() string { return b.out }

// requireTool skips (or, with ENTRA_REQUIRE_INTEROP=1, fails) when a
// client's tool is missing.
func requireTool(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("ENTRA_REQUIRE_INTEROP") == "1" {
		t.Fatalf("%s is not installed (ENTRA_REQUIRE_INTEROP=1)", what)
	}
	t.Skipf("%s is not installed; set ENTRA_REQUIRE_INTEROP=1 to require it", what)
}

// emulatorProcess is a running `entra emulator` and the registrations the
// tests use.
type emulatorProcess struct {
	Info struct {
		TokenService    string                       `json:"token_service"`
		TenantID        string                       `json:"tenant_id"`
		CAFile          string                       `json:"ca_file"`
		ManagedIdentity map[string]map[string]string `json:"managed_identity"`
		SystemClientID  string                       `json:"system_assigned_client_id"`
	}
	dir string
	// The test app: a secret and an RSA certificate.
	ClientID, Secret string
	CertPEM, KeyPEM  string
	CertDER          []byte
}

const (
	interopClientID = "8a1f2e3d-4c5b-4a69-8788-99aabbccddee"
	interopSecret   = "interop-secret-for-the-emulator-only"
	interopRedirect = "http://localhost/callback"
	interopUser     = "ada@contoso.example"
	interopTenant   = "0c3d2b1a-9f8e-4d7c-8b6a-5f4e3d2c1b0a"
)

// startEmulatorProcess starts `entra emulator --config` with the test app
// registered, and stops it at the test's end.
func startEmulatorProcess(t *testing.T) *emulatorProcess {
	t.Helper()
	return startEmulatorProcessAt(t, "127.0.0.1:0")
}

// startEmulatorProcessAt starts it with its token service at addr.
func startEmulatorProcessAt(t *testing.T, addr string) *emulatorProcess {
	t.Helper()
	bin := entraCLI(t)
	dir := t.TempDir()
	p := &emulatorProcess{dir: dir, ClientID: interopClientID, Secret: interopSecret}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "interop app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	p.CertDER, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	p.CertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.CertDER}))
	p.KeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	writeFile(t, filepath.Join(dir, "app.pem"), p.CertPEM)
	cfg, _ := json.Marshal(map[string]any{
		"tenant_id": interopTenant,
		"domains":   map[string]string{"contoso.onmicrosoft.com": ""},
		"clients": []map[string]any{{"client_id": interopClientID, "secret": interopSecret,
			"certificate_files": []string{"app.pem"}, "redirect_uris": []string{interopRedirect}}},
	})
	writeFile(t, filepath.Join(dir, "config.json"), string(cfg))

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "emulator", "--addr", addr, "--dir", filepath.Join(dir, "emu"),
		"--config", filepath.Join(dir, "config.json"), "-o", "json")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if err := json.Unmarshal([]byte(s), &p.Info); err != nil {
			t.Fatalf("entra emulator printed %q: %v (%s)", s, err, stderr.String())
		}
		// The default port is not written: https://localhost, as clients
		// write the real hosts.
		p.Info.TokenService = strings.TrimSuffix(p.Info.TokenService, ":443")
	case <-time.After(30 * time.Second):
		t.Fatalf("entra emulator printed nothing: %s", stderr.String())
	}
	return p
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (p *emulatorProcess) authority() string { return p.Info.TokenService + "/" + interopTenant }

func (p *emulatorProcess) thumbprints() (sha1Hex, sha256Hex string) {
	s1, s256 := sha1.Sum(p.CertDER), sha256.Sum256(p.CertDER)
	return hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:])
}

// httpClient trusts the emulator's CA.
func (p *emulatorProcess) httpClient(t *testing.T) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(p.Info.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       20 * time.Second,
	}
}

// signIn follows an authorization URL as a user agent that signs in at
// once (the emulator signs a program in as its login_hint) and returns
// the redirect URL with the code.
func (p *emulatorProcess) signIn(t *testing.T, authorizeURL string) string {
	t.Helper()
	resp, err := p.httpClient(t).Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.Contains(loc, "code=") {
		t.Fatalf("sign-in answered %d, Location %q", resp.StatusCode, loc)
	}
	return loc
}

// userToken is a user's access token for the test app itself (aud = its
// client id): what a web API receives and exchanges on behalf of the
// user. Got with a plain auth code + PKCE flow.
func (p *emulatorProcess) userToken(t *testing.T) string {
	t.Helper()
	verifier := base64.RawURLEncoding.EncodeToString([]byte("a-verifier-of-forty-three-characters-or-more-0123"))
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {p.ClientID}, "response_type": {"code"}, "redirect_uri": {interopRedirect},
		"scope": {p.ClientID + "/.default openid"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "login_hint": {interopUser}}
	loc, _ := url.Parse(p.signIn(t, p.authority()+"/oauth2/v2.0/authorize?"+q.Encode()))
	resp, err := p.httpClient(t).PostForm(p.authority()+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"authorization_code"}, "client_id": {p.ClientID}, "client_secret": {p.Secret},
		"code": {loc.Query().Get("code")}, "redirect_uri": {interopRedirect}, "code_verifier": {verifier},
		"scope": {p.ClientID + "/.default openid"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if body.AccessToken == "" {
		t.Fatalf("no user token: %d", resp.StatusCode)
	}
	return body.AccessToken
}

// claimsOf decodes a JWT's payload (the emulator signed it; the test
// checks what it says).
func claimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err != nil || json.Unmarshal(b, &c) != nil {
		t.Fatal("undecodable JWT payload")
	}
	return c
}
