package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestEncryptedCacheFile runs the built CLI with --cache and a key: the
// file holds no token, the next process is served from it, and a process
// with the wrong key still gets a token, warns with the code and leaves
// the file as it was.
func TestEncryptedCacheFile(t *testing.T) {
	t.Parallel()
	em, ca, _ := startEmulator(t)
	dc := em.DefaultClient()
	dir := t.TempDir()
	key, wrong := make([]byte, 32), make([]byte, 32)
	rand.Read(key)
	rand.Read(wrong)
	keyFile := filepath.Join(dir, "cache.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := cli{bin: binary(t), env: []string{"SSL_CERT_FILE=" + ca, "APP_SECRET=" + dc.Secret,
		"CACHE_KEY=" + base64.StdEncoding.EncodeToString(key), "WRONG_KEY=" + base64.StdEncoding.EncodeToString(wrong)}}
	cacheFile := filepath.Join(dir, "msal_cache.json")
	app := []string{"--authority", em.URL() + "/contoso.onmicrosoft.com", "--client-id", dc.ID}
	token := func(more ...string) []string {
		return slices.Concat([]string{"token", "client-credentials", "--secret-env", "APP_SECRET", "--cache", cacheFile}, app, more)
	}
	run := func(wantStatus int, args ...string) (tokenOutput, string) {
		t.Helper()
		stdout, stderr, status := c.run(t, args...)
		if status != wantStatus {
			t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, status, wantStatus, stdout, stderr)
		}
		var out tokenOutput
		if strings.HasPrefix(stdout, "{") {
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatal(err)
			}
		}
		if strings.Contains(stdout+stderr, base64.StdEncoding.EncodeToString(key)) {
			t.Fatalf("the output shows the key:\n%s%s", stdout, stderr)
		}
		return out, stderr
	}
	read := func() []byte {
		t.Helper()
		data, err := os.ReadFile(cacheFile)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	first, _ := run(0, token("--cache-key-env", "CACHE_KEY")...)
	stored := read()
	if first.Source != "identity_provider" || first.AccessToken == "" || bytes.Contains(stored, []byte(first.AccessToken)) {
		t.Fatalf("source %s; the cache file holds the token in the clear: %v", first.Source, bytes.Contains(stored, []byte(first.AccessToken)))
	}
	second, _ := run(0, token("--cache-key-env", "CACHE_KEY")...)
	if second.Source != "cache" || second.AccessToken != first.AccessToken {
		t.Fatalf("with the key: source %s", second.Source)
	}
	// The same key from a file names it alike.
	if fromFile, _ := run(0, token("--cache-key-file", keyFile)...); fromFile.Source != "cache" {
		t.Fatalf("with the key file: source %s", fromFile.Source)
	}

	stored = read()
	wrongRun, stderr := run(0, token("--cache-key-env", "WRONG_KEY")...)
	if wrongRun.Source != "identity_provider" || !strings.Contains(stderr, "cache_decryption_failed") {
		t.Fatalf("with the wrong key: source %s\nstderr: %s", wrongRun.Source, stderr)
	}
	if strings.Contains(stderr, wrongRun.AccessToken) || strings.Contains(stderr, first.AccessToken) {
		t.Fatal("a token is on stderr")
	}
	if !bytes.Equal(read(), stored) {
		t.Fatal("the run with the wrong key changed the cache file")
	}
	// Commands that only read the cache have nothing to fall back on.
	accounts := func(more ...string) []string {
		return slices.Concat([]string{"accounts", "list", "--cache", cacheFile}, app, more)
	}
	if _, stderr := run(1, accounts("--cache-key-env", "WRONG_KEY")...); !strings.Contains(stderr, "entra: cache_decryption_failed: ") {
		t.Fatalf("accounts list with the wrong key: %s", stderr)
	}
	run(0, accounts("--cache-key-file", keyFile)...)
	// Without a key the file is not a cache.
	if _, stderr := run(1, token()...); !strings.Contains(stderr, "invalid_cache_data") {
		t.Fatalf("without the key: %s", stderr)
	}
	if !bytes.Equal(read(), stored) {
		t.Fatal("a failed run changed the cache file")
	}
}

