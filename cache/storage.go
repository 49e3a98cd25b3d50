package cache

import (
	"context"
	"io"
	"time"
)

// Storage persists a cache outside the process, so that tokens outlive it
// and several processes can share them.
//
// A Storage holds serialized documents in the cross-MSAL cache schema.
// Writes go through Update, which gives the writer the stored document
// under mutual exclusion with every other writer, other processes
// included: a writer applies its change to what is stored now, never to a
// stale copy, so concurrent writers lose no entries.
//
// Documents are addressed by partition: "app:ENVIRONMENT:CLIENT:TENANT"
// for an application's tokens in one tenant (so a service with many
// tenants rewrites one tenant's tokens per write, as Microsoft.Identity.Web
// partitions them), a home account id or an assertion hash for a user's
// tokens, "pk:KEY" for a caller's cache partition key. A store may keep
// every partition in one document, as the file store does, or one document
// per partition, as a shared store does to avoid rewriting the whole cache
// per call. Either way, a document passed to Update's function contains at
// least the entries of the partition named.
type Storage interface {
	// Load returns the stored document holding partition, or nil if there
	// is none yet.
	Load(ctx context.Context, partition string) ([]byte, error)
	// Update calls fn with the stored document holding partition (nil if
	// none) while holding the store's lock, and stores what fn returns.
	// If fn returns an error, nothing is written and Update returns it.
	Update(ctx context.Context, partition string, fn func(stored []byte) ([]byte, error)) error
}

// PartitionedStorage is a Storage that keeps one document per partition,
// as a shared store (Redis, a database) does so that a write touches one
// user's entries only. The cache then merges each partition's document
// into what it holds instead of taking it for the whole cache.
type PartitionedStorage interface {
	Storage
	// Partitioned reports that Load and Update see only the partition named.
	Partitioned() bool
}

// ExpiringStorage is a Storage that lets a document go once everything in
// it has expired, as a shared store (Redis) does so that the partitions of
// tenants and users nobody asks for again do not pile up, with no single
// time to live for all. The cache writes through UpdateExpiring when a
// store has it.
type ExpiringStorage interface {
	Storage
	// UpdateExpiring is Update whose fn also says when the document it
	// returns may be dropped: the latest expiry of its access tokens, or
	// further if it holds refresh tokens, accounts or entries of other
	// libraries. The zero time means never.
	UpdateExpiring(ctx context.Context, partition string, fn func(stored []byte) (next []byte, expires time.Time, err error)) error
}

// VersionedStorage is a Storage that tells cheaply whether a document
// changed since a version it gave, as a file's size, modification time and
// inode do: a cache then reads and parses the document only when another
// process wrote it, and writes its own state without reading it first.
type VersionedStorage interface {
	Storage
	// LoadIfChanged returns the document holding partition and its
	// version; if the version is still since, it returns nil and since
	// without reading the document. A document that does not exist has
	// the version "".
	LoadIfChanged(ctx context.Context, partition, since string) (data []byte, version string, err error)
	// UpdateIfChanged is Update that reads the document only if its
	// version is no longer since (fn gets changed false and no document
	// when it is), and that takes the new document as fn writes it to w,
	// so that a large one is never held whole. If fn fails, the document
	// is left as it was. It returns the version of what is stored
	// afterwards.
	UpdateIfChanged(ctx context.Context, partition, since string, fn func(stored []byte, changed bool, w io.Writer) error) (version string, err error)
}
