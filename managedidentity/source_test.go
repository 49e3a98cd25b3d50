package managedidentity_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

const thumbprint = "A9993E364706816ABA3E25717850C26C9CD0D89D"

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestNewEnvironmentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		source managedidentity.Source
		env    map[string]string
		want   []string // in the message
	}{
		{"forced App Service", managedidentity.SourceAppService, nil, []string{"App Service", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"}},
		{"forced App Service without header", managedidentity.SourceAppService, map[string]string{"IDENTITY_ENDPOINT": "http://x/"}, []string{"IDENTITY_HEADER"}},
		{"forced Service Fabric", managedidentity.SourceServiceFabric, map[string]string{"IDENTITY_ENDPOINT": "https://x/", "IDENTITY_HEADER": "h"}, []string{"IDENTITY_SERVER_THUMBPRINT"}},
		{"forced Machine Learning", managedidentity.SourceMachineLearning, map[string]string{"MSI_ENDPOINT": "http://x/"}, []string{"MSI_SECRET"}},
		{"forced Cloud Shell", managedidentity.SourceCloudShell, nil, []string{"Cloud Shell", "MSI_ENDPOINT"}},
		{"forced Azure Arc", managedidentity.SourceAzureArc, nil, []string{"Azure Arc", "IDENTITY_ENDPOINT"}},
		{"unknown source", "kubernetes", nil, []string{"kubernetes"}},
		{"bad IDENTITY_ENDPOINT", "", map[string]string{"IDENTITY_ENDPOINT": "::not a url", "IDENTITY_HEADER": "h"}, []string{"IDENTITY_ENDPOINT"}},
		{"relative IDENTITY_ENDPOINT", "", map[string]string{"IDENTITY_ENDPOINT": "/msi/token", "IDENTITY_HEADER": "h"}, []string{"IDENTITY_ENDPOINT"}},
		{"ftp IDENTITY_ENDPOINT", "", map[string]string{"IDENTITY_ENDPOINT": "ftp://x/", "IDENTITY_HEADER": "h"}, []string{"IDENTITY_ENDPOINT"}},
		{"user info in MSI_ENDPOINT", "", map[string]string{"MSI_ENDPOINT": "http://u:p@x/"}, []string{"MSI_ENDPOINT"}},
		{"plain-HTTP Service Fabric", "", map[string]string{"IDENTITY_ENDPOINT": "http://localhost:2377/", "IDENTITY_HEADER": "h",
			"IDENTITY_SERVER_THUMBPRINT": thumbprint}, []string{"IDENTITY_ENDPOINT", "https"}},
		{"bad thumbprint", "", map[string]string{"IDENTITY_ENDPOINT": "https://localhost:2377/", "IDENTITY_HEADER": "h",
			"IDENTITY_SERVER_THUMBPRINT": "not-hex"}, []string{"IDENTITY_SERVER_THUMBPRINT"}},
		{"short thumbprint", "", map[string]string{"IDENTITY_ENDPOINT": "https://localhost:2377/", "IDENTITY_HEADER": "h",
			"IDENTITY_SERVER_THUMBPRINT": "A9993E36"}, []string{"IDENTITY_SERVER_THUMBPRINT"}},
		{"bad pod identity host", "", map[string]string{"AZURE_POD_IDENTITY_AUTHORITY_HOST": "10.0.0.1:2579"}, []string{"AZURE_POD_IDENTITY_AUTHORITY_HOST"}},
		{"Machine Learning system-assigned without its client id", "", map[string]string{"MSI_ENDPOINT": "http://x/", "MSI_SECRET": "s"},
			[]string{"DEFAULT_IDENTITY_CLIENT_ID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := managedidentity.New(managedidentity.Config{Source: tt.source, Getenv: envOf(tt.env),
				ArcAgentPath: filepath.Join(t.TempDir(), "missing")})
			e := wantCode(t, err, entra.CodeInvalidArgument)
			for _, w := range tt.want {
				if !strings.Contains(e.Error(), w) {
					t.Errorf("%q does not name %q", e.Error(), w)
				}
			}
			for _, v := range tt.env {
				if len(v) > 3 && strings.Contains(e.Error(), v) {
					t.Errorf("%q contains the value %q", e.Error(), v)
				}
			}
		})
	}

	// A forced source ignores the others' variables.
	c, err := managedidentity.New(managedidentity.Config{Source: managedidentity.SourceIMDS,
		Getenv: envOf(map[string]string{"IDENTITY_ENDPOINT": "http://x/", "IDENTITY_HEADER": "h"})})
	if err != nil || c.Source() != managedidentity.SourceIMDS {
		t.Errorf("forced IMDS: %v", err)
	}
}

