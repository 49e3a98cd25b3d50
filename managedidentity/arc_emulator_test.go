package managedidentity_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

// Every challenge the client must not follow fails before a second
// request, with its own message and without the file's contents.
func TestArcChallengeFiles(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	dir := emu.ArcTokenDir()
	outside := t.TempDir()
	const contents = "arc-challenge-secret-7b1e"
	write := func(path string, b []byte) string {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	outsideFile := write(filepath.Join(outside, "x.key"), []byte(contents))
	wrongExt := write(filepath.Join(dir, "x.txt"), []byte(contents))
	big := write(filepath.Join(dir, "big.key"), []byte(strings.Repeat(contents, 4096/len(contents)+1)))
	link := filepath.Join(dir, "link.key")
	if err := os.Symlink(outsideFile, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		challenge []string
		code      entra.Code
		want      string
	}{
		{"outside the folder", []string{"Basic realm=" + outsideFile}, entra.CodeInvalidCredentialMaterial, "is not in the Azure Arc token folder"},
		{"traversal", []string{"Basic realm=" + dir + "/../" + filepath.Base(outside) + "/x.key"}, entra.CodeInvalidCredentialMaterial, "is not in the Azure Arc token folder"},
		{"symbolic link out", []string{"Basic realm=" + link}, entra.CodeInvalidCredentialMaterial, "leads outside the Azure Arc token folder"},
		{"wrong extension", []string{"Basic realm=" + wrongExt}, entra.CodeInvalidCredentialMaterial, "does not end in .key"},
		{"over 4096 bytes", []string{"Basic realm=" + big}, entra.CodeInvalidCredentialMaterial, "is larger than 4096 bytes"},
		{"missing", []string{"Basic realm=" + filepath.Join(dir, "gone.key")}, entra.CodeInvalidCredentialMaterial, "does not exist"},
		{"relative", []string{"Basic realm=x.key"}, entra.CodeInvalidCredentialMaterial, "is not an absolute path"},
		{"no challenge", nil, entra.CodeInvalidResponse, "without a Basic realm challenge"},
		{"another scheme", []string{"Bearer realm=" + outsideFile}, entra.CodeInvalidResponse, "without a Basic realm challenge"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu.ResetRequests()
			emu.InjectFault(entratest.Fault{Endpoint: "azure_arc", Status: http.StatusUnauthorized,
				Header: http.Header{"Www-Authenticate": tt.challenge}, Body: []byte(`{"error":"unauthorized"}`)})
			c, rec := newClient(t, emu, "azure_arc")
			_, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
			e := wantCode(t, err, tt.code)
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("message %q, want %q", e.Message, tt.want)
			}
			if strings.Contains(err.Error(), contents) {
				t.Errorf("error %q reveals the file", err)
			}
			if n := len(emu.Requests()); n != 1 || len(rec.Attempts()) != 0 {
				t.Errorf("%d requests, %d retries; want 1, 0", n, len(rec.Attempts()))
			}
			seen[tt.want] = true
		})
	}
	if len(seen) != 7 {
		t.Errorf("%d distinct messages, want 7", len(seen))
	}

	// A wrong answer to a real challenge is the agent's 401.
	t.Run("refused answer", func(t *testing.T) {
		emu.ResetRequests()
		emu.InjectFault(entratest.Fault{Endpoint: "azure_arc", Status: http.StatusUnauthorized,
			Header: http.Header{"Www-Authenticate": {"Basic realm=" + write(filepath.Join(dir, "stale.key"), []byte(contents))}},
			Body:   []byte(`{"error":"unauthorized"}`)})
		c, _ := newClient(t, emu, "azure_arc")
		_, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
		if e := wantCode(t, err, "unauthorized"); e.StatusCode != 401 || len(emu.Requests()) != 2 {
			t.Errorf("%v after %d requests", err, len(emu.Requests()))
		}
		if got := emu.Requests()[1].Header.Get("Authorization"); got != "Basic "+contents {
			t.Errorf("Authorization %q, want the file's contents", got)
		}
		if strings.Contains(err.Error(), contents) {
			t.Errorf("error %q reveals the file", err)
		}
	})
}
