package managedidentity

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entra-go/entra"
)

func TestArcChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		values []string
		want   string
	}{
		{[]string{"Basic realm=/var/opt/azcmagent/tokens/a.key"}, "/var/opt/azcmagent/tokens/a.key"},
		{[]string{`Basic realm="/var/opt/azcmagent/tokens/a.key"`}, "/var/opt/azcmagent/tokens/a.key"},
		{[]string{"basic REALM = /t/a.key "}, "/t/a.key"},
		{[]string{`Bearer realm="x"`, "Basic realm=/t/b.key"}, "/t/b.key"},
		{[]string{`Basic realm=C:\ProgramData\AzureConnectedMachineAgent\Tokens\a.key`}, `C:\ProgramData\AzureConnectedMachineAgent\Tokens\a.key`},
	}
	for _, tt := range tests {
		got, err := arcChallenge(http.Header{"Www-Authenticate": tt.values})
		if err != nil || got != tt.want {
			t.Errorf("arcChallenge(%q) = %q, %v; want %q", tt.values, got, err, tt.want)
		}
	}
	for _, values := range [][]string{nil, {"Basic"}, {"Basic realm="}, {`Basic realm=""`}, {"Bearer realm=/t/a.key"}, {"Basic charset=UTF-8"}} {
		if _, err := arcChallenge(http.Header{"Www-Authenticate": values}); entra.ErrorCode(err) != entra.CodeInvalidResponse {
			t.Errorf("arcChallenge(%q) = %v, want an invalid response", values, err)
		}
	}
}

func TestReadArcSecret(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := filepath.Join(root, "tokens")
	outside := filepath.Join(root, "elsewhere")
	for _, d := range []string{dir, outside, filepath.Join(dir, "sub"), filepath.Join(dir, "folder.key")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	const secret = "c2VjcmV0LWNoYWxsZW5nZS1jb250ZW50"
	write := func(path string, size int) string {
		b := []byte(strings.Repeat(secret, size/len(secret)+1)[:size])
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ok := write(filepath.Join(dir, "ok.key"), len(secret))
	max := write(filepath.Join(dir, "max.key"), 4096)
	write(filepath.Join(dir, "big.key"), 4097)
	write(filepath.Join(dir, "wrong.txt"), 10)
	write(filepath.Join(dir, "sub", "deep.key"), 10)
	write(filepath.Join(outside, "out.key"), 10)
	write(filepath.Join(dir, "target.txt"), 10)
	symlink := func(target, link string) {
		if err := os.Symlink(target, link); err != nil {
			t.Skip("no symbolic links here:", err)
		}
	}
	symlink(filepath.Join(outside, "out.key"), filepath.Join(dir, "escape.key"))
	symlink(filepath.Join(dir, "ok.key"), filepath.Join(dir, "alias.key"))
	symlink(filepath.Join(dir, "target.txt"), filepath.Join(dir, "renamed.key"))
	symlink(dir, filepath.Join(root, "tokens-link"))

	tests := []struct {
		name, path, dir, want string
	}{
		{"regular", filepath.Join(dir, "ok.key"), dir, ok},
		{"4096 bytes", filepath.Join(dir, "max.key"), dir, max},
		{"dot segments", dir + "/./ok.key", dir, ok},
		{"link inside the folder", filepath.Join(dir, "alias.key"), dir, ok},
		{"folder behind a link", filepath.Join(root, "tokens-link", "ok.key"), filepath.Join(root, "tokens-link"), ok},
		{"file named through the link's target", filepath.Join(dir, "ok.key"), filepath.Join(root, "tokens-link"), ""},
		{"relative", "ok.key", dir, "not an absolute path"},
		{"wrong extension", filepath.Join(dir, "wrong.txt"), dir, "does not end in .key"},
		{"upper-case extension", filepath.Join(dir, "ok.KEY"), dir, "does not end in .key"},
		{"outside", filepath.Join(outside, "out.key"), dir, "is not in the Azure Arc token folder"},
		{"traversal", dir + "/../elsewhere/out.key", dir, "is not in the Azure Arc token folder"},
		{"sub-folder", filepath.Join(dir, "sub", "deep.key"), dir, "is not in the Azure Arc token folder"},
		{"missing", filepath.Join(dir, "missing.key"), dir, "does not exist"},
		{"link escaping the folder", filepath.Join(dir, "escape.key"), dir, "through a symbolic link"},
		{"link to another extension", filepath.Join(dir, "renamed.key"), dir, "through a symbolic link"},
		{"a folder", filepath.Join(dir, "folder.key"), dir, "is not a regular file"},
		{"too large", filepath.Join(dir, "big.key"), dir, "is larger than 4096 bytes"},
		{"missing token folder", filepath.Join(root, "none", "a.key"), filepath.Join(root, "none"), "cannot be resolved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readArcSecret(tt.path, tt.dir)
			if tt.want == "" {
				// The link resolves into the same folder: accepted.
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if strings.HasPrefix(tt.want, secret[:8]) {
				if err != nil || got != tt.want {
					t.Fatalf("got %d bytes, %v", len(got), err)
				}
				return
			}
			var e *entra.Error
			if !errors.As(err, &e) || e.Code != entra.CodeInvalidCredentialMaterial || !strings.Contains(e.Message, tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret[:8]) {
				t.Errorf("error %q reveals the file", err)
			}
		})
	}
}