// Each source accepts the identities it can select and refuses the others
// in New, naming the source, before any request.
func TestIdentityKinds(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	ids := map[string]managedidentity.ID{
		"system":      managedidentity.SystemAssigned(),
		"client id":   managedidentity.UserAssignedClientID("c"),
		"resource id": managedidentity.UserAssignedResourceID("/subscriptions/s/x"),
		"object id":   managedidentity.UserAssignedObjectID("o"),
	}
	accepted := map[string][]string{
		"imds":             {"system", "client id", "resource id", "object id"},
		"app_service":      {"system", "client id", "resource id", "object id"},
		"azure_arc":        {"system"},
		"cloud_shell":      {"system"},
		"service_fabric":   {"system", "object id"},
		"machine_learning": {"system", "client id"},
	}
	names := map[string]string{
		"imds": "IMDS", "app_service": "App Service", "azure_arc": "Azure Arc",
		"cloud_shell": "Cloud Shell", "service_fabric": "Service Fabric",
		"machine_learning": "Machine Learning",
	}
	for src, ok := range accepted {
		for kind, id := range ids {
			cfg := emulatorConfig(t, emu, src)
			cfg.ID = id
			c, err := managedidentity.New(cfg)
			want := false
			for _, k := range ok {
				want = want || k == kind
			}
			if want {
				if err != nil || string(c.Source()) != string(src) {
					t.Errorf("%s with %s: %v", src, kind, err)
				}
				continue
			}
			e := wantCode(t, err, entra.CodeInvalidArgument)
			if !strings.Contains(e.Message, names[src]) || !strings.Contains(e.Message, kind) {
				t.Errorf("%s with %s: message %q names neither", src, kind, e.Message)
			}
		}
	}
	for _, id := range []managedidentity.ID{managedidentity.UserAssignedClientID(""), managedidentity.UserAssignedObjectID("  ")} {
		cfg := emulatorConfig(t, emu, "imds")
		cfg.ID = id
		_, err := managedidentity.New(cfg)
		wantCode(t, err, entra.CodeInvalidArgument)
	}
	if n := len(emu.Requests()); n != 0 {
		t.Errorf("New made %d requests", n)
	}
}

func TestIDString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   managedidentity.ID
		want string
	}{
		{managedidentity.ID{}, "system-assigned"},
		{managedidentity.SystemAssigned(), "system-assigned"},
		{managedidentity.UserAssignedClientID("c"), "user-assigned client id c"},
		{managedidentity.UserAssignedResourceID("/r"), "user-assigned resource id /r"},
		{managedidentity.UserAssignedObjectID("o"), "user-assigned object id o"},
	}
	for _, tt := range tests {
		if got := tt.id.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestServiceFabricThumbprint(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	good := emu.ManagedIdentityEnv("service_fabric")["IDENTITY_SERVER_THUMBPRINT"]
	var colons []string
	for i := 0; i < len(good); i += 2 {
		colons = append(colons, good[i:i+2])
	}
	tests := []struct {
		name       string
		thumbprint string
		ok         bool
	}{
		{"exact", good, true},
		{"lower case", strings.ToLower(good), true},
		{"with colons", strings.Join(colons, ":"), true},
		{"another certificate", thumbprint, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu.ResetRequests()
			env := emu.ManagedIdentityEnv("service_fabric")
			env["IDENTITY_SERVER_THUMBPRINT"] = tt.thumbprint
			rec := newRecorder(managedidentity.SourceServiceFabric)
			c, err := managedidentity.New(managedidentity.Config{Getenv: envOf(env), RetryPolicy: rec.Retry})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
			if tt.ok {
				if err != nil || tok.AccessToken == "" {
					t.Fatal(err)
				}
				return
			}
			e := wantCode(t, err, entra.CodeTransport)
			if !strings.Contains(e.Error(), "IDENTITY_SERVER_THUMBPRINT") {
				t.Errorf("%q does not say why", e.Error())
			}
			if n := len(emu.Requests()); n != 0 || len(rec.Delays()) != 0 {
				t.Errorf("%d requests reached the endpoint, %d retries", n, len(rec.Delays()))
			}
		})
	}
}
