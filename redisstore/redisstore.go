// Package redisstore keeps a token cache in Redis, one key per partition
// (an app's tokens in one tenant, each user's, each on-behalf-of
// assertion's), so that many instances of a service share tokens and a
// write rewrites one partition only.
//
// Writes are optimistic transactions (WATCH, then MULTI/EXEC): a writer
// whose key changed meanwhile runs its change again on the new value, so
// concurrent writers lose nothing. It is a module of its own so that the
// entra core never imports a Redis client.
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
	// TTL, if positive, expires a partition nobody writes for that long.
	TTL time.Duration
}

// Store is a cache.PartitionedStorage in Redis. It is safe for concurrent
// use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

var _ cache.PartitionedStorage = (*Store)(nil)

// New returns a store over rdb.
func New(rdb redis.UniversalClient, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: opts.Prefix, ttl: opts.TTL}
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
// fails or returns nil, nothing is written.
func (s *Store) Update(ctx context.Context, partition string, fn func(stored []byte) ([]byte, error)) error {
	key := s.Key(partition)
	var fnErr error
	txn := func(tx *redis.Tx) error {
		stored, err := tx.Get(ctx, key).Bytes()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		next, err := fn(stored)
		if err != nil || next == nil {
			fnErr = err
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, next, s.ttl)
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

func (s *Store) fail(ctx context.Context, err error, doing string) error {
	if ctx.Err() != nil {
		return errs.Wrap(entra.CodeCanceled, ctx.Err(), "%s the Redis cache was canceled", doing)
	}
	return errs.Wrap(entra.CodeCacheStorage, err, "%s the Redis cache failed", doing)
}
