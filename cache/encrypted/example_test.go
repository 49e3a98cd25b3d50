//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package encrypted_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"

	"github.com/entra-go/entra/cache/encrypted"
	"github.com/entra-go/entra/cache/filestore"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
)

// A cache file that holds no token anyone without the key can read.
func Example() {
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer em.Close()
	dir, _ := os.MkdirTemp("", "entra-example-")
	defer os.RemoveAll(dir)

	// In production the key comes from a secret store:
	// encrypted.KeyFromEnv("ENTRA_CACHE_KEY", nil), KeyFromFile, or a
	// KeySource of your own. To rotate, pass the new key first and the
	// old one after it until the cache has been rewritten.
	material := make([]byte, encrypted.KeySize)
	rand.Read(material)
	key, err := encrypted.NewKey("2025-06", material)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := encrypted.StaticKeys(key)
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(dir, "msal_cache.json")
	file, err := filestore.Open(path, filestore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	store, err := encrypted.New(file, keys, encrypted.Options{})
	if err != nil {
		log.Fatal(err)
	}

	secret, _ := credential.NewSecret(em.DefaultClient().Secret)
	client, err := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
		ClientID: em.DefaultClient().ID, Credential: secret, HTTPClient: em.HTTPClient(), Cache: store})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	tok, err := client.AcquireTokenForClient(context.Background(), confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil {
		log.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	fmt.Println("token in the file:", bytes.Contains(data, []byte(tok.AccessToken)))
	// Output: token in the file: false
}

// vault stands in for a key management service (Azure Key Vault's
// wrapKey and unwrapKey): it holds a key-encryption key it never gives out.
type vault struct{ kek cipher.AEAD }

func newVault() *vault {
	material := make([]byte, 32)
	rand.Read(material)
	block, _ := aes.NewCipher(material)
	kek, _ := cipher.NewGCMWithRandomNonce(block)
	return &vault{kek}
}

func (v *vault) wrap(dataKey []byte) []byte { return v.kek.Seal(nil, nil, dataKey, nil) }

func (v *vault) unwrap(_ context.Context, wrapped []byte) ([]byte, error) {
	return v.kek.Open(nil, nil, wrapped, nil)
}

// envelopeKeys is a KeySource over data keys kept wrapped by a vault, each
// named by the id of its wrapped copy and unwrapped once, when a document
// first needs it.
type envelopeKeys struct {
	unwrap  func(ctx context.Context, wrapped []byte) ([]byte, error)
	wrapped map[string][]byte // by id, e.g. from the app's configuration
	current string

	mu        sync.Mutex
	unwrapped map[string]encrypted.Key
}

func (e *envelopeKeys) WriteKey(ctx context.Context) (encrypted.Key, error) {
	return e.ReadKey(ctx, e.current)
}

func (e *envelopeKeys) ReadKey(ctx context.Context, id string) (encrypted.Key, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if k, ok := e.unwrapped[id]; ok {
		return k, nil
	}
	wrapped, ok := e.wrapped[id]
	if !ok {
		return encrypted.Key{}, fmt.Errorf("no data key %q", id)
	}
	material, err := e.unwrap(ctx, wrapped)
	if err != nil {
		return encrypted.Key{}, err
	}
	defer clear(material)
	k, err := encrypted.NewKey(id, material)
	if err != nil {
		return encrypted.Key{}, err
	}
	e.unwrapped[id] = k
	return k, nil
}

// Envelope encryption: the cache's data key is stored wrapped by a vault's
// key, and unwrapped in memory only.
func ExampleKeySource() {
	v := newVault()
	dataKey := make([]byte, encrypted.KeySize)
	rand.Read(dataKey)
	keys := &envelopeKeys{unwrap: v.unwrap, wrapped: map[string][]byte{"data-key-1": v.wrap(dataKey)},
		current: "data-key-1", unwrapped: map[string]encrypted.Key{}}
	clear(dataKey)

	dir, _ := os.MkdirTemp("", "entra-example-")
	defer os.RemoveAll(dir)
	file, err := filestore.Open(filepath.Join(dir, "msal_cache.json"), filestore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	store, err := encrypted.New(file, keys, encrypted.Options{RejectPlaintext: true})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	err = store.Update(ctx, "", func([]byte) ([]byte, error) { return []byte(`{"AccessToken":{}}`), nil })
	if err != nil {
		log.Fatal(err)
	}
	doc, err := store.Load(ctx, "")
	fmt.Println(string(doc), err)
	// Output: {"AccessToken":{}} <nil>
}
