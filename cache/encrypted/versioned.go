package encrypted

import (
	"bytes"
	"context"
	"io"

	"github.com/entra-go/entra/cache"
)

// versionedStorage is a storage over a cache.VersionedStorage (the file
// store), which it remains: a cache over it then reads and decrypts the
// document only when another process changed it.
type versionedStorage struct {
	*storage
	versioned cache.VersionedStorage
}

// LoadIfChanged is Load that reads nothing if the stored document's
// version is still since.
func (s versionedStorage) LoadIfChanged(ctx context.Context, partition, since string) ([]byte, string, error) {
	stored, version, err := s.versioned.LoadIfChanged(ctx, partition, since)
	if err != nil || (stored == nil && version == since) {
		return nil, version, err
	}
	doc, err := s.open(ctx, partition, stored, Key{})
	if err != nil {
		return nil, "", err
	}
	return doc, version, nil
}

// UpdateIfChanged is Update that decrypts the stored document only if its
// version is no longer since. The document fn writes is gathered and
// sealed whole: authenticated encryption needs all of it.
func (s versionedStorage) UpdateIfChanged(ctx context.Context, partition, since string, fn func(stored []byte, changed bool, w io.Writer) error) (string, error) {
	key, err := s.writeKey(ctx)
	if err != nil {
		return "", err
	}
	return s.versioned.UpdateIfChanged(ctx, partition, since, func(stored []byte, changed bool, w io.Writer) error {
		var doc []byte
		if changed {
			if doc, err = s.open(ctx, partition, stored, key); err != nil {
				return err // the store writes nothing over what it cannot read
			}
		}
		var next bytes.Buffer
		if err := fn(doc, changed, &next); err != nil {
			return err
		}
		_, err := w.Write(s.seal(key, partition, next.Bytes()))
		return err
	})
}
