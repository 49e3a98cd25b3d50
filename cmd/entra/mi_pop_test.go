package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/entra-go/entra/entratest"
)

// The PoP commands run in process: the mTLS host has a real Entra name
// (eastus.mtlsauth.microsoft.com), which only the test's HTTP client
// routes to the emulator.
func TestManagedIdentityPoPCommands(t *testing.T) {
	t.Parallel()
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	run1 := func(src string, args ...string) (string, string, int) {
		var stdout, stderr bytes.Buffer
		e := env{stdout: &stdout, stderr: &stderr, getenv: em.Getenv(src), httpClient: em.HTTPClient()}
		status := run(context.Background(), args, e)
		return stdout.String(), stderr.String(), status
	}

	stdout, stderr, status := run1("imds", "token", "managed-identity", "--resource", "https://management.azure.com", "--mtls-pop")
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	var out tokenOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	issued := em.IssuedCredentials()
	if len(issued) != 1 {
		t.Fatalf("%d certificates issued", len(issued))
	}
	if out.TokenType != "mtls_pop" || out.BindingCertificateSHA256 != thumbprint(issued[0].Certificate) ||
		!strings.HasPrefix(out.MTLSEndpoint, "https://eastus.mtlsauth.microsoft.com/") || out.ManagedIdentitySource != "imds" {
		t.Fatalf("output %+v", out)
	}

	_, stderr, status = run1("app_service", "token", "managed-identity", "--resource", "https://management.azure.com", "--mtls-pop")
	if status != 1 || !strings.Contains(stderr, "entra: mtls_pop_not_supported_for_environment: ") {
		t.Fatalf("app service: exit %d: %s", status, stderr)
	}

	// The resource sees the PoP scheme over a connection that presented
	// the bound certificate.
	stdout, stderr, status = run1("imds", "http", "--managed-identity", "--mtls-pop",
		"--scope", entratest.ResourceAudience+"/.default", em.ResourceURL()+"/items")
	if status != 0 || !strings.Contains(stdout, `"token_type":"pop"`) || !strings.Contains(stdout, `"bound":true`) {
		t.Fatalf("http: exit %d\nstdout: %s\nstderr: %s", status, stdout, stderr)
	}
	for _, s := range []string{stdout, stderr} {
		if strings.Contains(s, "eyJ") {
			t.Errorf("the output shows a token: %s", s)
		}
	}
}
