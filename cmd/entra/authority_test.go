package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/entra-go/entra/entratest"
)

// TestAuthorityFlags: --tenant alone, --authority-type and
// --user-assertion-env, with the built binary against the emulator.
func TestAuthorityFlags(t *testing.T) {
	t.Parallel()
	em, ca, certFile := startEmulator(t)
	dc := em.DefaultClient()
	user := em.IssueUserToken(entratest.User{Audience: dc.ID, Subject: "alice", TenantID: "contoso.onmicrosoft.com"})
	c := cli{bin: binary(t), env: []string{"SSL_CERT_FILE=" + ca, "APP_SECRET=" + dc.Secret, "USER_ASSERTION=" + user, "EMPTY="}}
	app := []string{"--client-id", dc.ID}
	tests := []struct {
		name         string
		args, env    []string
		wantEndpoint string
		wantType     string
	}{
		{name: "--tenant alone, with AZURE_AUTHORITY_HOST",
			args: []string{"token", "client-credentials", "--tenant", "contoso.onmicrosoft.com", "--secret-env", "APP_SECRET"},
			env:  []string{"AZURE_AUTHORITY_HOST=" + em.URL() + "/"}, wantEndpoint: em.URL() + "/contoso.onmicrosoft.com/oauth2/v2.0/token"},
		{name: "--tenant beside --authority overrides the tenant",
			args:         []string{"token", "client-credentials", "--authority", em.URL() + "/organizations", "--tenant", "fabrikam.onmicrosoft.com", "--secret-env", "APP_SECRET"},
			wantEndpoint: em.URL() + "/fabrikam.onmicrosoft.com/oauth2/v2.0/token"},
		{name: "an OIDC issuer, mTLS PoP through its RFC 8705 alias",
			args:         []string{"token", "client-credentials", "--authority", em.URL() + "/oidc", "--authority-type", "oidc", "--cert", certFile, "--mtls-pop", "--scope", "api://x/.default"},
			wantEndpoint: em.URL() + "/oidc/mtls/token", wantType: "Bearer"},
		{name: "an OIDC issuer with a secret",
			args:         []string{"token", "client-credentials", "--authority", em.URL() + "/oidc", "--authority-type", "oidc", "--secret-env", "APP_SECRET"},
			wantEndpoint: em.URL() + "/oidc/token"},
		{name: "AD FS named",
			args:         []string{"token", "client-credentials", "--authority", em.URL() + "/adfs", "--authority-type", "adfs", "--cert", certFile},
			wantEndpoint: em.URL() + "/adfs/oauth2/token"},
		{name: "on-behalf-of with the assertion in the environment",
			args:         []string{"token", "obo", "--authority", em.URL() + "/contoso.onmicrosoft.com", "--secret-env", "APP_SECRET", "--user-assertion-env", "USER_ASSERTION", "--scope", "https://api.contoso.test/read"},
			wantEndpoint: em.URL() + "/contoso.onmicrosoft.com/oauth2/v2.0/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := c
			run.env = append(append([]string(nil), c.env...), tt.env...)
			stdout, stderr, status := run.run(t, append(tt.args, app...)...)
			var out tokenOutput
			if status != 0 || json.Unmarshal([]byte(stdout), &out) != nil {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", status, stdout, stderr)
			}
			if out.TokenEndpoint != tt.wantEndpoint || out.AccessToken == "" || (tt.wantType != "" && out.TokenType != tt.wantType) {
				t.Fatalf("token from %s (want %s), type %s", out.TokenEndpoint, tt.wantEndpoint, out.TokenType)
			}
			if strings.Contains(tt.name, "PoP") && out.BindingCertificateSHA256 == "" {
				t.Fatalf("PoP token without its binding certificate: %+v", out)
			}
		})
	}

	failures := []struct {
		name       string
		args       []string
		wantStatus int
		want       string
	}{
		{"an issuer without a tenant is not an Entra ID authority", []string{"token", "client-credentials", "--authority", em.URL(), "--secret-env", "APP_SECRET"},
			1, "entra: invalid_authority: authority has no tenant"},
		{"a named kind checks the URL's form", []string{"token", "client-credentials", "--authority", em.URL() + "/contoso", "--authority-type", "adfs", "--secret-env", "APP_SECRET"},
			1, "entra: invalid_authority: an AD FS authority has the form https://{host}/adfs"},
		{"an empty assertion variable", []string{"token", "obo", "--tenant", "t", "--secret-env", "APP_SECRET", "--user-assertion-env", "EMPTY"},
			1, "entra: invalid_argument: environment variable EMPTY (--user-assertion-env) is empty or not set"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, status := c.run(t, append(tt.args, app...)...)
			if status != tt.wantStatus || stdout != "" || !strings.HasPrefix(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, want %d and %q\nstderr: %s", status, tt.wantStatus, tt.want, stderr)
			}
			if strings.Contains(stderr, user) || strings.Contains(stderr, dc.Secret) {
				t.Fatal("stderr shows secret material")
			}
		})
	}
}

