//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package encrypted_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/cache/encrypted"
	"github.com/entra-go/entra/cache/filestore"
)

// tokenText stands for the secrets of a cache document.
const tokenText = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-token-text"

var document = []byte(`{"AccessToken":{"k":{"secret":"` + tokenText + `"}}}`)

// memStore keeps one document per partition, as Redis does, or, when not
// partitioned, one document whatever the partition named.
type memStore struct {
	partitioned bool
	mu          sync.Mutex
	docs        map[string][]byte
}

func (m *memStore) Partitioned() bool { return m.partitioned }

func (m *memStore) name(partition string) string {
	if m.partitioned {
		return partition
	}
	return ""
}

func (m *memStore) Load(_ context.Context, partition string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.docs[m.name(partition)]), nil
}

func (m *memStore) Update(_ context.Context, partition string, fn func([]byte) ([]byte, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next, err := fn(bytes.Clone(m.docs[m.name(partition)]))
	if err != nil || next == nil {
		return err
	}
	if m.docs == nil {
		m.docs = map[string][]byte{}
	}
	m.docs[m.name(partition)] = next
	return nil
}

// fixture is a store to wrap and a view of its bytes, under the wrapper.
type fixture struct {
	inner cache.Storage
	raw   func(partition string) []byte
	put   func(partition string, data []byte)
}

// backends are the two kinds of store: one document for every partition
// (a file), and one per partition (as Redis; see module redisstore for
// the real one).
var backends = []struct {
	name        string
	partitioned bool
	open        func(t *testing.T) fixture
}{
	{"file", false, func(t *testing.T) fixture {
		path := filepath.Join(t.TempDir(), "msal_cache.json")
		store, err := filestore.Open(path, filestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return fixture{store,
			func(string) []byte { data, _ := os.ReadFile(path); return data },
			func(_ string, data []byte) {
				if err := os.WriteFile(path, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}}
	}},
	{"partitioned", true, func(t *testing.T) fixture {
		m := &memStore{partitioned: true}
		return fixture{m,
			func(p string) []byte { data, _ := m.Load(context.Background(), p); return data },
			func(p string, data []byte) {
				m.Update(context.Background(), p, func([]byte) ([]byte, error) { return data, nil })
			}}
	}},
}

func staticKeys(t *testing.T, current encrypted.Key, previous ...encrypted.Key) encrypted.KeySource {
	t.Helper()
	keys, err := encrypted.StaticKeys(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func wrap(t *testing.T, inner cache.Storage, keys encrypted.KeySource, opts encrypted.Options) cache.Storage {
	t.Helper()
	s, err := encrypted.New(inner, keys, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func write(t *testing.T, s cache.Storage, partition string, doc []byte) {
	t.Helper()
	if err := s.Update(context.Background(), partition, func([]byte) ([]byte, error) { return doc, nil }); err != nil {
		t.Fatal(err)
	}
}

// rewrite writes back what is stored, as the cache does when it adds an entry.
func rewrite(t *testing.T, s cache.Storage, partition string) {
	t.Helper()
	if err := s.Update(context.Background(), partition, func(b []byte) ([]byte, error) { return b, nil }); err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, s cache.Storage, partition string) []byte {
	t.Helper()
	doc, err := s.Load(context.Background(), partition)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// keyID is the key id in an encrypted document's header.
func keyID(t *testing.T, doc []byte) string {
	t.Helper()
	if len(doc) < 6 || doc[0] != 0x89 || len(doc) < 6+int(doc[5]) {
		t.Fatalf("not an encrypted document: %q", doc)
	}
	return string(doc[6 : 6+int(doc[5])])
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := b.open(t)
			s := wrap(t, f.inner, staticKeys(t, newKey(t, "k1")), encrypted.Options{})
			if doc := load(t, s, "alice"); len(doc) != 0 {
				t.Fatalf("an empty store loads %q", doc)
			}
			write(t, s, "alice", document)
			if got := load(t, s, "alice"); !bytes.Equal(got, document) {
				t.Fatalf("loaded %q", got)
			}
			raw := f.raw("alice")
			if bytes.Contains(raw, []byte("secret-token-text")) || bytes.Contains(raw, []byte("AccessToken")) {
				t.Fatalf("the store holds the document in the clear: %q", raw)
			}
			if keyID(t, raw) != "k1" {
				t.Fatalf("key id %q", keyID(t, raw))
			}
			// Every write draws a new nonce: the same document never
			// encrypts to the same bytes.
			rewrite(t, s, "alice")
			if again := f.raw("alice"); bytes.Equal(again, raw) {
				t.Fatal("two writes of one document stored the same bytes")
			}
			// A store of one document is bound to a fixed label, so the
			// cache reads it whatever partition it names; a partitioned
			// store's other partitions are empty.
			for _, other := range []string{"", "bob"} {
				got := load(t, s, other)
				if b.partitioned && len(got) != 0 || !b.partitioned && !bytes.Equal(got, document) {
					t.Fatalf("partition %q loads %q", other, got)
				}
			}
		})
	}
}

// TestUnreadableDocumentsAreLeftAlone: a document that cannot be decrypted
// is CodeDecryptionFailed from Load and Update, Update's function never
// runs, and the stored bytes stay as they were.
func TestUnreadableDocumentsAreLeftAlone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		partitionedOnly bool
		// spoil changes what alice's document written under k1 became, and
		// returns the keys and options it is then read with, and the
		// partition read.
		spoil func(t *testing.T, f fixture, k1 encrypted.Key) (encrypted.KeySource, encrypted.Options, string)
	}{
		{name: "tampered ciphertext", spoil: func(t *testing.T, f fixture, k1 encrypted.Key) (encrypted.KeySource, encrypted.Options, string) {
			raw := f.raw("alice")
			raw[len(raw)-20] ^= 1
			f.put("alice", raw)
			return staticKeys(t, k1), encrypted.Options{}, "alice"
		}},
		{name: "tampered tag", spoil: func(t *testing.T, f fixture, k1 encrypted.Key) (encrypted.KeySource, encrypted.Options, string) {
			raw := f.raw("alice")
			raw[len(raw)-1] ^= 0x80
			f.put("alice", raw)
			return staticKeys(t, k1), encrypted.Options{}, "alice"
		}},
		{name: "tampered key id", spoil: func(t *testing.T, f fixture, k1 encrypted.Key) (encrypted.KeySource, encrypted.Options, string) {
			raw := f.raw("alice")
			raw[6] = 'x' // "k1" is now "x1"
			f.put("alice", raw)
			return staticKeys(t, k1, newKey(t, "x1")), encrypted.Options{}, "alice"
		}},
		{name: "truncated", spoil: func(t *testing.T, f fixture, k1 encrypted.Key) (encrypted.KeySource, encrypted.Options, string) {
			f.put("alice", f.raw("alice")[:20])
			return staticKeys(t, k1), encrypted.Options{}, "alice"
		}},
		{name: "newer format version", spoil: func(t *testing.T, f fixture, k1 encrypted.Key) (encrypted.KeySource, encrypted.Options, string) {
			raw := f.raw("alice")
			raw[4] = 2
			f.put("alice", raw)
			return staticKeys(t, k1), encrypted.Options{}, "alice"
		}},
		{name: "unknown key id", spoil: func(t *testing.T, f fixture, k1 encrypted.Key) (encrypted.KeySource, encrypted.Options, string) {
			return staticKeys(t, newKey(t, "k2")), encrypted.Options{}, "alice"
		}},
		{name: "wrong key of the same id", spoil: func(t *testing.T, f fixture, k1 encrypted.Key) (encrypted.KeySource, encrypted.Options, string) {
			return staticKeys(t, newKey(t, "k1")), encrypted.Options{}, "alice"
		}},
		{name: "swapped partition", partitionedOnly: true, spoil: func(t *testing.T, f fixture, k1 encrypted.Key) (encrypted.KeySource, encrypted.Options, string) {
			f.put("bob", f.raw("alice"))
			return staticKeys(t, k1), encrypted.Options{}, "bob"
		}},
		{name: "plaintext refused", spoil: func(t *testing.T, f fixture, k1 encrypted.Key) (encrypted.KeySource, encrypted.Options, string) {
			f.put("alice", document)
			return staticKeys(t, k1), encrypted.Options{RejectPlaintext: true}, "alice"
		}},
	}
	for _, b := range backends {
		for _, tt := range tests {
			if tt.partitionedOnly && !b.partitioned {
				continue
			}
			t.Run(b.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := b.open(t)
				m := material(t)
				k1, _ := encrypted.NewKey("k1", m)
				write(t, wrap(t, f.inner, staticKeys(t, k1), encrypted.Options{}), "alice", document)
				keys, opts, partition := tt.spoil(t, f, k1)
				before := f.raw(partition)
				s := wrap(t, f.inner, keys, opts)

				_, err := s.Load(context.Background(), partition)
				if entra.ErrorCode(err) != encrypted.CodeDecryptionFailed {
					t.Fatalf("Load: %v, want %s", err, encrypted.CodeDecryptionFailed)
				}
				var e *entra.Error
				if !errors.As(err, &e) {
					t.Fatalf("Load: %T is not an *entra.Error", err)
				}
				assertNoMaterial(t, err.Error(), m)
				if strings.Contains(err.Error(), "secret-token-text") {
					t.Fatalf("the error quotes the document: %v", err)
				}
				called := false
				err = s.Update(context.Background(), partition, func([]byte) ([]byte, error) {
					called = true
					return []byte(`{}`), nil
				})
				if entra.ErrorCode(err) != encrypted.CodeDecryptionFailed || called {
					t.Fatalf("Update: %v (function called: %v), want %s before the function", err, called, encrypted.CodeDecryptionFailed)
				}
				if after := f.raw(partition); !bytes.Equal(after, before) {
					t.Fatalf("the stored document changed:\n%q\n%q", before, after)
				}
			})
		}
	}
}

// TestRotation: documents under the previous key are read, and written
// under the current one at their next write.
func TestRotation(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := b.open(t)
			old, current := newKey(t, "2024"), newKey(t, "2025")
			write(t, wrap(t, f.inner, staticKeys(t, old), encrypted.Options{}), "alice", document)

			rotated := wrap(t, f.inner, staticKeys(t, current, old), encrypted.Options{})
			if got := load(t, rotated, "alice"); !bytes.Equal(got, document) {
				t.Fatalf("the old document loads as %q", got)
			}
			if id := keyID(t, f.raw("alice")); id != "2024" {
				t.Fatalf("a read rewrote the document (key %q)", id)
			}
			rewrite(t, rotated, "alice")
			if id := keyID(t, f.raw("alice")); id != "2025" {
				t.Fatalf("after a write the document is under key %q, want 2025", id)
			}
			// The old key can now be dropped.
			if got := load(t, wrap(t, f.inner, staticKeys(t, current), encrypted.Options{}), "alice"); !bytes.Equal(got, document) {
				t.Fatalf("under the new key alone: %q", got)
			}
		})
	}
}