// TestEncryptingAPlaintextCacheFile: a cache file written without a key is
// read with one, and encrypted at its next write.
func TestEncryptingAPlaintextCacheFile(t *testing.T) {
	t.Parallel()
	em, ca, _ := startEmulator(t)
	dc := em.DefaultClient()
	key := make([]byte, 32)
	rand.Read(key)
	c := cli{bin: binary(t), env: []string{"SSL_CERT_FILE=" + ca, "APP_SECRET=" + dc.Secret, "CACHE_KEY=" + base64.StdEncoding.EncodeToString(key)}}
	cacheFile := filepath.Join(t.TempDir(), "msal_cache.json")
	token := func(more ...string) []string {
		return slices.Concat([]string{"token", "client-credentials", "--authority", em.URL() + "/contoso.onmicrosoft.com", "--client-id", dc.ID,
			"--secret-env", "APP_SECRET", "--cache", cacheFile, "-o", "text"}, more)
	}
	for i, args := range [][]string{token(), token("--cache-key-env", "CACHE_KEY", "--force-refresh")} {
		stdout, stderr, status := c.run(t, args...)
		if status != 0 {
			t.Fatalf("run %d: exit %d: %s", i, status, stderr)
		}
		data, _ := os.ReadFile(cacheFile)
		if inClear := bytes.Contains(data, []byte(strings.TrimSpace(stdout))); inClear != (i == 0) {
			t.Fatalf("run %d: token in the clear in the file: %v", i, inClear)
		}
	}
	if stdout, stderr, status := c.run(t, token("--cache-key-env", "CACHE_KEY", "-o", "json")...); status != 0 || !strings.Contains(stdout, `"source": "cache"`) {
		t.Fatalf("after the migration: exit %d\n%s%s", status, stdout, stderr)
	}
}

// TestCacheKeyFlagsUsage: every command that takes --cache takes the key
// flags, and refuses both at once, or a key without --cache.
func TestCacheKeyFlagsUsage(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	cacheFile := filepath.Join(t.TempDir(), "c.json")
	app := []string{"--authority", "https://login.microsoftonline.com/contoso.onmicrosoft.com", "--client-id", "c", "--secret-env", "APP_SECRET"}
	commands := map[string][]string{
		"client credentials": slices.Concat([]string{"token", "client-credentials"}, app),
		"silent":             slices.Concat([]string{"token", "silent", "--username", "u"}, app),
		"managed identity":   {"token", "managed-identity", "--resource", "https://vault.azure.net"},
		"accounts":           {"accounts", "list", "--authority", "https://login.microsoftonline.com/contoso.onmicrosoft.com", "--client-id", "c"},
		"http":               slices.Concat([]string{"http"}, app),
	}
	misuses := []struct {
		name, want string
		args       []string
	}{
		{"both keys", "give at most one of --cache-key-env and --cache-key-file",
			[]string{"--cache", cacheFile, "--cache-key-env", "K", "--cache-key-file", "k.key"}},
		{"a key without --cache", "give --cache", []string{"--cache-key-env", "K"}},
	}
	for name, command := range commands {
		for _, m := range misuses {
			if (name == "accounts" || name == "silent") && m.name == "a key without --cache" {
				m.want = "missing --cache: entra " // these commands read the cache: it comes first
			}
			t.Run(name+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				args := slices.Concat(command, m.args)
				if name == "http" {
					args = append(args, "https://example.com/")
				}
				_, stderr, status := cli{bin: bin, env: []string{"APP_SECRET=s"}}.run(t, args...)
				if status != 2 || !strings.Contains(stderr, m.want) {
					t.Fatalf("exit %d, want 2 and %q\nstderr: %s", status, m.want, stderr)
				}
			})
		}
	}
	if _, stderr, status := (cli{bin: bin}).run(t, "token", "client-credentials", "--cache", cacheFile, "--cache-key-env", "UNSET_KEY_VARIABLE",
		"--authority", "https://login.microsoftonline.com/contoso.onmicrosoft.com", "--client-id", "c", "--secret-env", "PATH"); status != 1 ||
		!strings.Contains(stderr, "invalid_credential_material") || !strings.Contains(stderr, "UNSET_KEY_VARIABLE") {
		t.Fatalf("an unset key variable: exit %d: %s", status, stderr)
	}
}
