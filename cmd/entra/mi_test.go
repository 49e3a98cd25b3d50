package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/entra-go/entra/entratest"
)

// TestManagedIdentityCommand runs the built binary with the environment
// each Azure host sets, so detection, request shape and the JSON contract
// are those a real host gets.
func TestManagedIdentityCommand(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	mi, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mi.Close()
	const resource = "https://management.azure.com"
	envOf := func(s string) []string {
		var env []string
		for k, v := range mi.ManagedIdentityEnv(s) {
			env = append(env, k+"="+v)
		}
		return env
	}
	tests := []struct {
		name       string
		source     string
		args       []string
		wantStatus int
		wantStderr string
		wantSource string
		wantQuery  map[string]string
	}{
		{name: "imds detected", source: "imds", args: []string{"--resource", resource + "/.default"}, wantSource: "imds",
			wantQuery: map[string]string{"resource": resource, "api-version": "2018-02-01"}},
		{name: "imds user-assigned by client id", source: "imds", args: []string{"--resource", resource, "--client-id", "c0ffee00-0000-4000-8000-000000000001"},
			wantSource: "imds", wantQuery: map[string]string{"client_id": "c0ffee00-0000-4000-8000-000000000001"}},
		{name: "imds by resource id", source: "imds", args: []string{"--resource", resource, "--resource-id", "/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"},
			wantSource: "imds", wantQuery: map[string]string{"msi_res_id": "/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"}},
		{name: "imds client claims", source: "imds", args: []string{"--resource", resource, "--client-claims", `{ "xms_az_nwperimid" : {"essential":true} }`},
			wantSource: "imds", wantQuery: map[string]string{"claims": `{"xms_az_nwperimid":{"essential":true}}`}},
		{name: "app service", source: "app_service", args: []string{"--resource", resource, "--object-id", "0b1ec700-0000-4000-8000-000000000002"},
			wantSource: "app_service", wantQuery: map[string]string{"api-version": "2019-08-01", "object_id": "0b1ec700-0000-4000-8000-000000000002"}},
		{name: "cloud shell", source: "cloud_shell", args: []string{"--resource", resource}, wantSource: "cloud_shell"},
		{name: "service fabric", source: "service_fabric", args: []string{"--resource", resource}, wantSource: "service_fabric",
			wantQuery: map[string]string{"api-version": "2020-05-01"}},
		{name: "machine learning", source: "machine_learning", args: []string{"--resource", resource}, wantSource: "machine_learning",
			wantQuery: map[string]string{"clientid": mi.DefaultIdentityClientID()}},
		{name: "explicit source", source: "app_service", args: []string{"--resource", resource, "--source", "app_service"}, wantSource: "app_service"},
		{name: "explicit source, the older name", source: "app_service", args: []string{"--resource", resource, "--source", "appservice"}, wantSource: "app_service"},
		{name: "unknown source", source: "app_service", args: []string{"--resource", resource, "--source", "app-service"},
			wantStatus: 2, wantStderr: "unknown --source \"app-service\" (want auto, imds, app_service, azure_arc"},
		{name: "client claims refused off imds", source: "app_service", args: []string{"--resource", resource, "--client-claims", `{"xms_az_nwperimid":{"essential":true}}`},
			wantStatus: 1, wantStderr: "entra: invalid_argument: "},
		{name: "identity kind the source cannot take", source: "cloud_shell", args: []string{"--resource", resource, "--client-id", "c0ffee00-0000-4000-8000-000000000001"},
			wantStatus: 1, wantStderr: "entra: "},
		{name: "two identities", source: "imds", args: []string{"--resource", resource, "--client-id", "a", "--object-id", "b"},
			wantStatus: 2, wantStderr: "at most one of"},
		{name: "unknown source", source: "imds", args: []string{"--resource", resource, "--source", "vm"}, wantStatus: 2, wantStderr: "unknown --source"},
		{name: "no resource", source: "imds", wantStatus: 2, wantStderr: "missing --resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mi.ResetRequests()
			c := cli{bin: bin, env: envOf(tt.source)}
			stdout, stderr, status := c.run(t, append([]string{"token", "managed-identity"}, tt.args...)...)
			if status != tt.wantStatus {
				t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", status, tt.wantStatus, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.wantStderr)
			}
			for _, secret := range []string{mi.ManagedIdentityEnv("app_service")["IDENTITY_HEADER"], mi.ManagedIdentityEnv("machine_learning")["MSI_SECRET"], "xms_az_nwperimid"} {
				if strings.Contains(stderr, secret) {
					t.Errorf("stderr shows secret material: %s", stderr)
				}
			}
			if tt.wantStatus != 0 {
				if n := len(mi.Requests()); n != 0 {
					t.Errorf("a refused request still made %d endpoint request(s)", n)
				}
				return
			}
			var out tokenOutput
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("stdout is not the JSON contract: %v\n%s", err, stdout)
			}
			if out.ManagedIdentitySource != tt.wantSource || out.AccessToken == "" || out.Source != "identity_provider" || out.TokenType != "Bearer" {
				t.Errorf("output %+v", out)
			}
			reqs := mi.Requests(tt.source)
			if len(reqs) == 0 {
				t.Fatalf("the %s endpoint got no request", tt.source)
			}
			last := reqs[len(reqs)-1]
			for k, want := range tt.wantQuery {
				if got := last.Query.Get(k); got != want {
					t.Errorf("query %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestManagedIdentityCommandArc runs in-process: the Arc challenge file
// must sit in the folder the command trusts, which only a test may move.
func TestManagedIdentityCommandArc(t *testing.T) {
	t.Parallel()
	mi, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mi.Close()
	var stdout, stderr bytes.Buffer
	e := env{stdout: &stdout, stderr: &stderr, getenv: mi.Getenv("azure_arc"), arcTokenDir: mi.ArcTokenDir()}
	if status := run(context.Background(), []string{"token", "managed-identity", "--resource", "https://vault.azure.net"}, e); status != 0 {
		t.Fatalf("exit %d: %s", status, stderr.String())
	}
	var out tokenOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || out.ManagedIdentitySource != "azure_arc" || out.AccessToken == "" {
		t.Fatalf("output %s (%v)", stdout.String(), err)
	}
	if n := len(mi.Requests("azure_arc")); n != 2 {
		t.Errorf("Arc got %d requests, want 2 (challenge, then the token)", n)
	}
}

// TestManagedIdentityCommandCache: a second process is served from the
// cache file without calling the endpoint.
func TestManagedIdentityCommandCache(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	mi, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mi.Close()
	cacheFile := t.TempDir() + "/mi_cache.json"
	c := cli{bin: bin, env: []string{"AZURE_POD_IDENTITY_AUTHORITY_HOST=" + mi.IMDSURL()}}
	var outs []tokenOutput
	for range 2 {
		stdout, stderr, status := c.run(t, "token", "managed-identity", "--resource", "https://vault.azure.net", "--cache", cacheFile)
		if status != 0 {
			t.Fatalf("exit %d: %s", status, stderr)
		}
		var out tokenOutput
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	if outs[0].Source != "identity_provider" || outs[1].Source != "cache" || outs[1].AccessToken != outs[0].AccessToken ||
		outs[1].ManagedIdentitySource != "imds" {
		t.Fatalf("runs: %+v", outs)
	}
	if n := len(mi.Requests("imds")); n != 1 {
		t.Fatalf("IMDS got %d requests, want 1", n)
	}
}