// TestPlaintextMigration: a cache written before encryption was turned on
// is read, and encrypted at its next write.
func TestPlaintextMigration(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := b.open(t)
			f.put("alice", document)
			s := wrap(t, f.inner, staticKeys(t, newKey(t, "k1")), encrypted.Options{})
			if got := load(t, s, "alice"); !bytes.Equal(got, document) {
				t.Fatalf("the plaintext document loads as %q", got)
			}
			if !bytes.Equal(f.raw("alice"), document) {
				t.Fatal("a read rewrote the document")
			}
			rewrite(t, s, "alice")
			if raw := f.raw("alice"); keyID(t, raw) != "k1" || bytes.Contains(raw, []byte("secret-token-text")) {
				t.Fatalf("after a write the store holds %q", raw)
			}
			if got := load(t, s, "alice"); !bytes.Equal(got, document) {
				t.Fatalf("after migration the document loads as %q", got)
			}
			strict := wrap(t, b.open(t).inner, staticKeys(t, newKey(t, "k1")), encrypted.Options{RejectPlaintext: true})
			if _, err := strict.Load(context.Background(), "alice"); err != nil {
				t.Fatalf("RejectPlaintext refuses an empty store: %v", err)
			}
		})
	}
}

// TestBindings: a document is bound to its partition in a partitioned
// store, and to a label of its own in a store of one document, so that
// neither is taken for the other.
func TestBindings(t *testing.T) {
	t.Parallel()
	keys := staticKeys(t, newKey(t, "k1"))
	single, partitioned := &memStore{}, &memStore{partitioned: true}
	write(t, wrap(t, single, keys, encrypted.Options{}), "", document)
	write(t, wrap(t, partitioned, keys, encrypted.Options{}), "", document)
	moves := []struct {
		name     string
		from, to *memStore
	}{
		{"one document into a partition", single, &memStore{partitioned: true}},
		{"a partition into one document", partitioned, &memStore{}},
	}
	for _, m := range moves {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			m.to.docs = map[string][]byte{"": bytes.Clone(m.from.docs[""])}
			if _, err := wrap(t, m.to, keys, encrypted.Options{}).Load(context.Background(), ""); entra.ErrorCode(err) != encrypted.CodeDecryptionFailed {
				t.Fatalf("err = %v, want %s", err, encrypted.CodeDecryptionFailed)
			}
		})
	}
}

