package main

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra/entratest"
)

// doctorOutput is doctor's JSON as a test reads it.
type doctorOutput struct {
	Checks []struct {
		Name, Status, Detail, Hint string
		Data                       map[string]any
	}
	OK, Warnings, Failures int
}

func (d doctorOutput) check(t *testing.T, name string) (status, detail string, data map[string]any) {
	t.Helper()
	for _, c := range d.Checks {
		if c.Name == name {
			return c.Status, c.Detail, c.Data
		}
	}
	t.Fatalf("no %q check in %+v", name, d)
	return
}

// doctorRun runs the built doctor with -o json and the managed identity
// variables of this process cleared, and checks it ends within its bound.
func doctorRun(t *testing.T, c cli, wantStatus int, args ...string) doctorOutput {
	t.Helper()
	for _, v := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT",
		"MSI_SECRET", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "REGION_NAME", "MSAL_FORCE_REGION", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_AUTHORITY_HOST"} {
		if !slices.ContainsFunc(c.env, func(kv string) bool { return strings.HasPrefix(kv, v+"=") }) {
			c.env = append(c.env, v+"=")
		}
	}
	start := time.Now()
	stdout, stderr, status := c.run(t, append([]string{"doctor", "-o", "json"}, args...)...)
	if took := time.Since(start); took > doctorBound+2*time.Second {
		t.Errorf("doctor took %v, beyond its bound", took)
	}
	var out doctorOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("doctor output: %v\n%s\nstderr: %s", err, stdout, stderr)
	}
	if status != wantStatus || (out.Failures > 0) != (wantStatus == 1) {
		t.Fatalf("exit %d (want %d), %d failure(s)\n%s\nstderr: %s", status, wantStatus, out.Failures, stdout, stderr)
	}
	return out
}

// TestDoctorManagedIdentity: with each host's environment (the emulator's
// endpoints), doctor names the source and the variables that decided it,
// never their values.
func TestDoctorManagedIdentity(t *testing.T) {
	t.Parallel()
	em, _, _ := startEmulator(t)
	tests := []struct {
		source, wantVars string
	}{
		{"imds", "AZURE_POD_IDENTITY_AUTHORITY_HOST"},
		{"app_service", "IDENTITY_ENDPOINT IDENTITY_HEADER"},
		{"azure_arc", "IDENTITY_ENDPOINT IMDS_ENDPOINT"},
		{"cloud_shell", "MSI_ENDPOINT"},
		{"service_fabric", "IDENTITY_ENDPOINT IDENTITY_HEADER IDENTITY_SERVER_THUMBPRINT"},
		{"machine_learning", "MSI_ENDPOINT MSI_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			t.Parallel()
			c := cli{bin: binary(t)}
			for k, v := range em.ManagedIdentityEnv(tt.source) {
				c.env = append(c.env, k+"="+v)
			}
			out := doctorRun(t, c, 0)
			status, detail, data := out.check(t, "managed identity")
			vars, _ := data["variables"].([]any)
			var names []string
			for _, v := range vars {
				names = append(names, v.(string))
			}
			if status != "ok" || data["source"] != tt.source || strings.Join(names, " ") != tt.wantVars ||
				!strings.HasPrefix(detail, "source "+tt.source+", from ") {
				t.Fatalf("%s %q %v", status, detail, data)
			}
			raw, _ := json.Marshal(out)
			for k, v := range em.ManagedIdentityEnv(tt.source) {
				if strings.Contains(k, "HEADER") || strings.Contains(k, "SECRET") {
					if strings.Contains(string(raw), v) {
						t.Fatalf("doctor shows %s's value", k)
					}
				}
			}
			if tt.source != "imds" {
				if status, _, _ := out.check(t, "IMDS v1"); status != "ok" {
					t.Fatalf("IMDS v1 on a host of %s: %s, want ok: the source does not need it", tt.source, status)
				}
			}
			if tt.source == "imds" {
				if status, detail, _ := out.check(t, "IMDS v1"); status != "ok" || !strings.Contains(detail, em.IMDSURL()+" answers as IMDS") {
					t.Fatalf("IMDS v1: %s %s", status, detail)
				}
				if status, detail, _ := out.check(t, "IMDS v2"); status != "ok" || !strings.Contains(detail, "available") { // the emulator serves IMDSv2
					t.Fatalf("IMDS v2: %s %s", status, detail)
				}
			}
		})
	}
}