// TestTenantAloneIsThePublicCloud: without AZURE_AUTHORITY_HOST, --tenant
// alone is a tenant of login.microsoftonline.com (the emulator answers
// for that host through its HTTP client).
func TestTenantAloneIsThePublicCloud(t *testing.T) {
	t.Parallel()
	em, _, _ := startEmulator(t)
	dc := em.DefaultClient()
	var stdout, stderr bytes.Buffer
	e := env{stdout: &stdout, stderr: &stderr, httpClient: em.HTTPClient(),
		getenv: func(k string) string { return map[string]string{"APP_SECRET": dc.Secret}[k] }}
	status := run(context.Background(), []string{"token", "client-credentials", "--tenant", "contoso.onmicrosoft.com", "--client-id", dc.ID, "--secret-env", "APP_SECRET"}, e)
	var out tokenOutput
	if status != 0 || json.Unmarshal(stdout.Bytes(), &out) != nil {
		t.Fatalf("exit %d: %s", status, stderr.String())
	}
	if want := "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"; out.TokenEndpoint != want {
		t.Fatalf("token from %s, want %s", out.TokenEndpoint, want)
	}
}

// TestAuthorityTypeB2C: B2C on a custom domain is reachable only by
// naming the kind; by default the URL is taken for Entra ID. In-process:
// the emulator answers for the custom host through its HTTP client.
func TestAuthorityTypeB2C(t *testing.T) {
	t.Parallel()
	em, err := entratest.New(entratest.Options{ExtraHosts: []string{"login.contoso.test"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	dc := em.DefaultClient()
	authority := "https://login.contoso.test/contoso.onmicrosoft.com/B2C_1_signin"
	for _, tt := range []struct {
		kind       string
		wantStatus int
		want       string
	}{
		{"b2c", 0, "https://login.contoso.test/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/token"},
		{"auto", 1, "entra: invalid_authority: authority has a path after the tenant"},
	} {
		var stdout, stderr bytes.Buffer
		e := env{stdout: &stdout, stderr: &stderr, httpClient: em.HTTPClient(),
			getenv: func(k string) string { return map[string]string{"APP_SECRET": dc.Secret}[k] }}
		status := run(context.Background(), []string{"token", "client-credentials", "--authority", authority, "--authority-type", tt.kind,
			"--client-id", dc.ID, "--secret-env", "APP_SECRET", "--scope", "https://contoso.onmicrosoft.com/api/.default"}, e)
		if status != tt.wantStatus {
			t.Fatalf("%s: exit %d: %s", tt.kind, status, stderr.String())
		}
		var out tokenOutput
		if status == 0 && (json.Unmarshal(stdout.Bytes(), &out) != nil || out.TokenEndpoint != tt.want) {
			t.Fatalf("%s: token from %s, want %s", tt.kind, out.TokenEndpoint, tt.want)
		}
		if status != 0 && !strings.HasPrefix(stderr.String(), tt.want) {
			t.Fatalf("%s: %s", tt.kind, stderr.String())
		}
	}
}
