package bench

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"
	"unsafe"

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

// oboBaselineKey is baselineKey with the user assertion's hash.
type oboBaselineKey struct {
	env, client, tenant string
	assertionHash       [sha256.Size]byte
	scopes              uint64
}

// BenchmarkBaselineOnBehalfOf is the floor of an on-behalf-of hit: a map
// lookup keyed by the SHA-256 of the user's assertion, as every MSAL keys
// these tokens (user_assertion_hash), so that the cache never holds the
// assertion and a forged one cannot hit another user's entry; plus the
// clock check.
func BenchmarkBaselineOnBehalfOf(b *testing.B) {
	m := map[oboBaselineKey]baselineEntry{}
	until := time.Now().Add(time.Hour).UnixNano()
	for i := range 1000 {
		k := oboBaselineKey{env: "login.windows.net", client: clientID, tenant: tenantID(0), scopes: 42}
		k.assertionHash = sha256.Sum256([]byte(userAssertion(i)))
		m[k] = baselineEntry{secret: "at", serveUntil: until}
	}
	assertion := userAssertion(500)
	k := oboBaselineKey{env: "login.windows.net", client: clientID, tenant: tenantID(0), scopes: 42}
	b.ReportAllocs()
	for b.Loop() {
		k.assertionHash = sha256.Sum256(unsafe.Slice(unsafe.StringData(assertion), len(assertion))) // no copy
		if e, ok := m[k]; !ok || time.Now().UnixNano() >= e.serveUntil {
			b.Fatal("miss")
		}
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
