package clientauth

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
)

// unsignedJWT is a token with the given exp, as far as a client looks.
func unsignedJWT(sub string, exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(fmt.Sprintf(`{"sub":%q,"exp":%d}`, sub, exp.Unix()))) + ".c2ln"
}

func writeAtomically(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestTokenFileFollowsRotation(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "token")
	first := unsignedJWT("first", now.Add(time.Hour))
	writeAtomically(t, path, first+"\n")
	f := NewTokenFile(path, "AZURE_FEDERATED_TOKEN_FILE", nil).(*tokenFile)
	f.now = func() time.Time { return now }
	assertion := func() string {
		t.Helper()
		m, err := f.Material(context.Background(), Request{})
		if err != nil {
			t.Fatal(err)
		}
		if m.AssertionType != AssertionTypeJWTBearer {
			t.Fatalf("assertion type %q", m.AssertionType)
		}
		return m.Assertion
	}
	if got := assertion(); got != first {
		t.Fatal("the file's token was not sent")
	}
	// The kubelet rotates the file at 80 % of the token's life.
	second := unsignedJWT("second", now.Add(2*time.Hour))
	writeAtomically(t, path, second)
	now = now.Add(time.Minute)
	if got := assertion(); got != first {
		t.Fatal("a copy a minute old was re-read: the file is read on every request")
	}
	now = now.Add(maxTokenAge)
	if got := assertion(); got != second {
		t.Fatal("a copy older than five minutes was not replaced by the rotated token")
	}
	// A token whose exp is near is re-read whatever the copy's age.
	third := unsignedJWT("third", now.Add(3*time.Hour))
	writeAtomically(t, path, third)
	f.token, f.read, f.expires = second, now, now.Add(tokenExpiryMargin-time.Second)
	if got := assertion(); got != third {
		t.Fatal("a token about to expire was sent instead of the file's new one")
	}
}

func TestTokenFileFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	files := map[string]string{
		"empty":     " \n",
		"not a jwt": "not-a-token",
		"no exp":    base64.RawURLEncoding.EncodeToString([]byte(`{}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"s"}`)) + ".sig",
		"expired":   unsignedJWT("old", now.Add(-time.Minute)),
	}
	wants := map[string]string{"missing": "cannot be read", "empty": "is empty", "not a jwt": "does not hold a JWT",
		"no exp": "does not hold a JWT", "expired": "expired at"}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range wants {
		path := filepath.Join(dir, name)
		_, err := NewTokenFile(path, "AZURE_FEDERATED_TOKEN_FILE", nil).Material(context.Background(), Request{})
		if entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial || !strings.Contains(err.Error(), want) ||
			!strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "AZURE_FEDERATED_TOKEN_FILE") {
			t.Errorf("%s: %v, want %s naming the file, its variable and %q", name, err, entra.CodeInvalidCredentialMaterial, want)
		}
		if data := files[name]; len(data) > 10 && strings.Contains(err.Error(), data) {
			t.Errorf("%s: the error shows the token", name)
		}
	}
	if _, err := NewTokenFile(filepath.Join(dir, "expired"), "", nil).Material(context.Background(), Request{CertificateOnly: true}); entra.ErrorCode(err) != entra.CodeMTLSCertificateNotProvided {
		t.Errorf("PoP with a federated token: %v", err)
	}
}

// TestTokenFileConcurrentReaders: callers share the read, and a rotation
// while they read never yields a partial token.
func TestTokenFileConcurrentReaders(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "token")
	exp := time.Now().Add(time.Hour)
	valid := map[string]bool{}
	for i := range 20 {
		valid[unsignedJWT(fmt.Sprint(i), exp)] = true
	}
	writeAtomically(t, path, unsignedJWT("0", exp))
	f := NewTokenFile(path, "", nil).(*tokenFile)
	var rotations sync.WaitGroup
	rotations.Go(func() {
		for token := range valid {
			writeAtomically(t, path, token)
		}
	})
	var readers sync.WaitGroup
	for range 8 {
		readers.Go(func() {
			for range 50 {
				f.mu.Lock()
				f.token = "" // force a read of the file each time
				f.mu.Unlock()
				m, err := f.Material(context.Background(), Request{})
				if err != nil || !valid[m.Assertion] {
					t.Errorf("read %v: %.20q…", err, m.Assertion)
					return
				}
			}
		})
	}
	readers.Wait()
	rotations.Wait()
}
