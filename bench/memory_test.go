package bench

import (
	"context"
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
// (bytes/token) with 100,000 tenants cached, for entra and MSAL Go alike.
// Each iteration builds a cache; the figure is the same for any b.N.
func BenchmarkMemoryPerAppToken(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=entra", func(b *testing.B) {
		for b.Loop() {
			svc := &tokenService{}
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
	b.Run("impl=msalgo", func(b *testing.B) {
		for b.Loop() {
			svc := &tokenService{}
			before := liveHeap()
			template := msalTemplateEntry(b, svc)
			loader := &onceLoader{data: msalCacheJSON(b, template, memoryTenants)}
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
