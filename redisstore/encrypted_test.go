package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/cache/encrypted"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/internal/tokencache"
)

const secretText = "secret-token-text"

var cacheDoc = []byte(`{"AccessToken":{"k":{"secret":"` + secretText + `"}}}`)

func newKey(t *testing.T, id string) encrypted.Key {
	t.Helper()
	m := make([]byte, encrypted.KeySize)
	rand.Read(m)
	k, err := encrypted.NewKey(id, m)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// encryptedStore is a Redis store of its own prefix under keys.
func encryptedStore(t *testing.T, prefix string, opts encrypted.Options, current encrypted.Key, previous ...encrypted.Key) (cache.Storage, func(partition string) []byte, func(partition string, data []byte)) {
	t.Helper()
	s, rdb := newStore(t, prefix)
	keys, err := encrypted.StaticKeys(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	es, err := encrypted.New(s, keys, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw := func(p string) []byte { b, _ := rdb.Get(context.Background(), s.Key(p)).Bytes(); return b }
	put := func(p string, data []byte) {
		if err := rdb.Set(context.Background(), s.Key(p), data, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return es, raw, put
}

func TestEncryptedRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	p := prefix(t)
	s, raw, _ := encryptedStore(t, p, encrypted.Options{}, k1)
	if ps, ok := s.(cache.PartitionedStorage); !ok || !ps.Partitioned() {
		t.Fatal("the encrypted Redis store is not partitioned")
	}
	if err := s.Update(ctx, "alice", func([]byte) ([]byte, error) { return cacheDoc, nil }); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(ctx, "alice"); err != nil || !bytes.Equal(got, cacheDoc) {
		t.Fatalf("Load: %q %v", got, err)
	}
	if r := raw("alice"); len(r) == 0 || r[0] != 0x89 || bytes.Contains(r, []byte(secretText)) {
		t.Fatalf("Redis holds %q", r)
	}
	// Rotation: k2 writes, k1 still reads; the next write moves to k2.
	rotated, raw, _ := encryptedStore(t, p, encrypted.Options{}, k2, k1)
	if got, err := rotated.Load(ctx, "alice"); err != nil || !bytes.Equal(got, cacheDoc) {
		t.Fatalf("Load after rotation: %q %v", got, err)
	}
	if err := rotated.Update(ctx, "alice", func(b []byte) ([]byte, error) { return b, nil }); err != nil {
		t.Fatal(err)
	}
	if r := raw("alice"); !bytes.Contains(r[:8], []byte("k2")) {
		t.Fatalf("not rewritten under k2: %q", r[:8])
	}
	only2, _, _ := encryptedStore(t, p, encrypted.Options{}, k2)
	if got, err := only2.Load(ctx, "alice"); err != nil || !bytes.Equal(got, cacheDoc) {
		t.Fatalf("Load under k2 alone: %q %v", got, err)
	}
}

// TestEncryptedUnreadableLeftAlone: on a real Redis, each document that
// cannot be decrypted is cache_decryption_failed and its value is not
// touched.
func TestEncryptedUnreadableLeftAlone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// spoil acts on alice's document, written under k1, and returns
		// the partition to read and the store to read it with.
		spoil func(t *testing.T, p string, k1 encrypted.Key) (string, cache.Storage)
	}{
		{"swapped partition", func(t *testing.T, p string, k1 encrypted.Key) (string, cache.Storage) {
			s, raw, put := encryptedStore(t, p, encrypted.Options{}, k1)
			put("bob", raw("alice"))
			return "bob", s
		}},
		{"app partition given a user's document", func(t *testing.T, p string, k1 encrypted.Key) (string, cache.Storage) {
			s, raw, put := encryptedStore(t, p, encrypted.Options{}, k1)
			put("", raw("alice"))
			return "", s
		}},
		{"tampered", func(t *testing.T, p string, k1 encrypted.Key) (string, cache.Storage) {
			s, raw, put := encryptedStore(t, p, encrypted.Options{}, k1)
			r := raw("alice")
			r[len(r)-20] ^= 1
			put("alice", r)
			return "alice", s
		}},
		{"unknown key id", func(t *testing.T, p string, _ encrypted.Key) (string, cache.Storage) {
			s, _, _ := encryptedStore(t, p, encrypted.Options{}, newKey(t, "k2"))
			return "alice", s
		}},
		{"wrong key", func(t *testing.T, p string, _ encrypted.Key) (string, cache.Storage) {
			s, _, _ := encryptedStore(t, p, encrypted.Options{}, newKey(t, "k1"))
			return "alice", s
		}},
		{"plaintext refused", func(t *testing.T, p string, k1 encrypted.Key) (string, cache.Storage) {
			s, _, put := encryptedStore(t, p, encrypted.Options{RejectPlaintext: true}, k1)
			put("alice", cacheDoc)
			return "alice", s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p, k1 := prefix(t), newKey(t, "k1")
			writer, raw, _ := encryptedStore(t, p, encrypted.Options{}, k1)
			if err := writer.Update(ctx, "alice", func([]byte) ([]byte, error) { return cacheDoc, nil }); err != nil {
				t.Fatal(err)
			}
			partition, s := tt.spoil(t, p, k1)
			before := raw(partition)
			if _, err := s.Load(ctx, partition); entra.ErrorCode(err) != encrypted.CodeDecryptionFailed {
				t.Fatalf("Load: %v", err)
			}
			called := false
			err := s.Update(ctx, partition, func([]byte) ([]byte, error) { called = true; return []byte(`{}`), nil })
			if entra.ErrorCode(err) != encrypted.CodeDecryptionFailed || called {
				t.Fatalf("Update: %v (function called: %v)", err, called)
			}
			if after := raw(partition); !bytes.Equal(after, before) {
				t.Fatalf("the value changed:\n%q\n%q", before, after)
			}
		})
	}
}

// TestEncryptedWritersLoseNothing: a write that loses its race is redone
// on the newer value, decrypted again and sealed under a new nonce.
func TestEncryptedWritersLoseNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, k := prefix(t), newKey(t, "k1")
	var wg sync.WaitGroup
	for w := range 4 {
		s, _, _ := encryptedStore(t, p, encrypted.Options{RejectPlaintext: true}, k)
		wg.Go(func() {
			for i := range 25 {
				err := s.Update(ctx, "shared", func(old []byte) ([]byte, error) {
					var items []string
					if len(old) > 0 {
						if err := json.Unmarshal(old, &items); err != nil {
							return nil, err
						}
					}
					return json.Marshal(append(items, fmt.Sprintf("w%d-%d", w, i)))
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	s, _, _ := encryptedStore(t, p, encrypted.Options{}, k)
	data, err := s.Load(ctx, "shared")
	var items []string
	if err != nil || json.Unmarshal(data, &items) != nil || len(items) != 100 {
		t.Fatalf("%d items, want 100 (%v)", len(items), err)
	}
}

// TestEncryptedInstancesShareTokens: two service instances share an app
// token through an encrypted Redis store, which holds no token text.
func TestEncryptedInstancesShareTokens(t *testing.T) {
	t.Parallel()
	em := newEmulator(t)
	ctx := context.Background()
	p, k := prefix(t), newKey(t, "")
	var raw func(string) []byte
	instance := func() *confidential.Client {
		var s cache.Storage
		s, raw, _ = encryptedStore(t, p, encrypted.Options{}, k)
		return newClient(t, em, s)
	}
	req := confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}}
	first, err := instance().AcquireTokenForClient(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := instance().AcquireTokenForClient(ctx, req)
	if err != nil || !second.FromCache || second.AccessToken != first.AccessToken {
		t.Fatalf("the second instance did not share the token: %v %v", second, err)
	}
	app := tokencache.StoragePartition(&tokencache.Key{Environment: "login.windows.net", ClientID: em.DefaultClient().ID, Tenant: tenant})
	if r := raw(app); len(r) == 0 || bytes.Contains(r, []byte(first.AccessToken)) {
		t.Fatalf("Redis holds the token in the clear: %q", r)
	}
}
