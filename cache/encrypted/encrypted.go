// Package encrypted encrypts a token cache at rest: it wraps any
// cache.Storage (a file, Redis, a store of your own) so that each document
// is stored encrypted and authenticated with AES-256-GCM.
//
// What it protects: the tokens (access, refresh and ID tokens), the
// accounts (usernames, names) and every other entry of a document, from
// whoever can read the store but has no key; and the documents'
// integrity: a document altered, truncated, or (in a store of one document
// per partition, such as Redis) moved under another partition's name fails
// to authenticate. Such a document is reported with CodeDecryptionFailed
// and left exactly as it is; the client then keeps its tokens in memory
// and fetches those it lacks, as for any storage failure.
//
// What it does not protect:
//   - the names under which documents are stored: the file's path, and in
//     Redis each key, which names a partition (a user's home account id,
//     or a hash of an on-behalf-of assertion);
//   - the key id in each document's header (a fingerprint id tells
//     whether two caches share a key), a document's size, and when it was
//     written;
//   - an older document put back in place of a newer one of the same
//     partition: it authenticates, and its tokens may be stale or revoked;
//   - a document deleted: the client fetches its tokens again;
//   - a single-document store's file copied over another application's
//     file encrypted with the same key: give each cache its own key;
//   - the tokens in the memory of the process, and from whoever has a key.
//
// Documents written in the clear, before encryption was turned on, are
// read and encrypted at their next write. Once none is left, set
// Options.RejectPlaintext: otherwise whoever can write to the store can
// plant a document in the clear, which would be read.
//
// An encrypted document is 0x89 'E' 'N' 'C', a version byte (1), the key
// id's length (one byte) and the key id, a random 12-byte nonce, and the
// document sealed with AES-256-GCM (its 16-byte tag last), its additional
// data being the header and the partition name (in a store of one
// document, a fixed label).
// No JSON or UTF-8 text starts with byte 0x89, so a document in the clear
// is never mistaken for one. A nonce drawn at random for each write bounds
// a key to 2³² writes; rotate keys well before that.
package encrypted

import (
	"context"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/internal/errs"
)

// CodeDecryptionFailed: a stored document cannot be decrypted or does not
// authenticate: it was altered, is under a key the KeySource does not give
// (or gives wrong), belongs to another partition, or is in the clear when
// Options.RejectPlaintext refuses that. Nothing is written over it.
const CodeDecryptionFailed entra.Code = "cache_decryption_failed"

// Options configure an encrypting Storage.
type Options struct {
	// RejectPlaintext refuses a stored document that is not encrypted
	// (CodeDecryptionFailed) instead of reading it and encrypting it at its
	// next write.
	RejectPlaintext bool
}

// storage encrypts the documents of the store it wraps.
type storage struct {
	inner           cache.Storage
	keys            KeySource
	rejectPlaintext bool
	// partitioned is the inner store's Partitioned, fixed when wrapped,
	// as the cache fixes it: documents are bound to what it says.
	partitioned bool
}

// partitionedStorage is a storage over a cache.PartitionedStorage, which
// it must remain: the cache merges a partitioned store's documents rather
// than taking each for the whole cache.
type partitionedStorage struct{ *storage }

// Partitioned reports what the wrapped store reported.
func (p partitionedStorage) Partitioned() bool { return p.partitioned }

// New returns a Storage that keeps the documents of store encrypted under
// the keys of keys. It is a cache.PartitionedStorage if store is, a
// cache.VersionedStorage if store is (and not partitioned), and safe for
// concurrent use if store and keys are.
//
// Its Load and Update fail with CodeDecryptionFailed for a stored
// document they cannot read, which Update then leaves as it is, and
// Update with entra.CodeCacheStorage when keys gives no key to write with.
func New(store cache.Storage, keys KeySource, opts Options) (cache.Storage, error) {
	if store == nil {
		return nil, errs.New(entra.CodeInvalidArgument, "no cache storage to encrypt")
	}
	if keys == nil {
		return nil, errs.New(entra.CodeInvalidArgument, "no key source for the cache encryption")
	}
	s := &storage{inner: store, keys: keys, rejectPlaintext: opts.RejectPlaintext}
	if p, ok := store.(cache.PartitionedStorage); ok {
		s.partitioned = p.Partitioned()
		return partitionedStorage{s}, nil
	}
	if v, ok := store.(cache.VersionedStorage); ok {
		return versionedStorage{s, v}, nil
	}
	return s, nil
}

// Load returns the document holding partition, decrypted.
func (s *storage) Load(ctx context.Context, partition string) ([]byte, error) {
	stored, err := s.inner.Load(ctx, partition)
	if err != nil {
		return nil, err
	}
	return s.open(ctx, partition, stored, Key{})
}