// TestPartitionedIsKept: the cache merges a partitioned store's documents
// instead of taking each for the whole cache, so the wrapper must say what
// the store it wraps says.
func TestPartitionedIsKept(t *testing.T) {
	t.Parallel()
	keys := staticKeys(t, newKey(t, "k1"))
	file, _ := filestore.Open(filepath.Join(t.TempDir(), "c.json"), filestore.Options{})
	tests := []struct {
		name  string
		inner cache.Storage
		want  bool // PartitionedStorage reporting true
	}{
		{"file", file, false},
		{"partitioned", &memStore{partitioned: true}, true},
		{"partitioned reporting false", &memStore{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := wrap(t, tt.inner, keys, encrypted.Options{})
			p, ok := s.(cache.PartitionedStorage)
			_, innerOK := tt.inner.(cache.PartitionedStorage)
			if ok != innerOK || ok && p.Partitioned() != tt.want {
				t.Fatalf("PartitionedStorage %v, want %v reporting %v", ok, innerOK, tt.want)
			}
		})
	}
	if _, err := encrypted.New(nil, keys, encrypted.Options{}); entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Errorf("no store: %v", err)
	}
	if _, err := encrypted.New(file, nil, encrypted.Options{}); entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Errorf("no keys: %v", err)
	}
}

