package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	msal "github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/entra-go/entra/confidential"
)

// memoryTenants is how many app tokens the memory benchmark caches.
const memoryTenants = 100_000

// liveHeap is the live heap after two collections.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemoryPerAppToken reports the live heap per cached app token
// (bytes/token) with 100,000 tenants cached, for entra and MSAL Go alike,
// with tokens of 64 and of 1,200 bytes: the difference over 1,136 bytes
// is what each byte of token costs. Each iteration builds a cache; the
// figure is the same for any b.N.
func BenchmarkMemoryPerAppToken(b *testing.B) {
	ctx := context.Background()
	for _, size := range []int{64, 1200} {
		b.Run(fmt.Sprintf("impl=entra/token=%d", size), func(b *testing.B) {
			for b.Loop() {
				svc := &tokenService{tokenSize: size}
				before := liveHeap()
				client := newEntraClient(b, svc)
				for i := range memoryTenants {
					if _, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: scopes, Tenant: tenantID(i)}); err != nil {
						b.Fatal(err)
					}
				}
				after := liveHeap()
				b.ReportMetric(float64(after-before)/memoryTenants, "bytes/token")
				runtime.KeepAlive(client)
			}
		})
		b.Run(fmt.Sprintf("impl=msalgo/token=%d", size), func(b *testing.B) {
			for b.Loop() {
				svc := &tokenService{tokenSize: size}
				before := liveHeap()
				template := msalTemplateEntry(b, svc)
				loader := &onceLoader{data: fileCacheJSON(b, template, memoryTenants, size)}
				cred, _ := msal.NewCredFromSecret("bench-secret")
				client, err := msal.New(authority, clientID, cred, msal.WithHTTPClient(svc.client()), msal.WithCache(loader))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := client.AcquireTokenByCredential(ctx, scopes, msal.WithTenantID(tenantID(0))); err != nil {
					b.Fatal(err)
				}
				loader.data = nil // only the client's copy stays live
				after := liveHeap()
				b.ReportMetric(float64(after-before)/memoryTenants, "bytes/token")
				runtime.KeepAlive(client)
			}
		})
	}
}
