package redisstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/redisstore"
	"github.com/entra-go/entra/redisstore/redistest"
)

// TestClusterWritersLoseNothing: two service instances share a cache on a
// three-node Redis Cluster. 8 writers, 4 on each instance, acquire app
// tokens at once for the same 12 tenants, each writer its own scope, so
// every tenant's key takes 8 concurrent writes, from both instances.
// Afterwards a fresh instance finds every token in the cache and makes
// no token request.
func TestClusterWritersLoseNothing(t *testing.T) {
	const writers, tenants = 8, 12
	addrs := redistest.Cluster(t, 3)
	em := newEmulator(t)
	ctx := context.Background()
	p := prefix(t)
	instance := func() (*confidential.Client, *redis.ClusterClient) {
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		t.Cleanup(func() { rdb.Close() })
		return newClient(t, em, redisstore.New(rdb, redisstore.Options{Prefix: p})), rdb
	}
	request := func(w, i int) confidential.TokenRequest {
		return confidential.TokenRequest{Tenant: fmt.Sprintf("%08x-0000-4000-8000-00000000c1a5", i),
			Scopes: []string{fmt.Sprintf("api://resource-%d/.default", w)}}
	}

	one, _ := instance()
	two, _ := instance()
	var mu sync.Mutex
	issued := map[[2]int]string{} // by writer and tenant
	var wg sync.WaitGroup
	for w := range writers {
		client := []*confidential.Client{one, two}[w%2]
		wg.Go(func() {
			for i := range tenants {
				tok, err := client.AcquireTokenForClient(ctx, request(w, i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				issued[[2]int{w, i}] = tok.AccessToken
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	fresh, rdb := instance()
	before := len(em.Requests("token"))
	for k, want := range issued {
		tok, err := fresh.AcquireTokenForClient(ctx, request(k[0], k[1]))
		if err != nil || !tok.FromCache || tok.AccessToken != want {
			t.Errorf("writer %d, tenant %d: the token was lost (from cache: %v, same token: %v, %v)", k[0], k[1], tok.FromCache, tok.AccessToken == want, err)
		}
	}
	if n := len(em.Requests("token")) - before; n != 0 {
		t.Errorf("%d token requests for cached tokens", n)
	}
	if n := mastersHolding(t, rdb); n < 2 {
		t.Errorf("the keys are on %d node; the test would not show the store works across a cluster", n)
	}
}

// mastersHolding counts the cluster's primaries that hold keys.
func mastersHolding(t *testing.T, rdb *redis.ClusterClient) int {
	var mu sync.Mutex
	n := 0
	err := rdb.ForEachMaster(context.Background(), func(ctx context.Context, node *redis.Client) error {
		size, err := node.DBSize(ctx).Result()
		if size > 0 {
			mu.Lock()
			n++
			mu.Unlock()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