// failingKeys is a key source whose service is down.
type failingKeys struct{ write, read error }

func (f failingKeys) WriteKey(context.Context) (encrypted.Key, error) {
	return encrypted.Key{}, f.write
}
func (f failingKeys) ReadKey(context.Context, string) (encrypted.Key, error) {
	return encrypted.Key{}, f.read
}

// TestKeySourceFailures: a key source that fails writes nothing, and its
// cause is kept.
func TestKeySourceFailures(t *testing.T) {
	t.Parallel()
	down := errors.New("key vault unreachable")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		keys encrypted.KeySource
		op   string // "load" or "update"
		want entra.Code
	}{
		{"no write key", context.Background(), failingKeys{write: down}, "update", entra.CodeCacheStorage},
		{"the zero Key to write with", context.Background(), failingKeys{}, "update", entra.CodeCacheStorage},
		{"no read key", context.Background(), failingKeys{read: down}, "load", encrypted.CodeDecryptionFailed},
		{"the zero Key to read with", context.Background(), failingKeys{}, "load", encrypted.CodeDecryptionFailed},
		{"canceled while getting the read key", canceled, failingKeys{read: context.Canceled}, "load", entra.CodeCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := &memStore{partitioned: true}
			write(t, wrap(t, m, staticKeys(t, newKey(t, "k1")), encrypted.Options{}), "alice", document)
			before := bytes.Clone(m.docs["alice"])
			s := wrap(t, m, tt.keys, encrypted.Options{})
			var err error
			if tt.op == "load" {
				_, err = s.Load(tt.ctx, "alice")
			} else {
				err = s.Update(tt.ctx, "alice", func([]byte) ([]byte, error) { return []byte(`{}`), nil })
			}
			if entra.ErrorCode(err) != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
			if tt.keys.(failingKeys).read == down && !errors.Is(err, down) {
				t.Errorf("the key source's error is lost: %v", err)
			}
			if !bytes.Equal(m.docs["alice"], before) {
				t.Fatal("the stored document changed")
			}
		})
	}
}

