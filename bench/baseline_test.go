package bench

import (
	"context"

	"fmt"
	"testing"
	"time"

	"github.com/entra-go/entra/confidential"
)

// baselineKey is a 128-byte map key, the size of the cache's own.
type baselineKey struct {
	env, client, tenant, partition, tokenType, keyID, ext string
	scopes                                                uint64
}

// baselineEntry is what a bare cache would keep per token.
type baselineEntry struct {
	secret     string
	serveUntil int64
}

// baseline is the floor a token cache hit is measured against: a Go map
// lookup with a 128-byte key plus a clock check, no lock.
type baseline struct {
	m map[baselineKey]baselineEntry
}

func newBaseline(n int) *baseline {
	b := &baseline{m: make(map[baselineKey]baselineEntry, n)}
	until := time.Now().Add(time.Hour).UnixNano()
	for i := range n {
		b.m[baselineKey{env: "login.windows.net", client: clientID, tenant: tenantID(i), scopes: 42}] = baselineEntry{secret: "at-" + tenantID(i), serveUntil: until}
	}
	return b
}

func (b *baseline) lookup(k *baselineKey) (string, bool) {
	e, ok := b.m[*k]
	if !ok || time.Now().UnixNano() >= e.serveUntil {
		return "", false
	}
	return e.secret, true
}

func BenchmarkBaseline(b *testing.B) {
	for _, n := range tenantCounts {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			base := newBaseline(n)
			k := baselineKey{env: "login.windows.net", client: clientID, tenant: tenantID(n / 2), scopes: 42}
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := base.lookup(&k); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}

// BenchmarkParallelHit measures entra's hit under b.RunParallel; with
// -cpu 1,2,4 the CPU per hit is ns/op × GOMAXPROCS.
func BenchmarkParallelHit(b *testing.B) {
	svc := &tokenService{}
	client := newEntraClient(b, svc)
	req := confidential.TokenRequest{Scopes: scopes}
	if _, err := client.AcquireTokenForClient(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := client.AcquireTokenForClient(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
