package managedidentity

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	agent := filepath.Join(dir, "himds")
	if err := os.WriteFile(agent, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	noAgent := filepath.Join(dir, "missing")
	sf := map[string]string{"IDENTITY_ENDPOINT": "https://localhost:2377/metadata/identity/oauth2/token",
		"IDENTITY_HEADER": "h", "IDENTITY_SERVER_THUMBPRINT": "A9993E364706816ABA3E25717850C26C9CD0D89D"}
	tests := []struct {
		name  string
		env   map[string]string
		agent string
		want  Source
		url   string
	}{
		{"nothing", nil, noAgent, SourceIMDS, "http://169.254.169.254/metadata/identity/oauth2/token"},
		{"pod identity", map[string]string{"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://10.0.0.1:2579/"}, noAgent,
			SourceIMDS, "http://10.0.0.1:2579/metadata/identity/oauth2/token"},
		{"Service Fabric", sf, noAgent, SourceServiceFabric, sf["IDENTITY_ENDPOINT"]},
		{"App Service", map[string]string{"IDENTITY_ENDPOINT": "http://127.0.0.1:41741/msi/token", "IDENTITY_HEADER": "h"}, noAgent,
			SourceAppService, "http://127.0.0.1:41741/msi/token"},
		{"App Service before Machine Learning", map[string]string{"IDENTITY_ENDPOINT": "http://127.0.0.1:41741/msi/token", "IDENTITY_HEADER": "h",
			"MSI_ENDPOINT": "http://127.0.0.1:46808/", "MSI_SECRET": "s", "DEFAULT_IDENTITY_CLIENT_ID": "d"}, noAgent,
			SourceAppService, "http://127.0.0.1:41741/msi/token"},
		{"Machine Learning", map[string]string{"MSI_ENDPOINT": "http://127.0.0.1:46808/", "MSI_SECRET": "s", "DEFAULT_IDENTITY_CLIENT_ID": "d"}, noAgent,
			SourceMachineLearning, "http://127.0.0.1:46808/"},
		{"Cloud Shell", map[string]string{"MSI_ENDPOINT": "http://localhost:50342/oauth2/token"}, noAgent,
			SourceCloudShell, "http://localhost:50342/oauth2/token"},
		{"Cloud Shell before Arc", map[string]string{"MSI_ENDPOINT": "http://localhost:50342/oauth2/token",
			"IDENTITY_ENDPOINT": "http://localhost:40342/metadata/identity/oauth2/token", "IMDS_ENDPOINT": "http://localhost:40342"}, agent,
			SourceCloudShell, "http://localhost:50342/oauth2/token"},
		{"Azure Arc by environment", map[string]string{"IDENTITY_ENDPOINT": "http://localhost:40342/metadata/identity/oauth2/token",
			"IMDS_ENDPOINT": "http://localhost:40342"}, noAgent, SourceAzureArc, "http://localhost:40342/metadata/identity/oauth2/token"},
		{"Azure Arc by agent", nil, agent, SourceAzureArc, "http://127.0.0.1:40342/metadata/identity/oauth2/token"},
		{"IDENTITY_ENDPOINT alone", map[string]string{"IDENTITY_ENDPOINT": "http://localhost:40342/x"}, noAgent,
			SourceIMDS, "http://169.254.169.254/metadata/identity/oauth2/token"},
		{"blank values are unset", map[string]string{"IDENTITY_ENDPOINT": " ", "IDENTITY_HEADER": " ", "MSI_ENDPOINT": ""}, noAgent,
			SourceIMDS, "http://169.254.169.254/metadata/identity/oauth2/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{Getenv: func(k string) string { return tt.env[k] }, ArcAgentPath: tt.agent})
			if err != nil {
				t.Fatal(err)
			}
			if c.Source() != tt.want {
				t.Errorf("Source() = %s, want %s", c.Source(), tt.want)
			}
			if got := c.ep.url.String(); got != tt.url {
				t.Errorf("endpoint %q, want %q", got, tt.url)
			}
		})
	}
}

// TestDetectReportsWhy: Detect names the source New would use and the
// variables (or the Azure Arc agent) that decided it.
func TestDetectReportsWhy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	agent := filepath.Join(dir, "himds")
	if err := os.WriteFile(agent, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	noAgent := filepath.Join(dir, "missing")
	tests := []struct {
		name     string
		env      map[string]string
		agent    string
		want     Source
		wantVars string
		wantArc  bool
	}{
		{"nothing", nil, noAgent, SourceIMDS, "", false},
		{"pod identity", map[string]string{"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://10.0.0.1:2579"}, noAgent, SourceIMDS, "AZURE_POD_IDENTITY_AUTHORITY_HOST", false},
		{"blank is unset", map[string]string{"MSI_ENDPOINT": "  "}, noAgent, SourceIMDS, "", false},
		{"Service Fabric", map[string]string{"IDENTITY_ENDPOINT": "https://x", "IDENTITY_HEADER": "h", "IDENTITY_SERVER_THUMBPRINT": "t"}, noAgent,
			SourceServiceFabric, "IDENTITY_ENDPOINT IDENTITY_HEADER IDENTITY_SERVER_THUMBPRINT", false},
		{"App Service", map[string]string{"IDENTITY_ENDPOINT": "http://x", "IDENTITY_HEADER": "h"}, noAgent, SourceAppService, "IDENTITY_ENDPOINT IDENTITY_HEADER", false},
		{"Machine Learning", map[string]string{"MSI_ENDPOINT": "http://x", "MSI_SECRET": "s"}, noAgent, SourceMachineLearning, "MSI_ENDPOINT MSI_SECRET", false},
		{"Cloud Shell", map[string]string{"MSI_ENDPOINT": "http://x"}, noAgent, SourceCloudShell, "MSI_ENDPOINT", false},
		{"Arc by variables", map[string]string{"IDENTITY_ENDPOINT": "http://x", "IMDS_ENDPOINT": "http://y"}, noAgent, SourceAzureArc, "IDENTITY_ENDPOINT IMDS_ENDPOINT", false},
		{"Arc by its agent", nil, agent, SourceAzureArc, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Detect(func(k string) string { return tt.env[k] }, tt.agent)
			if d.Source != tt.want || strings.Join(d.Variables, " ") != tt.wantVars || d.ArcAgent != tt.wantArc {
				t.Fatalf("%+v, want %s %q arc=%v", d, tt.want, tt.wantVars, tt.wantArc)
			}
		})
	}
}
