package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra/entratest"
)

// cliBinary is the CLI, built once for the test run (without the race
// detector, whatever the tests run with: processes start fast). The tests
// exercise the real process contract: flags, exit statuses, stdout and
// stderr.
var cliBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "entra-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cliBinary = filepath.Join(dir, "entra")
	if out, err := exec.Command("go", "build", "-o", cliBinary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary is the CLI's executable.
func binary(*testing.T) string { return cliBinary }

// startEmulator starts an emulator for the test and writes its CA
// certificate and the default client's certificate and key (one PEM file)
// where a CLI process can read them.
func startEmulator(t *testing.T) (em *entratest.Emulator, caFile, clientCertFile string) {
	t.Helper()
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	dir := t.TempDir()
	dc := em.DefaultClient()
	caFile, clientCertFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem")
	for path, data := range map[string][]byte{caFile: em.CACertPEM(), clientCertFile: append(append([]byte{}, dc.CertPEM...), dc.KeyPEM...)} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return em, caFile, clientCertFile
}

type cli struct {
	bin  string
	env  []string
	home string
}

func (c cli) run(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), c.env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	status = 0
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), status
}

func TestTokenCommandsAgainstEmulator(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	em, ca, certFile := startEmulator(t)
	dir := filepath.Dir(ca)
	dc := em.DefaultClient()
	c := cli{bin: bin, env: []string{"SSL_CERT_FILE=" + ca, "APP_SECRET=" + dc.Secret, "WRONG_SECRET=nope-not-it-42"}}
	authority := em.URL() + "/contoso.onmicrosoft.com"
	user := em.IssueUserToken(entratest.User{Audience: dc.ID, Subject: "alice", TenantID: "contoso.onmicrosoft.com"})

	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStderr string
		check      func(t *testing.T, out tokenOutput)
		env        []string // more environment for this run
	}{
		{name: "client credentials with a secret",
			args: []string{"token", "client-credentials", "--authority", authority, "--client-id", dc.ID, "--secret-env", "APP_SECRET"},
			check: func(t *testing.T, out tokenOutput) {
				if out.Source != "identity_provider" || out.TokenType != "Bearer" || out.AccessToken == "" ||
					!strings.HasSuffix(out.TokenEndpoint, "/contoso.onmicrosoft.com/oauth2/v2.0/token") {
					t.Errorf("output %+v", out)
				}
				if _, err := time.Parse(time.RFC3339, out.ExpiresOn); err != nil {
					t.Errorf("expires_on %q is not RFC 3339", out.ExpiresOn)
				}
			}},
		{name: "client credentials with a certificate and x5c",
			args: []string{"token", "client-credentials", "--authority", authority, "--client-id", dc.ID, "--cert", certFile, "--send-x5c",
				"--scope", "https://management.azure.com/.default", "--capability", "cp1"},
			check: func(t *testing.T, out tokenOutput) {
				if out.AccessToken == "" {
					t.Errorf("output %+v", out)
				}
			}},
		{name: "obo",
			args: []string{"token", "obo", "--authority", authority, "--client-id", dc.ID, "--secret-env", "APP_SECRET",
				"--user-assertion", user, "--scope", "https://api.contoso.test/read"},
			check: func(t *testing.T, out tokenOutput) {
				if out.AccessToken == "" || out.Source != "identity_provider" {
					t.Errorf("output %+v", out)
				}
			}},
		{name: "client claims",
			args: []string{"token", "client-credentials", "--authority", authority, "--client-id", dc.ID, "--secret-env", "APP_SECRET",
				"--client-claims", `{"xms_az_nwperimid":{"essential":true}}`},
			check: func(t *testing.T, out tokenOutput) {
				if out.AccessToken == "" {
					t.Errorf("output %+v", out)
				}
			}},
		{name: "invalid client claims", args: []string{"token", "client-credentials", "--authority", authority, "--client-id", dc.ID, "--secret-env", "APP_SECRET",
			"--client-claims", `["nsp-secret-value"]`}, wantStatus: 1, wantStderr: "entra: invalid_json_claims_format: "},
		{name: "server error", args: []string{"token", "client-credentials", "--authority", authority, "--client-id", dc.ID, "--secret-env", "WRONG_SECRET"},
			wantStatus: 1, wantStderr: "entra: invalid_client: AADSTS"},
		{name: "plain http authority", args: []string{"token", "client-credentials", "--authority", "http://localhost/t", "--client-id", dc.ID, "--secret-env", "APP_SECRET"},
			wantStatus: 1, wantStderr: "entra: invalid_authority: "},
		{name: "unknown flag", args: []string{"token", "client-credentials", "--bogus"}, wantStatus: 2, wantStderr: "flag provided but not defined"},
		{name: "no credential", args: []string{"token", "client-credentials", "--authority", authority, "--client-id", dc.ID},
			wantStatus: 2, wantStderr: "no --authority (or --tenant), --client-id or credential flag, and the AZURE_* environment cannot stand in"},
		{name: "unknown command", args: []string{"frobnicate"}, wantStatus: 2, wantStderr: "unknown command"},
		{name: "the AZURE_* environment stands in for the flags",
			args: []string{"token", "client-credentials"},
			env: []string{"AZURE_CLIENT_ID=" + dc.ID, "AZURE_TENANT_ID=contoso.onmicrosoft.com", "AZURE_AUTHORITY_HOST=" + em.URL() + "/",
				"AZURE_CLIENT_SECRET=" + dc.Secret},
			check: func(t *testing.T, out tokenOutput) {
				if out.AccessToken == "" || out.Credential != "secret" || !strings.HasSuffix(out.TokenEndpoint, "/contoso.onmicrosoft.com/oauth2/v2.0/token") {
					t.Errorf("output %+v", out)
				}
			}},
		{name: "flags override the environment",
			args: []string{"token", "client-credentials", "--cert", certFile},
			env: []string{"AZURE_CLIENT_ID=" + dc.ID, "AZURE_TENANT_ID=contoso.onmicrosoft.com", "AZURE_AUTHORITY_HOST=" + em.URL() + "/",
				"AZURE_CLIENT_SECRET=" + dc.Secret},
			check: func(t *testing.T, out tokenOutput) {
				if out.AccessToken == "" || out.Credential != "certificate" {
					t.Errorf("output %+v", out)
				}
			}},
		{name: "conflicting environment", args: []string{"token", "client-credentials"},
			env:        []string{"AZURE_CLIENT_ID=" + dc.ID, "AZURE_TENANT_ID=t", "AZURE_CLIENT_SECRET=" + dc.Secret, "AZURE_FEDERATED_TOKEN_FILE=/t"},
			wantStatus: 2, wantStderr: "more than one credential (AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE)"},
		{name: "two credential flags", args: []string{"token", "client-credentials", "--authority", authority, "--client-id", dc.ID,
			"--secret-env", "APP_SECRET", "--federated-token-file", "/t"}, wantStatus: 2, wantStderr: "at most one of --secret-env"},
		{name: "a bad managed identity assertion", args: []string{"token", "client-credentials", "--authority", authority, "--client-id", dc.ID,
			"--managed-identity-assertion", "client-id"}, wantStatus: 2, wantStderr: "--managed-identity-assertion is system, client-id=ID"},
		{name: "unreadable certificate", args: []string{"token", "client-credentials", "--authority", authority, "--client-id", dc.ID, "--cert", filepath.Join(dir, "missing.pem")},
			wantStatus: 1, wantStderr: "entra: invalid_credential_material: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := c
			run.env = append(append([]string(nil), c.env...), tt.env...)
			stdout, stderr, status := run.run(t, tt.args...)
			if status != tt.wantStatus {
				t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", status, tt.wantStatus, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.wantStderr)
			}
			for _, secret := range []string{dc.Secret, "nope-not-it-42", user, "nsp-secret-value"} {
				if strings.Contains(stderr, secret) {
					t.Errorf("stderr shows secret material")
				}
			}
			if tt.check != nil {
				var out tokenOutput
				if err := json.Unmarshal([]byte(stdout), &out); err != nil {
					t.Fatalf("stdout is not the JSON contract: %v\n%s", err, stdout)
				}
				tt.check(t, out)
			}
		})
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	status := run(context.Background(), []string{"demo"}, env{stdout: &stdout, stderr: &stderr, getenv: os.Getenv})
	if status != 0 {
		t.Fatalf("demo exited %d: %s", status, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"client credentials", "on-behalf-of", "eastus.login.microsoft.com", "login.microsoftonline.com",
		"certificate (PS256 assertion)", "hit", "miss", "1 token request(s) for 200 callers", "cache bypassed", "reformatted claims",
		"managed identity, imds", "managed identity, app_service", "managed identity, azure_arc", "managed identity, cloud_shell",
		"managed identity, service_fabric", "managed identity, machine_learning", "challenge file",
		"auth code + PKCE", "access token from the cache", "cached refresh token redeemed", "refresh token (held by the caller)",
		"mTLS matrix", "certificate over mTLS  mtlsauth.microsoft.com     yes          yes                Bearer      hit",
		"mTLS PoP               mtlsauth.microsoft.com     yes          no                 mtls_pop    hit",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

func TestEmulatorCommand(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			stdout := runEmulatorUntilReady(t, dir, "-o", format)
			ca := filepath.Join(dir, "ca.pem")
			pemData, err := os.ReadFile(ca)
			if err != nil || !bytes.Contains(pemData, []byte("BEGIN CERTIFICATE")) {
				t.Fatalf("CA file: %v", err)
			}
			if info, _ := os.Stat(ca); info.Mode().Perm() != 0o600 {
				t.Errorf("CA file mode %v", info.Mode().Perm())
			}
			if format == "text" {
				if !strings.Contains(stdout, "token service:  https://localhost:") || !strings.Contains(stdout, ca) {
					t.Fatalf("output:\n%s", stdout)
				}
				return
			}
			var out emulatorInfo
			if err := json.Unmarshal([]byte(stdout), &out); err != nil || !strings.HasPrefix(out.TokenService, "https://localhost:") ||
				out.CAFile != ca || out.DefaultClient.ClientID == "" || !strings.HasPrefix(out.ManagedIdentity["imds"]["AZURE_POD_IDENTITY_AUTHORITY_HOST"], "http://") {
				t.Fatalf("output %+v (%v):\n%s", out, err, stdout)
			}
			if secret, err := os.ReadFile(out.DefaultClient.SecretFile); err != nil || len(secret) == 0 || strings.Contains(stdout, string(secret)) {
				t.Fatalf("the default client's secret is not in its file alone (%v)", err)
			}
		})
	}
}

