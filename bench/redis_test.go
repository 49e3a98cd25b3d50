package bench

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/redisstore"
	"github.com/entra-go/entra/redisstore/redistest"
)

// The Redis benchmarks run on a redis-server they start (see redistest),
// with the in-process token service: what they measure is the cache and
// the store, not a network's token endpoint.

// BenchmarkRedisMissWrite measures a client-credentials acquisition for a
// tenant never seen, which misses and writes the tenant's partition (a
// miss + write: a GET of the partition's key, the token request, then
// WATCH, GET, MULTI, SET and EXEC), while Redis holds 1 or 100,000
// tenants' partitions. Each tenant has its own key, so the cost must not
// grow with their number.
func BenchmarkRedisMissWrite(b *testing.B) {
	addr := redistest.Server(b)
	ctx := context.Background()
	for _, n := range []int{1, 100_000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			rdb := emptyRedis(b, addr)
			store := redisstore.New(rdb, redisstore.Options{})
			fillRedis(b, rdb, store, n)
			svc := &tokenService{}
			client := newStoredEntraClient(b, svc, store)
			next := n // tenants 0 to n-1 are stored
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: scopes, Tenant: tenantID(next)}); err != nil {
					b.Fatal(err)
				}
				next++
			}
			b.StopTimer()
			if misses := svc.tokenRequests.Load(); misses != int64(next-n) {
				b.Fatalf("%d token requests for %d new tenants", misses, next-n)
			}
			if keys := rdb.DBSize(ctx).Val(); keys != int64(next) {
				b.Fatalf("Redis holds %d keys; want %d", keys, next)
			}
		})
	}
}

// fillTenants is how many tenants BenchmarkRedisFill stores.
const fillTenants = 10_000

// BenchmarkRedisFill fills an empty Redis with 10,000 tenants' app
// tokens through client-credentials acquisitions, and reports the time
// per tenant of the first 1,000 and of the last 1,000, and their ratio
// (last/first): a fill that rewrote what was stored before would make it
// grow with the tenants stored.
func BenchmarkRedisFill(b *testing.B) {
	const slice = 1000
	addr := redistest.Server(b)
	ctx := context.Background()
	var first, last time.Duration
	for b.Loop() {
		b.StopTimer()
		rdb := emptyRedis(b, addr)
		client := newStoredEntraClient(b, &tokenService{}, redisstore.New(rdb, redisstore.Options{}))
		b.StartTimer()
		start := time.Now()
		for i := range fillTenants {
			switch i {
			case slice:
				first += time.Since(start)
			case fillTenants - slice:
				start = time.Now()
			}
			if _, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: scopes, Tenant: tenantID(i)}); err != nil {
				b.Fatal(err)
			}
		}
		last += time.Since(start)
	}
	perTenant := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N*slice) }
	b.ReportMetric(perTenant(first), "ns/tenant-first-1000")
	b.ReportMetric(perTenant(last), "ns/tenant-last-1000")
	b.ReportMetric(float64(last)/float64(first), "last/first")
}

// emptyRedis is a client of the server at addr, emptied first, closed
// when tb ends.
func emptyRedis(tb testing.TB, addr string) *redis.Client {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	tb.Cleanup(func() { rdb.Close() })
	if err := rdb.FlushAll(context.Background()).Err(); err != nil {
		tb.Fatal(err)
	}
	return rdb
}

// fillBatch is how many SETs fillRedis sends per round trip.
const fillBatch = 1000

// fillRedis stores tenants 0 to n-1's app tokens in an empty Redis, as
// acquisitions would, but in about a second for 100,000: the library
// acquires the token of one tenant (templateTenant) and writes its
// partition, and that document, under that key and with that expiry, is
// copied for each tenant with the tenant's id in place of the template's,
// in pipelined SETs.
func fillRedis(tb testing.TB, rdb *redis.Client, store *redisstore.Store, n int) {
	tb.Helper()
	ctx := context.Background()
	key, doc, life := templatePartition(tb, rdb, store)
	pipe := rdb.Pipeline()
	for i := range n {
		t := tenantID(i)
		pipe.Set(ctx, strings.ReplaceAll(key, templateTenant, t), bytes.ReplaceAll(doc, []byte(templateTenant), []byte(t)), life)
		if pipe.Len() == fillBatch || i == n-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := rdb.Del(ctx, key).Err(); err != nil {
		tb.Fatal(err)
	}
}

// templatePartition has the library acquire templateTenant's token into
// an empty Redis and returns the one key it wrote, its document and its
// time to live.
func templatePartition(tb testing.TB, rdb *redis.Client, store *redisstore.Store) (key string, doc []byte, life time.Duration) {
	tb.Helper()
	ctx := context.Background()
	client := newStoredEntraClient(tb, &tokenService{}, store)
	defer client.Close()
	if _, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: scopes, Tenant: templateTenant}); err != nil {
		tb.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil || len(keys) != 1 || !strings.Contains(keys[0], templateTenant) {
		tb.Fatalf("the template acquisition wrote the keys %q (%v); want its tenant's", keys, err)
	}
	if doc, err = rdb.Get(ctx, keys[0]).Bytes(); err != nil {
		tb.Fatal(err)
	}
	if life, err = rdb.PTTL(ctx, keys[0]).Result(); err != nil || life <= 0 {
		tb.Fatalf("the template's key has the time to live %v (%v)", life, err)
	}
	return keys[0], doc, life
}

// TestRedisBenchSetUp checks what the Redis benchmarks rely on, at a
// small size: a client over the filled Redis finds every tenant's token
// with no token request (the copies are documents the library reads), and
// a new tenant misses and writes its own key.
func TestRedisBenchSetUp(t *testing.T) {
	const n = 10
	ctx := context.Background()
	rdb := emptyRedis(t, redistest.Server(t))
	store := redisstore.New(rdb, redisstore.Options{})
	fillRedis(t, rdb, store, n)
	svc := &tokenService{}
	client := newStoredEntraClient(t, svc, store)
	for i := range n {
		tok, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: scopes, Tenant: tenantID(i)})
		if err != nil || !tok.FromCache || tok.AccessToken != "at-"+tenantID(i) {
			t.Fatalf("tenant %d: %v %v", i, tok, err)
		}
	}
	if got := svc.tokenRequests.Load(); got != 0 {
		t.Fatalf("%d token requests for stored tenants", got)
	}
	if _, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: scopes, Tenant: tenantID(n)}); err != nil {
		t.Fatal(err)
	}
	if got, keys := svc.tokenRequests.Load(), rdb.DBSize(ctx).Val(); got != 1 || keys != n+1 {
		t.Fatalf("a new tenant made %d token requests and left %d keys; want 1 and %d", got, keys, n+1)
	}
}