// Update calls fn with the document holding partition, decrypted, and
// stores what fn returns encrypted under the key source's write key. A
// stored document that cannot be decrypted is an error before fn runs,
// so the store writes nothing over it.
func (s *storage) Update(ctx context.Context, partition string, fn func(stored []byte) ([]byte, error)) error {
	key, err := s.writeKey(ctx)
	if err != nil {
		return err
	}
	return s.inner.Update(ctx, partition, func(stored []byte) ([]byte, error) {
		doc, err := s.open(ctx, partition, stored, key)
		if err != nil {
			return nil, err
		}
		next, err := fn(doc)
		if err != nil || next == nil {
			return nil, err // the store writes nothing
		}
		return s.seal(key, partition, next), nil
	})
}

// UpdateExpiring is Update passing on when the document expires, to a
// store that lets documents expire (cache.ExpiringStorage); to any other
// it is Update.
func (s *storage) UpdateExpiring(ctx context.Context, partition string, fn func(stored []byte) ([]byte, time.Time, error)) error {
	es, ok := s.inner.(cache.ExpiringStorage)
	if !ok {
		return s.Update(ctx, partition, func(stored []byte) ([]byte, error) {
			next, _, err := fn(stored)
			return next, err
		})
	}
	key, err := s.writeKey(ctx)
	if err != nil {
		return err
	}
	return es.UpdateExpiring(ctx, partition, func(stored []byte) ([]byte, time.Time, error) {
		doc, err := s.open(ctx, partition, stored, key)
		if err != nil {
			return nil, time.Time{}, err
		}
		next, expires, err := fn(doc)
		if err != nil || next == nil {
			return nil, time.Time{}, err // the store writes nothing
		}
		return s.seal(key, partition, next), expires, nil
	})
}

// writeKey is the key to encrypt with, asked before the store's lock is
// taken: a key source may be remote.
func (s *storage) writeKey(ctx context.Context) (Key, error) {
	key, err := s.keys.WriteKey(ctx)
	if err != nil {
		return Key{}, errs.Wrap(entra.CodeCacheStorage, err, "the key source gave no key to encrypt the cache with")
	}
	if key.k == nil {
		return Key{}, errs.New(entra.CodeCacheStorage, "the key source gave the zero Key to encrypt the cache with")
	}
	return key, nil
}

// seal encrypts doc under k for partition.
func (s *storage) seal(k Key, partition string, doc []byte) []byte {
	out := make([]byte, 0, len(magic)+2+len(k.k.id)+nonceSize+len(doc)+tagSize)
	out = appendHeader(out, k.k.id)
	return k.k.aead.Seal(out, nil, doc, s.additionalData(out, partition))
}

// open decrypts a stored document for partition. current, when not the
// zero Key, is tried before asking the key source: it is the write key,
// which most documents are under.
func (s *storage) open(ctx context.Context, partition string, stored []byte, current Key) ([]byte, error) {
	if len(stored) == 0 {
		return stored, nil // nothing stored yet
	}
	if !sealed(stored) {
		if s.rejectPlaintext {
			return nil, errs.New(CodeDecryptionFailed, "the stored cache document is not encrypted, and Options.RejectPlaintext refuses it")
		}
		return stored, nil // encrypted at its next write
	}
	header, id, rest, err := parseHeader(stored)
	if err != nil {
		return nil, errs.Wrap(CodeDecryptionFailed, err, "the stored cache document cannot be read")
	}
	k := current
	if k.k == nil || k.k.id != id {
		k, err = s.keys.ReadKey(ctx, id)
		if err != nil && ctx.Err() != nil {
			return nil, errs.Wrap(entra.CodeCanceled, ctx.Err(), "getting the cache encryption key was canceled")
		}
		if err != nil || k.k == nil {
			return nil, errs.Wrap(CodeDecryptionFailed, err, "cannot get the key %q the stored cache document is encrypted under", id)
		}
	}
	doc, err := k.k.aead.Open(nil, nil, rest, s.additionalData(header, partition))
	if err != nil {
		return nil, errs.New(CodeDecryptionFailed,
			"the stored cache document does not authenticate under the key %q: it was altered, moved from another partition, or encrypted with another key of that id", id)
	}
	return doc, nil
}

// additionalData is what a document is sealed with besides its contents:
// its header, so that no field of it can be changed, then what binds it
// to its place.
//
// A partitioned store keeps each partition's document under the
// partition's own name, so the document is bound to that name: one moved
// to another partition's place does not authenticate. A store of one
// document is handed whichever partition the cache needs next, while the
// document stays the same one; bound to a partition name, it could be
// read under that name only. It is bound to a fixed label instead, which
// a partitioned store's documents never carry.
func (s *storage) additionalData(header []byte, partition string) []byte {
	const document, partitionPrefix = "entra cache: one document", "entra cache: partition "
	ad := make([]byte, 0, len(header)+len(partitionPrefix)+len(partition))
	ad = append(ad, header...)
	if !s.partitioned {
		return append(ad, document...)
	}
	ad = append(ad, partitionPrefix...)
	return append(ad, partition...)
}