// runEmulatorUntilReady runs "entra emulator" in-process until it has
// written its files, then stops it and returns what it printed.
func runEmulatorUntilReady(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, append([]string{"emulator", "--addr", "127.0.0.1:0", "--dir", dir}, args...), env{stdout: &stdout, stderr: &stderr, getenv: os.Getenv})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, "client-cert.pem")); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if status := <-done; status != 0 {
		t.Fatalf("exit %d: %s", status, stderr.String())
	}
	return stdout.String()
}

// TestFederatedCredentialFlags: --federated-token-file and
// --managed-identity-assertion, with the built CLI against the emulator.
func TestFederatedCredentialFlags(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	em, ca, _ := startEmulator(t)
	dc := em.DefaultClient()
	issuer := em.NewIssuer("cluster")
	em.RegisterClient(entratest.Client{ID: dc.ID, FederatedCredentials: []entratest.FederatedCredential{
		{Issuer: issuer.URL(), Subject: "system:serviceaccount:ns:app", Audience: "api://AzureADTokenExchange"},
		{Issuer: "https://login.microsoftonline.com/" + em.DefaultUser().TenantID + "/v2.0",
			Subject: em.ManagedIdentityObjectID("client_id", "c0ffee00-0000-4000-8000-000000000001"), Audience: "api://AzureADTokenExchange"},
	}})
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := issuer.WriteTokenFile(tokenFile, "system:serviceaccount:ns:app", "api://AzureADTokenExchange", time.Hour); err != nil {
		t.Fatal(err)
	}
	c := cli{bin: bin, env: []string{"SSL_CERT_FILE=" + ca, "AZURE_POD_IDENTITY_AUTHORITY_HOST=" + em.IMDSURL()}}
	app := []string{"token", "client-credentials", "--authority", em.URL() + "/contoso.onmicrosoft.com", "--client-id", dc.ID}
	for _, tt := range []struct {
		flags []string
		kind  string
	}{
		{[]string{"--federated-token-file", tokenFile}, "workload_identity"},
		{[]string{"--managed-identity-assertion", "client-id=c0ffee00-0000-4000-8000-000000000001"}, "managed_identity"},
	} {
		stdout, stderr, status := c.run(t, append(append([]string(nil), app...), tt.flags...)...)
		var out tokenOutput
		if status != 0 || json.Unmarshal([]byte(stdout), &out) != nil || out.Credential != tt.kind || out.AccessToken == "" {
			t.Fatalf("%v: exit %d, output %+v\nstderr: %s", tt.flags, status, out, stderr)
		}
	}
	if n := len(em.Requests("imds")); n != 1 {
		t.Fatalf("%d IMDS requests, want one for the identity's exchange token", n)
	}
}
