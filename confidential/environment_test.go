package confidential

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigFromEnvironmentRefuses(t *testing.T) {
	t.Parallel()
	base := map[string]string{"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": tenant}
	with := func(extra map[string]string, drop ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		for _, k := range drop {
			delete(m, k)
		}
		return m
	}
	for _, tt := range []struct {
		name string
		env  map[string]string
		code entra.Code
		want []string
	}{
		{"no client id", with(map[string]string{"AZURE_CLIENT_SECRET": "s3cret-value"}, "AZURE_CLIENT_ID"), entra.CodeInvalidArgument, []string{"AZURE_CLIENT_ID"}},
		{"no tenant nor client", with(map[string]string{"AZURE_CLIENT_SECRET": "s"}, "AZURE_CLIENT_ID", "AZURE_TENANT_ID"), entra.CodeInvalidArgument, []string{"AZURE_CLIENT_ID and AZURE_TENANT_ID"}},
		{"no credential", with(nil), entra.CodeInvalidArgument, []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE"}},
		{"two credentials", with(map[string]string{"AZURE_CLIENT_SECRET": "s3cret-value", "AZURE_FEDERATED_TOKEN_FILE": "/t"}), entra.CodeInvalidArgument,
			[]string{"AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE"}},
		{"unreadable certificate", with(map[string]string{"AZURE_CLIENT_CERTIFICATE_PATH": "/nonexistent/app.pem"}), entra.CodeInvalidCredentialMaterial,
			[]string{"/nonexistent/app.pem"}},
	} {
		_, err := ConfigFromEnvironment(envOf(tt.env))
		if entra.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not name %s", tt.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "s3cret-value") {
			t.Errorf("%s: the error shows the secret", tt.name)
		}
	}
}

func TestConfigFromEnvironmentEachCredential(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	dc := f.em.DefaultClient()
	certFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(certFile, append(append([]byte{}, dc.CertPEM...), dc.KeyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"AZURE_CLIENT_ID": dc.ID, "AZURE_TENANT_ID": tenant,
		"AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/"} // with the webhook's trailing slash
	for name, extra := range map[string]map[string]string{
		"secret":      {"AZURE_CLIENT_SECRET": dc.Secret},
		"certificate": {"AZURE_CLIENT_CERTIFICATE_PATH": certFile, "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN": "true"},
	} {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		cfg, err := ConfigFromEnvironment(envOf(env))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.Authority != "https://login.microsoftonline.com/"+tenant || cfg.ClientID != dc.ID {
			t.Fatalf("%s: authority %q, client %q", name, cfg.Authority, cfg.ClientID)
		}
		cfg.HTTPClient = f.em.HTTPClient()
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		last := f.tokenRequests()[len(f.tokenRequests())-1]
		if (name == "secret") != last.Form.Has("client_secret") || (name == "certificate") != last.Form.Has("client_assertion") {
			t.Errorf("%s: the request carried %v", name, keys(last.Form))
		}
	}
}
