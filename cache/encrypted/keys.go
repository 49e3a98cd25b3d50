package encrypted

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

// KeySize is the size of a key's material: AES-256.
const KeySize = 32

// maxKeyID is the longest key id a document's header can hold.
const maxKeyID = 255

// Key is an AES-256 key and the id that names it in every document it
// encrypts. Its material cannot be read back and is never printed: String,
// GoString and LogValue show the id alone. The zero Key is no key.
type Key struct {
	// k is behind a pointer so that no verb of fmt, whatever it prints
	// of a Key's fields, reaches the key schedule: it prints an address.
	k *key
}

type key struct {
	id   string
	aead cipher.AEAD
}

// NewKey returns the key of material, which must be KeySize bytes; the
// caller may clear material afterwards.
//
// id names the key in the clear in each document it encrypts, so that a
// KeySource can find it again: at most 255 bytes, and no secret. An empty
// id names the key by a fingerprint of its material (16 hex digits of a
// SHA-256 hash), the same in every process given the same material.
//
// Material of another size is entra.CodeInvalidCredentialMaterial. No
// error of NewKey, KeyFromEnv or KeyFromFile quotes key material.
func NewKey(id string, material []byte) (Key, error) {
	if len(material) != KeySize {
		return Key{}, errs.New(entra.CodeInvalidCredentialMaterial,
			"a cache encryption key must be %d bytes (AES-256), not %d", KeySize, len(material))
	}
	if id == "" {
		id = fingerprint(material)
	}
	if len(id) > maxKeyID {
		return Key{}, errs.New(entra.CodeInvalidArgument, "a cache encryption key id must be at most %d bytes, not %d", maxKeyID, len(id))
	}
	block, err := aes.NewCipher(material)
	if err != nil {
		return Key{}, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "the cache encryption key cannot be used")
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return Key{}, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "the cache encryption key cannot be used")
	}
	return Key{&key{id: id, aead: aead}}, nil
}

// fingerprint names material without revealing it. The prefix keeps the
// hash apart from any other use of SHA-256 over the same bytes.
func fingerprint(material []byte) string {
	h := sha256.New()
	h.Write([]byte("entra cache key id\x00"))
	h.Write(material)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// KeyFromEnv returns the key in the environment variable name: the
// standard base64 encoding of KeySize bytes, e.g. the output of
// "openssl rand -base64 32". Its id is the material's fingerprint. getenv
// nil means os.Getenv.
func KeyFromEnv(name string, getenv func(string) string) (Key, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	value := getenv(name)
	if value == "" {
		return Key{}, errs.New(entra.CodeInvalidCredentialMaterial, "environment variable %s is empty or not set", name)
	}
	k, err := decodeKey([]byte(value))
	if err != nil {
		return Key{}, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "environment variable %s does not hold a cache encryption key", name)
	}
	return k, nil
}

// KeyFromFile returns the key in the file at path: KeySize bytes, or their
// standard base64 encoding (surrounding white space is ignored), as a
// mounted Kubernetes secret holds either. Its id is the material's
// fingerprint.
func KeyFromFile(path string) (Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Key{}, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "cannot read the cache key file")
	}
	defer clear(data)
	if len(data) == KeySize {
		return NewKey("", data)
	}
	k, err := decodeKey(data)
	if err != nil {
		return Key{}, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "the file %s does not hold a cache encryption key", path)
	}
	return k, nil
}

// decodeKey reads base64 text. Its errors say what is wrong with the text,
// never what the text is.
func decodeKey(text []byte) (Key, error) {
	text = bytes.TrimSpace(text)
	material := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	defer clear(material)
	n, err := base64.StdEncoding.Decode(material, text)
	if err != nil {
		return Key{}, errors.New("it is not standard base64")
	}
	if n != KeySize {
		return Key{}, fmt.Errorf("it decodes to %d bytes, not %d", n, KeySize)
	}
	return NewKey("", material[:n])
}

// ID returns the id that names the key in the documents it encrypts; ""
// for the zero Key.
func (k Key) ID() string {
	if k.k == nil {
		return ""
	}
	return k.k.id
}

// String returns the key's id, never its material.
func (k Key) String() string { return "encrypted.Key(" + k.ID() + ")" }

// GoString is what %#v prints: the id alone.
func (k Key) GoString() string { return "encrypted.Key{ID:" + strconv.Quote(k.ID()) + "}" }

// LogValue logs the id alone.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// KeySource gives the keys a Storage encrypts with and decrypts with.
// Implement it to take keys from a key management service: for example,
// a data key kept wrapped (encrypted) by a Key Vault key, unwrapped once
// and held in memory, its id naming the wrapped copy.
//
// Each call of Load or Update asks the source, so a source that makes a
// remote call should keep what it got. Its methods must be safe for
// concurrent use.
type KeySource interface {
	// WriteKey returns the key that encrypts every document written now.
	// Changing it rotates keys: documents are re-encrypted under the new
	// key as they are next written.
	WriteKey(ctx context.Context) (Key, error)
	// ReadKey returns the key a stored document names by id, or an error
	// if there is none: every key WriteKey returned, as long as documents
	// encrypted under it may remain.
	ReadKey(ctx context.Context, id string) (Key, error)
}

// staticKeys is a KeySource of keys fixed when it is made.
type staticKeys struct {
	write Key
	read  map[string]Key
}

// StaticKeys returns a KeySource that encrypts with current and decrypts
// with current and the previous keys. To rotate, make current a new key
// and keep the old one among previous until every document has been
// written since.
func StaticKeys(current Key, previous ...Key) (KeySource, error) {
	s := &staticKeys{write: current, read: make(map[string]Key, 1+len(previous))}
	for _, k := range append([]Key{current}, previous...) {
		if k.k == nil {
			return nil, errs.New(entra.CodeInvalidArgument, "a cache encryption key is the zero Key; make keys with NewKey, KeyFromEnv or KeyFromFile")
		}
		if _, dup := s.read[k.k.id]; dup {
			return nil, errs.New(entra.CodeInvalidArgument, "two cache encryption keys have the id %q", k.k.id)
		}
		s.read[k.k.id] = k
	}
	return s, nil
}

func (s *staticKeys) WriteKey(context.Context) (Key, error) { return s.write, nil }

func (s *staticKeys) ReadKey(_ context.Context, id string) (Key, error) {
	if k, ok := s.read[id]; ok {
		return k, nil
	}
	return Key{}, errors.New("none of the keys given has that id")
}
