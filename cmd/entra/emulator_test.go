package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startEmulatorCommand runs `entra emulator -o json` in-process with args
// and returns what it printed; the emulator stops at the test's end.
func startEmulatorCommand(t *testing.T, args ...string) emulatorInfo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"emulator", "--addr", "127.0.0.1:0", "-o", "json"}, args...), env{stdout: pw, stderr: &stderr, getenv: os.Getenv})
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case status := <-done:
			if status != 0 {
				t.Errorf("emulator exit %d: %s", status, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("the emulator did not stop")
		}
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, pr)
	}()
	var info emulatorInfo
	select {
	case line := <-lines:
		if err := json.Unmarshal([]byte(line), &info); err != nil {
			t.Fatalf("output %q: %v (stderr %s)", line, err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the emulator printed nothing")
	}
	return info
}

func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(b, &claims) != nil {
		t.Fatal("undecodable JWT payload")
	}
	return claims
}

// TestEmulatorConfigDirAndManagedIdentity: `entra emulator --config
// --dir -o json` registers the file's clients and domains, keeps its CA
// and signing key across restarts, and its printed environment works for
// `entra token managed-identity` in another process, for each source.
func TestEmulatorConfigDirAndManagedIdentity(t *testing.T) {
	t.Parallel()
	dir, cfgDir := t.TempDir(), t.TempDir()
	const tenant, clientID, secret = "7f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b", "c0ffee00-1111-4222-8333-444455556666", "config-secret-value"
	certFile := filepath.Join(cfgDir, "app.pem")
	writeTestCertificate(t, certFile)
	cfg := `{"tenant_id":"` + tenant + `","domains":{"fabrikam.example.com":""},
		"clients":[{"client_id":"` + clientID + `","secret":"` + secret + `","certificate_files":["app.pem"]}],
		"users":[{"username":"grace@fabrikam.example.com","name":"Grace"}]}`
	cfgFile := filepath.Join(cfgDir, "emulator.json")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	info := startEmulatorCommand(t, "--dir", dir, "--config", cfgFile)
	if info.TenantID != tenant {
		t.Errorf("tenant %q, want the config's", info.TenantID)
	}
	c := cli{bin: binary(t), env: []string{"SSL_CERT_FILE=" + info.CAFile, "APP_SECRET=" + secret}}
	stdout, stderr, status := c.run(t, "token", "client-credentials", "--authority", info.TokenService+"/fabrikam.example.com",
		"--client-id", clientID, "--secret-env", "APP_SECRET")
	if status != 0 {
		t.Fatalf("client credentials: exit %d: %s", status, stderr)
	}
	var out tokenOutput
	json.Unmarshal([]byte(stdout), &out)
	if claims := jwtClaims(t, out.AccessToken); claims["tid"] != tenant || claims["appid"] != clientID {
		t.Errorf("claims %v", claims)
	}

	for _, src := range emulatorSources {
		if src == "azure_arc" {
			continue // its challenge file must be in /var/opt/azcmagent/tokens (--arc-dir)
		}
		env := []string{}
		for k, v := range info.ManagedIdentity[src] {
			env = append(env, k+"="+v)
		}
		mi := cli{bin: binary(t), env: env}
		stdout, stderr, status := mi.run(t, "token", "managed-identity", "--resource", "https://vault.azure.net")
		if status != 0 {
			t.Errorf("%s: exit %d: %s", src, status, stderr)
			continue
		}
		var out tokenOutput
		json.Unmarshal([]byte(stdout), &out)
		claims := jwtClaims(t, out.AccessToken)
		if out.ManagedIdentitySource != src || claims["aud"] != "https://vault.azure.net" || claims["appid"] != info.SystemAssignedClientID {
			t.Errorf("%s: source %q, claims %v", src, out.ManagedIdentitySource, claims)
		}
	}
}

// TestEmulatorDirKeepsKeys: a second emulator on the same --dir has the
// same CA and signing key, so what trusted the first trusts it.
func TestEmulatorDirKeepsKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startEmulatorCommand(t, "--dir", dir)
	ca1, _ := os.ReadFile(first.CAFile)
	key1, _ := os.ReadFile(filepath.Join(dir, signingKeyFile))
	second := startEmulatorCommand(t, "--dir", dir)
	ca2, _ := os.ReadFile(second.CAFile)
	key2, _ := os.ReadFile(filepath.Join(dir, signingKeyFile))
	if len(ca1) == 0 || !bytes.Equal(ca1, ca2) || len(key1) == 0 || !bytes.Equal(key1, key2) {
		t.Fatal("the CA or the signing key changed across restarts")
	}
	// The second emulator's TLS certificate chains to the kept CA.
	c := cli{bin: binary(t), env: []string{"SSL_CERT_FILE=" + first.CAFile, "APP_SECRET=" + mustRead(t, second.DefaultClient.SecretFile)}}
	if _, stderr, status := c.run(t, "token", "client-credentials", "--authority", second.TokenService+"/"+second.TenantID,
		"--client-id", second.DefaultClient.ClientID, "--secret-env", "APP_SECRET"); status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	for _, name := range []string{caKeyFile, signingKeyFile, "client-secret"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", name, fi, err)
		}
	}
}

func TestEmulatorConfigRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, cfg := range map[string]string{
		"unknown field":   `{"tenant":"x"}`,
		"no client id":    `{"clients":[{"secret":"s"}]}`,
		"not json":        `{`,
		"missing cert":    `{"clients":[{"client_id":"c","certificate_files":["nope.pem"]}]}`,
		"user without id": `{"users":[{"name":"n"}]}`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		os.WriteFile(path, []byte(cfg), 0o600)
		var stderr bytes.Buffer
		status := run(context.Background(), []string{"emulator", "--addr", "127.0.0.1:0", "--config", path}, env{stdout: io.Discard, stderr: &stderr, getenv: os.Getenv})
		if status != 2 || !strings.Contains(stderr.String(), "config") {
			t.Errorf("%s: exit %d: %s", name, status, stderr.String())
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeTestCertificate(t *testing.T, path string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "app"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestREADMEExampleConfig: the README's example configuration is valid.
func TestREADMEExampleConfig(t *testing.T) {
	cfg, err := readEmulatorConfig(filepath.Join("..", "..", "examples", "emulator", "example.json"))
	if err != nil || cfg.TenantID == "" || len(cfg.Clients) != 1 || len(cfg.Domains) != 2 {
		t.Fatalf("%+v, %v", cfg, err)
	}
}