// TestNothingToWrite: a function that returns nil writes nothing, as the
// stores do.
func TestNothingToWrite(t *testing.T) {
	t.Parallel()
	m := &memStore{partitioned: true}
	s := wrap(t, m, staticKeys(t, newKey(t, "k1")), encrypted.Options{})
	if err := s.Update(context.Background(), "alice", func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.docs["alice"]; ok {
		t.Fatalf("stored %q", m.docs["alice"])
	}
}

// expiringStore is a memStore that records when documents expire.
type expiringStore struct {
	memStore
	expires map[string]time.Time
}

func (m *expiringStore) UpdateExpiring(ctx context.Context, partition string, fn func([]byte) ([]byte, time.Time, error)) error {
	return m.Update(ctx, partition, func(stored []byte) ([]byte, error) {
		next, expires, err := fn(stored)
		if err == nil {
			m.expires[partition] = expires // under m.mu, which Update holds
		}
		return next, err
	})
}

// TestExpiryPassesThrough: the wrapper is a cache.ExpiringStorage, passes
// on the expiry to a store that takes one, and still encrypts.
func TestExpiryPassesThrough(t *testing.T) {
	t.Parallel()
	inner := &expiringStore{memStore: memStore{partitioned: true}, expires: map[string]time.Time{}}
	k, err := encrypted.NewKey("", bytes.Repeat([]byte{7}, encrypted.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := encrypted.StaticKeys(k)
	s, err := encrypted.New(inner, keys, encrypted.Options{})
	if err != nil {
		t.Fatal(err)
	}
	es, ok := s.(cache.ExpiringStorage)
	if !ok {
		t.Fatal("the wrapper is not a cache.ExpiringStorage")
	}
	when := time.Unix(4102444800, 0)
	if err := es.UpdateExpiring(context.Background(), "p", func([]byte) ([]byte, time.Time, error) {
		return []byte(`{"secret":"x"}`), when, nil
	}); err != nil {
		t.Fatal(err)
	}
	if !inner.expires["p"].Equal(when) || bytes.Contains(inner.docs["p"], []byte("secret")) {
		t.Fatalf("expires %v; stored %q", inner.expires["p"], inner.docs["p"])
	}
}

// TestVersionedFile: over the file store the wrapper stays a
// cache.VersionedStorage: an unchanged file is not read again, a write
// over it is sealed under the current key (rotating the old one out), and
// a file changed into something unreadable is refused, typed, and left.
func TestVersionedFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := backends[0].open(t) // the file
	old, current := newKey(t, "2024"), newKey(t, "2025")
	vs, ok := wrap(t, f.inner, staticKeys(t, old), encrypted.Options{}).(cache.VersionedStorage)
	if !ok {
		t.Fatal("the wrapper over a file store is not a cache.VersionedStorage")
	}
	writeDoc := func(doc []byte) func([]byte, bool, io.Writer) error {
		return func(_ []byte, _ bool, w io.Writer) error { _, err := w.Write(doc); return err }
	}
	v1, err := vs.UpdateIfChanged(ctx, "", "", writeDoc(document))
	if err != nil || keyID(t, f.raw("")) != "2024" || bytes.Contains(f.raw(""), document) {
		t.Fatalf("first write: %v, stored %q", err, f.raw(""))
	}
	if doc, v, err := vs.LoadIfChanged(ctx, "", v1); doc != nil || v != v1 || err != nil {
		t.Fatalf("an unchanged file was read: %q, %q, %v", doc, v, err)
	}

	rotated := wrap(t, f.inner, staticKeys(t, current, old), encrypted.Options{}).(cache.VersionedStorage)
	next := []byte(`{"AccessToken":{}}`)
	var sawChanged bool
	v2, err := rotated.UpdateIfChanged(ctx, "", v1, func(stored []byte, changed bool, w io.Writer) error {
		sawChanged = changed || stored != nil
		_, err := w.Write(next)
		return err
	})
	if err != nil || sawChanged || keyID(t, f.raw("")) != "2025" {
		t.Fatalf("write over an unchanged file: %v, changed %t, key %q", err, sawChanged, keyID(t, f.raw("")))
	}
	if got := load(t, wrap(t, f.inner, staticKeys(t, current), encrypted.Options{}), ""); !bytes.Equal(got, next) {
		t.Fatalf("under the new key alone: %q", got)
	}

	spoiled := f.raw("")
	spoiled[len(spoiled)-1] ^= 1
	f.put("", spoiled)
	if _, err := rotated.UpdateIfChanged(ctx, "", v2, writeDoc(document)); entra.ErrorCode(err) != encrypted.CodeDecryptionFailed {
		t.Fatalf("a tampered file: %v, want %s", err, encrypted.CodeDecryptionFailed)
	}
	if !bytes.Equal(f.raw(""), spoiled) {
		t.Fatal("the tampered file was written over")
	}
}
