package managedidentity

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

// maxArcSecret is the largest challenge file the Azure Arc agent writes.
const maxArcSecret = 4096

// arcDefaults are where the Azure Arc agent keeps its challenge files and
// its binary on each operating system.
func arcDefaults(goos string, getenv func(string) string) (tokenDir, agentPath string) {
	if goos == "windows" {
		return filepath.Join(getenv("ProgramData"), "AzureConnectedMachineAgent", "Tokens"),
			filepath.Join(getenv("ProgramFiles"), "AzureConnectedMachineAgent", "himds.exe")
	}
	return "/var/opt/azcmagent/tokens", "/opt/azcmagent/bin/himds"
}

// arcChallenge returns the file named by the agent's
// "WWW-Authenticate: Basic realm=<path>" challenge.
func arcChallenge(h http.Header) (string, error) {
	for _, v := range h.Values("WWW-Authenticate") {
		scheme, params, _ := strings.Cut(strings.TrimSpace(v), " ")
		if !strings.EqualFold(scheme, "Basic") {
			continue
		}
		name, path, ok := strings.Cut(strings.TrimSpace(params), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "realm") {
			continue
		}
		path = strings.TrimSpace(path)
		if len(path) >= 2 && path[0] == '"' && path[len(path)-1] == '"' {
			path = path[1 : len(path)-1]
		}
		if path != "" {
			return path, nil
		}
	}
	return "", errs.New(entra.CodeInvalidResponse,
		"the Azure Arc agent answered 401 without a Basic realm challenge naming a file")
}

// readArcSecret reads the challenge file at path, which must be a regular
// file directly inside dir, named *.key and at most 4096 bytes, also after
// symbolic links are resolved: the agent proves the caller may read that
// folder, so a challenge must not make the client read anything else.
// Errors name the path, never the contents.
func readArcSecret(path, dir string) (string, error) {
	refuse := func(format string, args ...any) (string, error) {
		return "", errs.New(entra.CodeInvalidCredentialMaterial, "Azure Arc challenge file "+format, args...)
	}
	if !filepath.IsAbs(path) {
		return refuse("%q is not an absolute path", path)
	}
	clean := filepath.Clean(path)
	if !samePath(filepath.Ext(clean), ".key") {
		return refuse("%q does not end in .key", path)
	}
	dir = filepath.Clean(dir)
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return refuse("cannot be checked: the Azure Arc token folder %q cannot be resolved", dir)
	}
	// Checked by name first, so that no path elsewhere is even looked at;
	// the folder may be named as configured or as its links resolve.
	if parent := filepath.Dir(clean); !samePath(parent, dir) && !samePath(parent, realDir) {
		return refuse("%q is not in the Azure Arc token folder %q", path, dir)
	}
	realFile, err := filepath.EvalSymlinks(clean)
	if errors.Is(err, fs.ErrNotExist) {
		return refuse("%q does not exist", path)
	}
	if err != nil {
		return refuse("%q cannot be resolved", path)
	}
	if !samePath(filepath.Dir(realFile), realDir) || !samePath(filepath.Ext(realFile), ".key") {
		return refuse("%q leads outside the Azure Arc token folder through a symbolic link", path)
	}
	f, err := os.Open(realFile)
	if err != nil {
		return refuse("%q cannot be opened", path)
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return refuse("%q cannot be read", path)
	case !fi.Mode().IsRegular():
		return refuse("%q is not a regular file", path)
	case fi.Size() > maxArcSecret:
		return refuse("%q is larger than %d bytes", path, maxArcSecret)
	}
	// The size is checked again on the bytes read: the file may grow.
	b, err := io.ReadAll(io.LimitReader(f, maxArcSecret+1))
	if err != nil {
		return refuse("%q cannot be read", path)
	}
	if len(b) > maxArcSecret {
		return refuse("%q is larger than %d bytes", path, maxArcSecret)
	}
	return string(b), nil
}

func samePath(a, b string) bool {
	if runtime.GOOS == "windows" {
		return strings.EqualFold(a, b)
	}
	return a == b
}
