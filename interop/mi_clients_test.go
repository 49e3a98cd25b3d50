package interop

import (
	"testing"
)

// TestMSALNodeManagedIdentity: MSAL Node's ManagedIdentityApplication,
// unmodified, gets a token from each source `entra emulator` serves, with
// only the environment the emulator printed for it, then the same token
// from its cache.
func TestMSALNodeManagedIdentity(t *testing.T) {
	t.Parallel()
	requireTool(t, msalNode.ready(), msalNode.name)
	p := startEmulatorProcess(t)
	for _, tt := range []struct{ source, nodeName string }{
		{"imds", "DefaultToImds"}, // MSAL Node's name for IMDS found by no variable but AZURE_POD_IDENTITY_AUTHORITY_HOST
		{"app_service", "AppService"},
		{"cloud_shell", "CloudShell"},
		{"machine_learning", "MachineLearning"},
		// Service Fabric is not run: MSAL Node reads
		// IDENTITY_SERVER_THUMBPRINT only to detect the source and checks
		// the endpoint's self-signed certificate against the CA store,
		// so the request fails ("fetch failed") as on a real cluster.
		// Azure Arc is not run: MSAL Node reads the challenge file only
		// from /var/opt/azcmagent/tokens, which a test cannot own.
	} {
		t.Run(tt.source, func(t *testing.T) {
			t.Parallel()
			env := []string{}
			for k, v := range p.Info.ManagedIdentity[tt.source] {
				env = append(env, k+"="+v)
			}
			lines := msalNode.run(t, p, map[string]any{"flow": "managed_identity", "resource": "https://vault.azure.net"}, env...)
			if len(lines) != 2 {
				t.Fatalf("%d lines", len(lines))
			}
			if lines[0]["source"] != tt.nodeName {
				t.Errorf("MSAL Node detected %v, want %s", lines[0]["source"], tt.nodeName)
			}
			first := tokenOf(t, lines[0])
			wantClaims(t, tt.source, first, map[string]string{"aud": "https://vault.azure.net", "appid": p.Info.SystemClientID, "tid": p.Info.TenantID})
			if tokenOf(t, lines[1]) != first || lines[1]["from_cache"] != true {
				t.Errorf("the second acquisition was not from the cache: %v", lines[1]["from_cache"])
			}
		})
	}
}
