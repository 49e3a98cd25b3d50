package main

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestHTTPCommand runs the built CLI against the emulator (tokens) and an
// API of the test's own, which answers its first call with a CAE claims
// challenge.
func TestHTTPCommand(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	em, ca, _ := startEmulator(t)
	dc := em.DefaultClient()
	const claims = `{"access_token":{"nbf":{"essential":true,"value":"1732960000"}}}`
	var mu sync.Mutex
	var seen []string
	challenged := map[string]bool{}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Header.Get("Authorization"))
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == "/cae" && !challenged[r.URL.RawQuery] {
			challenged[r.URL.RawQuery] = true
			w.Header().Set("WWW-Authenticate", `Bearer realm="", error="insufficient_claims", claims="`+
				base64.StdEncoding.EncodeToString([]byte(claims))+`"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Seen", r.Method+" "+r.Header.Get("X-Custom"))
		io.WriteString(w, "api got: "+string(body))
	}))
	t.Cleanup(api.Close)
	c := cli{bin: bin, env: []string{"SSL_CERT_FILE=" + ca, "APP_SECRET=" + dc.Secret,
		"AZURE_POD_IDENTITY_AUTHORITY_HOST=" + em.IMDSURL()}}
	app := []string{"--authority", em.URL() + "/contoso.onmicrosoft.com", "--client-id", dc.ID, "--secret-env", "APP_SECRET",
		"--scope", "api://my-api/.default"}

	stdout, stderr, status := c.run(t, append(append([]string{"http", "-i", "-H", "X-Custom: yes", "--data", "hello"}, app...), api.URL+"/cae?1")...)
	if status != 0 || !strings.Contains(stdout, "200 OK") || !strings.Contains(stdout, "X-Seen: POST yes") || !strings.HasSuffix(stdout, "api got: hello") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", status, stdout, stderr)
	}
	tokenRequests := em.Requests("token")
	if len(tokenRequests) != 2 || tokenRequests[1].Form.Get("claims") != claims {
		t.Fatalf("%d token requests; want a second one with the decoded challenge", len(tokenRequests))
	}
	mu.Lock()
	if len(seen) != 2 || !strings.HasPrefix(seen[0], "Bearer ") || seen[0] == seen[1] {
		t.Fatalf("the API saw %d calls; want the first token, then a new one", len(seen))
	}
	mu.Unlock()

	stdout, stderr, status = c.run(t, append(append([]string{"http"}, app...), api.URL+"/missing")...)
	if status != 1 || !strings.Contains(stderr, "entra: http_status: the resource answered 404 Not Found") || !strings.Contains(stdout, "404 page not found") {
		t.Fatalf("404: exit %d\nstdout: %s\nstderr: %s", status, stdout, stderr)
	}
	stdout, stderr, status = c.run(t, "http", "--managed-identity", "--scope", "https://management.azure.com/.default", api.URL+"/mi")
	if status != 0 || stdout != "api got: " || len(em.Requests("imds")) != 1 {
		t.Fatalf("managed identity: exit %d, %d IMDS requests\nstdout: %s\nstderr: %s", status, len(em.Requests("imds")), stdout, stderr)
	}
	for _, out := range []string{stdout, stderr} {
		if strings.Contains(out, dc.Secret) || strings.Contains(out, "eyJ") {
			t.Errorf("the output shows a secret or a token: %s", out)
		}
	}
	// --cache is honoured: a second process is served from the file.
	cached := slices.Concat(app, []string{"--cache", filepath.Join(t.TempDir(), "cache.json")})
	before := len(em.Requests("token"))
	for range 2 {
		if stdout, stderr, status = c.run(t, append(append([]string{"http"}, cached...), api.URL+"/cached")...); status != 0 {
			t.Fatalf("with --cache: exit %d\nstdout: %s\nstderr: %s", status, stdout, stderr)
		}
	}
	if n := len(em.Requests("token")) - before; n != 1 {
		t.Errorf("two calls with --cache made %d token requests, want 1", n)
	}
	if _, stderr, status = c.run(t, "http", api.URL, "extra"); status != 2 || !strings.Contains(stderr, "give one URL") {
		t.Errorf("two URLs: exit %d, %s", status, stderr)
	}
}
