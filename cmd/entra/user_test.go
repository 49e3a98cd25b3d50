package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
)

// TestUserFlowsAndCacheFile runs the built binary through the user flows
// with a cache file: each command is a fresh process, so what one leaves
// in the file is all the next one has.
func TestUserFlowsAndCacheFile(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	em, caFile, _ := startEmulator(t)
	dir := filepath.Dir(caFile)
	dc := em.DefaultClient()
	cacheFile := filepath.Join(dir, "cache", "msal_cache.json")
	c := cli{bin: bin, env: []string{"SSL_CERT_FILE=" + caFile, "APP_SECRET=" + dc.Secret}}
	authority := em.URL() + "/contoso.onmicrosoft.com"
	common := []string{"--authority", authority, "--client-id", dc.ID, "--secret-env", "APP_SECRET", "--cache", cacheFile}
	run := func(wantStatus int, args ...string) (tokenOutput, string) {
		t.Helper()
		stdout, stderr, status := c.run(t, args...)
		if status != wantStatus {
			t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, status, wantStatus, stdout, stderr)
		}
		var out tokenOutput
		if wantStatus == 0 && strings.HasPrefix(strings.TrimSpace(stdout), "{") {
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("%v: output is not the JSON contract: %v\n%s", args, err, stdout)
			}
		}
		return out, stdout + stderr
	}
	requests := func() int { return len(em.Requests("token")) }

	// Client credentials: the second identical process is served from the file.
	first, _ := run(0, append([]string{"token", "client-credentials"}, common...)...)
	before := requests()
	second, _ := run(0, append([]string{"token", "client-credentials"}, common...)...)
	if first.Source != "identity_provider" || second.Source != "cache" || second.AccessToken != first.AccessToken || requests() != before {
		t.Fatalf("second run: %+v (requests %d → %d)", second, before, requests())
	}
	if fi, err := os.Stat(cacheFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v %v", fi.Mode().Perm(), err)
	}

	// The front channel, then the code in another process.
	_, raw := run(0, "auth-url", "--authority", authority, "--client-id", dc.ID, "--redirect-uri", entratest.DefaultRedirectURI,
		"--scope", "https://graph.microsoft.com/User.Read") // json by default
	var a struct{ URL, State, Nonce, CodeVerifier string }
	var fields map[string]string
	json.Unmarshal([]byte(raw), &fields)
	a.URL, a.State, a.Nonce, a.CodeVerifier = fields["url"], fields["state"], fields["nonce"], fields["code_verifier"]
	if a.URL == "" || a.State == "" || a.Nonce == "" || len(a.CodeVerifier) < 43 {
		t.Fatalf("auth-url -o json: %s", raw)
	}
	back, err := em.SignIn(context.Background(), a.URL)
	if err != nil {
		t.Fatal(err)
	}
	code, err := confidential.CodeFromRedirect(a.State, back.Query())
	if err != nil {
		t.Fatal(err)
	}
	user := em.DefaultUser()
	signedIn, _ := run(0, append([]string{"token", "auth-code", "--code", code, "--redirect-uri", entratest.DefaultRedirectURI,
		"--code-verifier", a.CodeVerifier, "--nonce", a.Nonce, "--scope", "https://graph.microsoft.com/User.Read"}, common...)...)
	if signedIn.Account == nil || signedIn.Account.Username != user.Username || signedIn.Account.TenantID != user.TenantID ||
		signedIn.Account.HomeAccountID != user.ObjectID+"."+user.TenantID {
		t.Fatalf("auth-code account: %+v", signedIn.Account)
	}
	run(1, append([]string{"token", "auth-code", "--code", code, "--redirect-uri", entratest.DefaultRedirectURI,
		"--code-verifier", a.CodeVerifier, "--scope", "https://graph.microsoft.com/User.Read"}, common...)...) // replayed code

	// Silent in fresh processes: the access token from the file, then the
	// refresh token from the file.
	before = requests()
	hit, _ := run(0, append([]string{"token", "silent", "--username", strings.ToUpper(user.Username), "--scope", "https://graph.microsoft.com/User.Read"}, common...)...)
	if hit.Source != "cache" || requests() != before || hit.Account == nil {
		t.Fatalf("silent: %+v", hit)
	}
	refreshed, _ := run(0, append([]string{"token", "silent", "--account", signedIn.Account.HomeAccountID, "--scope", "https://api.contoso.test/read"}, common...)...)
	reqs := em.Requests("token")
	if refreshed.Source != "identity_provider" || reqs[len(reqs)-1].Form.Get("grant_type") != "refresh_token" {
		t.Fatalf("silent for another scope: %+v", refreshed)
	}

	// Accounts.
	_, listed := run(0, "accounts", "list", "--authority", authority, "--client-id", dc.ID, "--cache", cacheFile)
	var accounts []accountOutput
	if err := json.Unmarshal([]byte(listed), &accounts); err != nil || len(accounts) != 1 || accounts[0].Username != user.Username {
		t.Fatalf("accounts list: %s (%v)", listed, err)
	}
	_, text := run(0, "accounts", "list", "--authority", authority, "--client-id", dc.ID, "--cache", cacheFile, "-o", "text")
	if want := user.Username + "\t" + accounts[0].HomeAccountID + "\t" + accounts[0].TenantID + "\n"; text != want {
		t.Fatalf("accounts list -o text: %q, want %q", text, want)
	}
	_, removed := run(0, "accounts", "remove", "--authority", authority, "--client-id", dc.ID, "--cache", cacheFile, "--username", user.Username)
	if err := json.Unmarshal([]byte(removed), &accounts); err != nil || len(accounts) != 1 || accounts[0].Username != user.Username {
		t.Fatalf("accounts remove: %s (%v)", removed, err)
	}
	_, listed = run(0, "accounts", "list", "--authority", authority, "--client-id", dc.ID, "--cache", cacheFile)
	if strings.TrimSpace(listed) != "[]" {
		t.Fatalf("accounts after removal: %s", listed)
	}
	_, msg := run(1, append([]string{"token", "silent", "--username", user.Username}, common...)...)
	if !strings.Contains(msg, "entra: interaction_required: ") {
		t.Fatalf("silent for a removed account: %s", msg)
	}

	// A refresh token held elsewhere.
	secret, _ := credential.NewSecret(dc.Secret)
	lib, err := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com", ClientID: dc.ID,
		Credential: secret, HTTPClient: em.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	libAuth, _ := lib.AuthCodeURL(context.Background(), confidential.AuthorizationRequest{RedirectURI: entratest.DefaultRedirectURI, Scopes: []string{"User.Read"}})
	back, _ = em.SignIn(context.Background(), libAuth.URL)
	libCode, _ := confidential.CodeFromRedirect(libAuth.State, back.Query())
	libTok, err := lib.AcquireTokenByAuthCode(context.Background(), confidential.AuthCode{Code: libCode, RedirectURI: entratest.DefaultRedirectURI,
		CodeVerifier: libAuth.CodeVerifier}, confidential.TokenRequest{Scopes: []string{"User.Read"}})
	if err != nil {
		t.Fatal(err)
	}
	redeemed, _ := run(0, append([]string{"token", "refresh", "--refresh-token", libTok.RefreshToken, "--scope", "User.Read"}, common...)...)
	if redeemed.Account == nil || redeemed.Account.Username != user.Username {
		t.Fatalf("token refresh: %+v", redeemed)
	}
	c.env = append(c.env, "SPENT_RT="+libTok.RefreshToken)
	_, msg = run(1, append([]string{"token", "refresh", "--refresh-token-env", "SPENT_RT", "--scope", "User.Read"}, common...)...)
	if !strings.Contains(msg, "entra: invalid_grant: ") || strings.Contains(msg, libTok.RefreshToken) {
		t.Fatalf("spent refresh token: %s", msg)
	}
	_, msg = run(2, append([]string{"token", "refresh", "--scope", "User.Read"}, common...)...)
	if !strings.Contains(msg, "--refresh-token and --refresh-token-env") {
		t.Fatalf("refresh without a token: %s", msg)
	}

	// Bad input: client claims never go on the authorization URL, so
	// auth-url does not offer the flag.
	_, msg = run(2, "auth-url", "--authority", authority, "--client-id", dc.ID, "--redirect-uri", entratest.DefaultRedirectURI,
		"--client-claims", `{"xms_az_nwperimid":{"essential":true}}`)
	if !strings.Contains(msg, "flag provided but not defined: -client-claims") || strings.Contains(msg, "xms_az_nwperimid") {
		t.Fatalf("auth-url with client claims: %s", msg)
	}
	_, msg = run(2, append([]string{"token", "silent"}, common...)...)
	if !strings.Contains(msg, "--account and --username") {
		t.Fatalf("silent without an account: %s", msg)
	}
	if err := os.WriteFile(cacheFile, []byte(`{"AccessToken": {`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, msg = run(1, append([]string{"token", "client-credentials"}, common...)...)
	if !strings.Contains(msg, "entra: invalid_cache_data: ") {
		t.Fatalf("corrupt cache file: %s", msg)
	}
	if data, _ := os.ReadFile(cacheFile); string(data) != `{"AccessToken": {` {
		t.Fatal("the corrupt cache file was overwritten")
	}
}

// TestMTLSFlags runs in-process, so the CLI can reach the emulator as
// login.microsoftonline.com and its mTLS hosts.
func TestMTLSFlags(t *testing.T) {
	t.Parallel()
	em, _, certFile := startEmulator(t)
	dc := em.DefaultClient()
	block, _ := pem.Decode(dc.CertPEM)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	authority := "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555"
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStderr string
		check      func(t *testing.T, out tokenOutput)
	}{
		{name: "bearer over mTLS", args: []string{"token", "client-credentials", "--cert", certFile, "--mtls"},
			check: func(t *testing.T, out tokenOutput) {
				if out.TokenType != "Bearer" || !strings.HasPrefix(out.TokenEndpoint, "https://mtlsauth.microsoft.com/") || out.BindingCertificateSHA256 != "" {
					t.Errorf("%+v", out)
				}
			}},
		{name: "PoP, regional", args: []string{"token", "client-credentials", "--cert", certFile, "--mtls-pop", "--region", "westus2"},
			check: func(t *testing.T, out tokenOutput) {
				if out.TokenType != "mtls_pop" || !strings.HasPrefix(out.TokenEndpoint, "https://westus2.mtlsauth.microsoft.com/") ||
					out.BindingCertificateSHA256 != thumbprint(leaf) || out.Region != "westus2" {
					t.Errorf("%+v", out)
				}
			}},
		{name: "mtls with a secret", args: []string{"token", "client-credentials", "--secret-env", "APP_SECRET", "--mtls"},
			wantStatus: 2, wantStderr: "entra: --mtls needs a certificate (--cert); --secret-env gives none to present"},
		{name: "pop with a secret", args: []string{"token", "client-credentials", "--secret-env", "APP_SECRET", "--mtls-pop"},
			wantStatus: 2, wantStderr: "entra: --mtls-pop needs a certificate (--cert); --secret-env gives none to present"},
		{name: "mtls without any credential flag or certificate in the environment", args: []string{"token", "obo", "--mtls", "--user-assertion", "x"},
			wantStatus: 2, wantStderr: "entra: --mtls needs a certificate: give --cert (or AZURE_CLIENT_CERTIFICATE_PATH)"},
		{name: "region on a user flow without mtls", args: []string{"token", "obo", "--cert", certFile, "--region", "westus2", "--user-assertion", "x"},
			wantStatus: 2, wantStderr: "entra: --region needs --mtls on obo"},
		{name: "pop is client credentials only", args: []string{"token", "obo", "--cert", certFile, "--mtls-pop", "--user-assertion", "x"},
			wantStatus: 2, wantStderr: "flag provided but not defined: -mtls-pop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			e := env{stdout: &stdout, stderr: &stderr, httpClient: em.HTTPClient(),
				getenv: func(k string) string { return map[string]string{"APP_SECRET": dc.Secret}[k] }}
			status := run(context.Background(), append(tt.args, "--authority", authority, "--client-id", dc.ID), e)
			if status != tt.wantStatus || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Fatalf("exit %d (want %d): %s", status, tt.wantStatus, stderr.String())
			}
			if tt.check != nil {
				var out tokenOutput
				if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
					t.Fatal(err)
				}
				tt.check(t, out)
			}
		})
	}
}