// TestDoctorIMDSv1Only: on a host whose IMDS has no IMDSv2 endpoints,
// doctor says PoP tokens are not available there, without failing.
func TestDoctorIMDSv1Only(t *testing.T) {
	t.Parallel()
	em, err := entratest.New(entratest.Options{IMDSv1Only: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	c := cli{bin: binary(t)}
	for k, v := range em.ManagedIdentityEnv("imds") {
		c.env = append(c.env, k+"="+v)
	}
	out := doctorRun(t, c, 0)
	if status, detail, _ := out.check(t, "IMDS v2"); status != "ok" || !strings.Contains(detail, "IMDS v1 only") {
		t.Fatalf("IMDS v2 on a v1-only host: %s %s", status, detail)
	}
}

// TestDoctorNoEnvironment: with no managed identity variable, IMDS is the
// default, every network check ends within the bound, and none fails.
func TestDoctorNoEnvironment(t *testing.T) {
	t.Parallel()
	out := doctorRun(t, cli{bin: binary(t)}, 0)
	if status, detail, _ := out.check(t, "managed identity"); status != "ok" || !strings.Contains(detail, "source imds, the default") {
		t.Fatalf("%s %s", status, detail)
	}
	for _, name := range []string{"IMDS v1", "IMDS v2", "region", "clock skew"} {
		out.check(t, name)
	}
}

// TestDoctorChecks: region from the environment, clock skew against the
// emulator, a certificate, and cache files good and bad.
func TestDoctorChecks(t *testing.T) {
	t.Parallel()
	em, ca, certFile := startEmulator(t)
	dc := em.DefaultClient()
	dir := t.TempDir()
	c := cli{bin: binary(t), env: []string{"SSL_CERT_FILE=" + ca, "AZURE_AUTHORITY_HOST=" + em.URL(), "REGION_NAME=West Europe", "APP_SECRET=" + dc.Secret}}
	cacheFile := filepath.Join(dir, "cache.json")
	if _, stderr, status := c.run(t, "token", "client-credentials", "--authority", em.URL()+"/contoso.onmicrosoft.com", "--client-id", dc.ID,
		"--secret-env", "APP_SECRET", "--cache", cacheFile); status != 0 {
		t.Fatal(stderr)
	}

	out := doctorRun(t, c, 0, "--cert", certFile, "--cache", cacheFile)
	if status, detail, _ := out.check(t, "region"); status != "ok" || detail != "westeurope, from REGION_NAME" {
		t.Errorf("region: %s %q", status, detail)
	}
	if status, detail, _ := out.check(t, "clock skew"); status != "ok" || !strings.Contains(detail, "against "+em.URL()) {
		t.Errorf("clock skew: %s %q", status, detail)
	}
	block, _ := pem.Decode(dc.CertPEM)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	status, detail, data := out.check(t, "certificate")
	if status != "ok" || data["x5t#S256"] != thumbprint(leaf) || data["key_matches"] != true || !strings.Contains(detail, "key matches") {
		t.Errorf("certificate: %s %q %v", status, detail, data)
	}
	if status, detail, _ := out.check(t, "cache contents"); status != "ok" || !strings.HasPrefix(detail, "1 access token(s) (0 expired)") {
		t.Errorf("cache contents: %s %q", status, detail)
	}
	if status, _, _ := out.check(t, "cache file"); status != "ok" {
		t.Errorf("cache file: %s", status)
	}

	if err := os.Chmod(cacheFile, 0o644); err != nil {
		t.Fatal(err)
	}
	out = doctorRun(t, c, 0, "--cache", cacheFile)
	if status, _, _ := out.check(t, "cache file"); status != "warn" {
		t.Errorf("a cache others can read: %s", status)
	}

	encryptedFile := filepath.Join(dir, "encrypted.json")
	keyed := c
	keyed.env = append(append([]string(nil), c.env...), "CACHE_KEY="+base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if _, stderr, status := keyed.run(t, "token", "client-credentials", "--authority", em.URL()+"/contoso.onmicrosoft.com", "--client-id", dc.ID,
		"--secret-env", "APP_SECRET", "--cache", encryptedFile, "--cache-key-env", "CACHE_KEY"); status != 0 {
		t.Fatal(stderr)
	}
	out = doctorRun(t, c, 0, "--cache", encryptedFile)
	if status, detail, _ := out.check(t, "cache contents"); status != "ok" || !strings.HasPrefix(detail, "encrypted") {
		t.Errorf("an encrypted cache: %s %q", status, detail)
	}

	garbage, missing := filepath.Join(dir, "garbage.json"), filepath.Join(dir, "missing.json")
	os.WriteFile(garbage, []byte(`{"AccessToken": [`), 0o600)
	out = doctorRun(t, c, 1, "--cache", garbage)
	if status, _, _ := out.check(t, "cache contents"); status != "fail" {
		t.Errorf("a corrupt cache: %s", status)
	}
	out = doctorRun(t, c, 1, "--cache", missing)
	if status, detail, _ := out.check(t, "cache file"); status != "fail" || detail != missing+" does not exist" {
		t.Errorf("a missing cache: %s %q", status, detail)
	}
	keyOnly := filepath.Join(dir, "other.pem")
	os.WriteFile(keyOnly, em.CACertPEM(), 0o600) // a certificate without its key
	out = doctorRun(t, c, 1, "--cert", keyOnly)
	if status, _, _ := out.check(t, "certificate"); status != "fail" {
		t.Errorf("a certificate without its key: %s", status)
	}
	for _, left := range []string{missing, missing + ".lockfile", garbage + ".lockfile"} {
		if _, err := os.Lstat(left); err == nil {
			t.Errorf("doctor created %s", left)
		}
	}
}
