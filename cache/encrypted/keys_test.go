package encrypted_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache/encrypted"
)

// material returns fresh key material.
func material(t testing.TB) []byte {
	t.Helper()
	m := make([]byte, encrypted.KeySize)
	rand.Read(m)
	return m
}

// newKey returns a key with fresh material named id ("" for its fingerprint).
func newKey(t testing.TB, id string) encrypted.Key {
	t.Helper()
	k, err := encrypted.NewKey(id, material(t))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		id       string
		material []byte
		want     entra.Code
	}{
		{"32 bytes", "k1", make([]byte, 32), ""},
		{"fingerprint id", "", make([]byte, 32), ""},
		{"empty", "k1", nil, entra.CodeInvalidCredentialMaterial},
		{"AES-128", "k1", make([]byte, 16), entra.CodeInvalidCredentialMaterial},
		{"31 bytes", "k1", make([]byte, 31), entra.CodeInvalidCredentialMaterial},
		{"33 bytes", "k1", make([]byte, 33), entra.CodeInvalidCredentialMaterial},
		{"id of 256 bytes", strings.Repeat("i", 256), make([]byte, 32), entra.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := encrypted.NewKey(tt.id, tt.material)
			if got := entra.ErrorCode(err); got != tt.want {
				t.Fatalf("NewKey: %v, want code %q", err, tt.want)
			}
			if err == nil && tt.id == "" && len(k.ID()) != 16 {
				t.Fatalf("fingerprint id %q", k.ID())
			}
		})
	}
	a, _ := encrypted.NewKey("", bytes.Repeat([]byte{1}, 32))
	b, _ := encrypted.NewKey("", bytes.Repeat([]byte{1}, 32))
	c, _ := encrypted.NewKey("", bytes.Repeat([]byte{2}, 32))
	if a.ID() != b.ID() || a.ID() == c.ID() {
		t.Fatalf("fingerprints %s %s %s: the same material must name a key alike, and only it", a.ID(), b.ID(), c.ID())
	}
}

func TestKeyFromEnv(t *testing.T) {
	t.Parallel()
	m := material(t)
	good := base64.StdEncoding.EncodeToString(m)
	tests := []struct {
		name  string
		value string
		want  entra.Code
	}{
		{"base64 of 32 bytes", good, ""},
		{"surrounded by white space", " " + good + "\n", ""},
		{"unset", "", entra.CodeInvalidCredentialMaterial},
		{"not base64", "not base64 at all!", entra.CodeInvalidCredentialMaterial},
		{"URL-safe base64 is refused", base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), entra.CodeInvalidCredentialMaterial},
		{"16 bytes", base64.StdEncoding.EncodeToString(m[:16]), entra.CodeInvalidCredentialMaterial},
		{"raw bytes", string(m), entra.CodeInvalidCredentialMaterial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(name string) string {
				if name == "CACHE_KEY" {
					return tt.value
				}
				return ""
			}
			k, err := encrypted.KeyFromEnv("CACHE_KEY", getenv)
			if got := entra.ErrorCode(err); got != tt.want {
				t.Fatalf("KeyFromEnv: %v, want code %q", err, tt.want)
			}
			if err != nil {
				assertNoMaterial(t, err.Error(), []byte(tt.value))
				if !strings.Contains(err.Error(), "CACHE_KEY") {
					t.Errorf("the error does not name the variable: %v", err)
				}
				return
			}
			if want, _ := encrypted.NewKey("", m); k.ID() != want.ID() {
				t.Errorf("id %s, want the fingerprint %s", k.ID(), want.ID())
			}
		})
	}
}

func TestKeyFromFile(t *testing.T) {
	t.Parallel()
	m := material(t)
	tests := []struct {
		name    string
		content []byte // nil: no file
		want    entra.Code
	}{
		{"32 bytes", m, ""},
		{"base64 and a newline", []byte(base64.StdEncoding.EncodeToString(m) + "\n"), ""},
		{"missing", nil, entra.CodeInvalidCredentialMaterial},
		{"empty", []byte{}, entra.CodeInvalidCredentialMaterial},
		{"31 bytes", m[:31], entra.CodeInvalidCredentialMaterial},
		{"hex", []byte(hex.EncodeToString(m)), entra.CodeInvalidCredentialMaterial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "cache.key")
			if tt.content != nil {
				if err := os.WriteFile(path, tt.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			k, err := encrypted.KeyFromFile(path)
			if got := entra.ErrorCode(err); got != tt.want {
				t.Fatalf("KeyFromFile: %v, want code %q", err, tt.want)
			}
			if err != nil {
				assertNoMaterial(t, err.Error(), m)
				return
			}
			if want, _ := encrypted.NewKey("", m); k.ID() != want.ID() {
				t.Errorf("id %s, want the fingerprint %s", k.ID(), want.ID())
			}
		})
	}
}

// TestKeyIsNeverPrinted: no verb of fmt, nor slog, shows a key's material.
func TestKeyIsNeverPrinted(t *testing.T) {
	t.Parallel()
	m := material(t)
	k, err := encrypted.NewKey("k1", m)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := encrypted.StaticKeys(k)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("key", "key", k, "keys", keys)
	printed := logged.String()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b"} {
		printed += fmt.Sprintf(verb, k) + fmt.Sprintf(verb, keys) + fmt.Sprintf(verb, []encrypted.Key{k})
	}
	assertNoMaterial(t, printed, m)
	if !strings.Contains(fmt.Sprint(k), "k1") || !strings.Contains(fmt.Sprintf("%#v", k), "k1") {
		t.Errorf("a key prints without its id: %v %#v", k, k)
	}
}

func TestStaticKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	current, old := newKey(t, "new"), newKey(t, "old")
	keys, err := encrypted.StaticKeys(current, old)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := keys.WriteKey(ctx); w.ID() != "new" {
		t.Errorf("write key %v", w)
	}
	for _, id := range []string{"new", "old"} {
		if k, err := keys.ReadKey(ctx, id); err != nil || k.ID() != id {
			t.Errorf("ReadKey(%q) = %v, %v", id, k, err)
		}
	}
	if _, err := keys.ReadKey(ctx, "other"); err == nil {
		t.Error("an unknown id gives a key")
	}
	if _, err := encrypted.StaticKeys(current, newKey(t, "new")); entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Errorf("two keys of one id: %v", err)
	}
	if _, err := encrypted.StaticKeys(encrypted.Key{}); entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Errorf("the zero Key: %v", err)
	}
}

// assertNoMaterial fails if text holds the material, raw or in a common
// encoding.
func assertNoMaterial(t *testing.T, text string, material []byte) {
	t.Helper()
	if len(material) < 8 {
		return
	}
	for _, form := range []string{string(material), hex.EncodeToString(material), strings.ToUpper(hex.EncodeToString(material)),
		base64.StdEncoding.EncodeToString(material), fmt.Sprint(material), fmt.Sprintf("%q", material)} {
		// A prefix is enough to leak: look for the first 8 bytes' worth.
		probe := form[:min(len(form), 12)]
		if strings.Contains(text, probe) {
			t.Fatalf("key material (%q…) in %q", probe, text)
		}
	}
}
