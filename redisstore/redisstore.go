// Package redisstore keeps a token cache in Redis, one key per partition
// (an app's tokens in one tenant, each user's, each on-behalf-of
// assertion's), so that many instances of a service share tokens and a
// write rewrites one partition only.
//
// Writes are optimistic transactions (WATCH, then MULTI/EXEC): a writer
// whose key changed meanwhile runs its change again on the new value, so
// concurrent writers lose nothing. Each transaction is on one key, so the
// store works on Redis Cluster as on a single node, with any
// redis.UniversalClient. It is a module of its own so that the entra core
// never imports a Redis client.
//
// # Expiry
//
// The store is a cache.ExpiringStorage: at each write the token cache
// says when the partition's document may go, and the key is set to expire
// then, in the same transaction. A partition of app tokens goes when the
// last of its access tokens expires; one holding more (a user's refresh
// token, ID token or account) is kept 90 days from its last write, the
// token service's limit for an unused refresh token. So the keys of tenants and users nobody
// asks for again leave Redis on their own, with no time to live common to
// all. A write told a time already come (the document holds nothing
// that is still valid) deletes the key instead. Options.TTL only shortens
// these lifetimes.
//
// # Keys
//
// A partition's key is Options.Prefix, "p:" and the partition, such as
// entra:cache:p:app:login.windows.net:CLIENT:TENANT for an app's tokens
// in a tenant. Versions that kept every tenant's app tokens in one
// document stored it under entra:cache:app (Prefix and "app"). Nothing
// writes that key any more and a token acquisition never reads it (its
// tokens are fetched once more and stored per tenant); it holds no
// accounts. It only takes space: delete it (DEL entra:cache:app) once no
// instance of an older version runs. The store leaves it alone.
package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/internal/errs"
)

// DefaultPrefix starts every key the store writes.
const DefaultPrefix = "entra:cache:"

// maxAttempts bounds the retries of a write that keeps losing its race.
const maxAttempts = 50

// Options configure a Store.
type Options struct {
	// Prefix starts every key; "" means DefaultPrefix. Give each
	// application (client id) or environment its own if they share Redis.
	Prefix string
	// TTL, if positive, bounds how long a partition is kept after its
	// last write: its key expires at the earlier of TTL after the write
	// and when the cache says the document may go (see Expiry). Most
	// users need none.
	TTL time.Duration
}

// Store is a cache.PartitionedStorage and cache.ExpiringStorage in Redis.
// It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

var (
	_ cache.PartitionedStorage = (*Store)(nil)
	_ cache.ExpiringStorage    = (*Store)(nil)
)

// New returns a store over rdb.
func New(rdb redis.UniversalClient, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: opts.Prefix, ttl: max(opts.TTL, 0)}
}

// Partitioned is true: each partition is its own key.
func (s *Store) Partitioned() bool { return true }

// Key is the Redis key of a partition.
func (s *Store) Key(partition string) string {
	if partition == "" {
		return s.prefix + "app"
	}
	return s.prefix + "p:" + partition
}

// Load returns the partition's document, nil if there is none.
func (s *Store) Load(ctx context.Context, partition string) ([]byte, error) {
	data, err := s.rdb.Get(ctx, s.Key(partition)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail(ctx, err, "reading")
	}
	return data, nil
}

// Update runs fn on the partition's document and stores the result,
// again on the newer document if another writer got there first. If fn
// fails or returns nil, nothing is written. The key is kept for
// Options.TTL, or for good if there is none.
func (s *Store) Update(ctx context.Context, partition string, fn func(stored []byte) ([]byte, error)) error {
	return s.UpdateExpiring(ctx, partition, func(stored []byte) ([]byte, time.Time, error) {
		next, err := fn(stored)
		return next, time.Time{}, err
	})
}

// UpdateExpiring is Update whose fn also says when the document it
// returns may be dropped: the key is written to expire then (no later
// than Options.TTL from now), in the same transaction. A document whose
// time has already come is not written and its key is deleted. The zero
// time means never (then Options.TTL alone applies).
func (s *Store) UpdateExpiring(ctx context.Context, partition string, fn func(stored []byte) (next []byte, expires time.Time, err error)) error {
	key := s.Key(partition)
	var fnErr error
	txn := func(tx *redis.Tx) error {
		stored, err := tx.Get(ctx, key).Bytes()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		next, expires, err := fn(stored)
		if err != nil || next == nil {
			fnErr = err
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			s.queueWrite(ctx, p, key, next, expires)
			return nil
		})
		return err
	}
	for range maxAttempts {
		err := s.rdb.Watch(ctx, txn, key)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			continue // the key changed under us: redo the change on the new value
		case err != nil:
			return s.fail(ctx, err, "writing")
		}
		return fnErr
	}
	return errs.New(entra.CodeCacheStorage, "the cache partition %s changed under %d attempts to write it", key, maxAttempts)
}

// queueWrite queues, in a transaction, the write of a document that may
// be dropped at expires: a SET that expires the key then, or a DEL if
// that time has come.
func (s *Store) queueWrite(ctx context.Context, p redis.Pipeliner, key string, doc []byte, expires time.Time) {
	life, keep := s.lifetime(expires)
	if !keep {
		p.Del(ctx, key)
		return
	}
	p.Set(ctx, key, doc, life) // life 0: no expiry
}

// lifetime is how long to keep a document that may be dropped at expires
// (the zero time: never): until then, and no longer than the TTL; 0 is for
// good. keep is false if the time has come (less than a millisecond, the
// precision of Redis expiries, is left).
//
// The key is given a lifetime (SET PX), not a time (SET PXAT): expires is
// a time on this process's clock, and a lifetime keeps it so whatever the
// Redis server's clock says.
func (s *Store) lifetime(expires time.Time) (life time.Duration, keep bool) {
	if expires.IsZero() {
		return s.ttl, true
	}
	life = time.Until(expires)
	if life < time.Millisecond {
		return 0, false
	}
	if s.ttl > 0 {
		life = min(life, s.ttl)
	}
	return life, true
}

func (s *Store) fail(ctx context.Context, err error, doing string) error {
	if ctx.Err() != nil {
		return errs.Wrap(entra.CodeCanceled, ctx.Err(), "%s the Redis cache was canceled", doing)
	}
	return errs.Wrap(entra.CodeCacheStorage, err, "%s the Redis cache failed", doing)
}
