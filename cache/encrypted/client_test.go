//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package encrypted_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache/encrypted"
	"github.com/entra-go/entra/cache/filestore"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
)

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestClientOverEncryptedFile: a confidential client's cache file holds no
// token text, another instance with the key is served from it, and one
// that cannot decrypt it still gets a token (fetched, kept in memory),
// warns with the code, and leaves the file as it was.
func TestClientOverEncryptedFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// spoil returns the key the third instance reads the file with,
		// after changing the file if it should.
		spoil func(t *testing.T, path string, key encrypted.Key) encrypted.Key
	}{
		{"tampered file", func(t *testing.T, path string, key encrypted.Key) encrypted.Key {
			data, _ := os.ReadFile(path)
			data[len(data)/2] ^= 1
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			return key
		}},
		{"wrong key", func(t *testing.T, _ string, _ encrypted.Key) encrypted.Key { return newKey(t, "") }},
		{"wrong key of the same id", func(t *testing.T, _ string, key encrypted.Key) encrypted.Key { return newKey(t, key.ID()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			em, err := entratest.New(entratest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { em.Close() })
			path := filepath.Join(t.TempDir(), "msal_cache.json")
			var logged syncBuffer
			instance := func(key encrypted.Key) *confidential.Client {
				file, err := filestore.Open(path, filestore.Options{})
				if err != nil {
					t.Fatal(err)
				}
				store := wrap(t, file, staticKeys(t, key), encrypted.Options{})
				secret, _ := credential.NewSecret(em.DefaultClient().Secret)
				c, err := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
					ClientID: em.DefaultClient().ID, Credential: secret, HTTPClient: em.HTTPClient(), Cache: store,
					Logger: slog.New(slog.NewTextHandler(&logged, nil))})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			ctx := context.Background()
			req := confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}}
			key := newKey(t, "")

			first, err := instance(key).AcquireTokenForClient(ctx, req)
			if err != nil || first.FromCache {
				t.Fatalf("first: %v %v", first, err)
			}
			stored, _ := os.ReadFile(path)
			if len(stored) == 0 || bytes.Contains(stored, []byte(first.AccessToken)) || bytes.Contains(stored, []byte(`"secret"`)) {
				t.Fatalf("the cache file holds the token in the clear: %q", stored)
			}
			second, err := instance(key).AcquireTokenForClient(ctx, req)
			if err != nil || !second.FromCache || second.AccessToken != first.AccessToken {
				t.Fatalf("the second instance was not served from the file: %v %v", second, err)
			}

			reader := tt.spoil(t, path, key)
			before, _ := os.ReadFile(path)
			third, err := instance(reader).AcquireTokenForClient(ctx, req)
			if err != nil || third.FromCache {
				t.Fatalf("an unreadable cache is not worked around: %v %v", third, err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
				t.Fatal("the unreadable cache file was written over")
			}
			if !strings.Contains(logged.String(), string(encrypted.CodeDecryptionFailed)) {
				t.Fatalf("no warning with %s in the log:\n%s", encrypted.CodeDecryptionFailed, logged.String())
			}
			for _, tok := range []entra.Token{first, third} {
				if strings.Contains(logged.String(), tok.AccessToken) {
					t.Fatal("a token is in the log")
				}
			}
		})
	}
}
