// Package bench measures entra against MSAL Go doing the same work. It is
// its own module so the library itself never depends on MSAL Go.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	msalcache "github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	msal "github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
)

const (
	clientID  = "6a5e1c52-0000-4000-8000-00000000c11e"
	authority = "https://login.microsoftonline.com/" + "00000000-0000-4000-8000-00000000aaaa"
)

var scopes = []string{"https://graph.microsoft.com/.default"}

var tenantCounts = []int{1, 1000, 100_000}

// BenchmarkClientCredentialsCacheHit measures a client-credentials call
// served from the cache while N tenants are cached, hitting one tenant, for
// entra and MSAL Go alike. A cost that grows with N means the cache scans.
func BenchmarkClientCredentialsCacheHit(b *testing.B) {
	ctx := context.Background()
	for _, n := range tenantCounts {
		b.Run(fmt.Sprintf("impl=entra/tenants=%d", n), func(b *testing.B) {
			svc := &tokenService{}
			client := newEntraClient(b, svc)
			for i := range n {
				if _, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: scopes, Tenant: tenantID(i)}); err != nil {
					b.Fatal(err)
				}
			}
			req := confidential.TokenRequest{Scopes: scopes, Tenant: tenantID(n / 2)}
			before := svc.tokenRequests.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := client.AcquireTokenForClient(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if svc.tokenRequests.Load() != before {
				b.Fatal("a hit made a token request")
			}
		})
		b.Run(fmt.Sprintf("impl=msalgo/tenants=%d", n), func(b *testing.B) {
			svc := &tokenService{}
			client := newMSALClient(b, svc, n)
			opt := msal.WithTenantID(tenantID(n / 2))
			before := svc.tokenRequests.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := client.AcquireTokenByCredential(ctx, scopes, opt); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if svc.tokenRequests.Load() != before {
				b.Fatal("a hit made a token request")
			}
		})
	}
}

func newEntraClient(tb testing.TB, svc *tokenService) *confidential.Client {
	return newStoredEntraClient(tb, svc, nil)
}

// newStoredEntraClient is newEntraClient whose cache persists to store
// (nil: memory only).
func newStoredEntraClient(tb testing.TB, svc *tokenService, store cache.Storage) *confidential.Client {
	secret, err := credential.NewSecret("bench-secret")
	if err != nil {
		tb.Fatal(err)
	}
	client, err := confidential.New(confidential.Config{
		Authority: authority, ClientID: clientID, Credential: secret, HTTPClient: svc.client(), Cache: store,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return client
}

// newMSALClient returns an MSAL Go client whose cache holds n tenants'
// tokens. Inserting them through the API would cost O(n²) (each insert scans
// the cache first), so one real entry written by MSAL Go is cloned n times
// and loaded once through its persistence hook.
func newMSALClient(tb testing.TB, svc *tokenService, n int) msal.Client {
	template := msalTemplateEntry(tb, svc)
	loader := &onceLoader{data: msalCacheJSON(tb, template, n)}
	cred, err := msal.NewCredFromSecret("bench-secret")
	if err != nil {
		tb.Fatal(err)
	}
	client, err := msal.New(authority, clientID, cred, msal.WithHTTPClient(svc.client()), msal.WithCache(loader))
	if err != nil {
		tb.Fatal(err)
	}
	// Load the cache and prove that hits work: no token request may be made.
	before := svc.tokenRequests.Load()
	for _, i := range []int{0, n / 2, n - 1} {
		if _, err := client.AcquireTokenByCredential(context.Background(), scopes, msal.WithTenantID(tenantID(i))); err != nil {
			tb.Fatal(err)
		}
	}
	if svc.tokenRequests.Load() != before {
		tb.Fatal("MSAL Go did not find the loaded tokens")
	}
	return client
}

const templateTenant = "0000000e-0000-4000-8000-00000000feed"

// msalTemplateEntry has MSAL Go fetch and export one token, and returns that
// access-token entry as MSAL Go wrote it.
func msalTemplateEntry(tb testing.TB, svc *tokenService) map[string]any {
	capture := &exportCapture{}
	cred, _ := msal.NewCredFromSecret("bench-secret")
	client, err := msal.New(authority, clientID, cred, msal.WithHTTPClient(svc.client()), msal.WithCache(capture))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := client.AcquireTokenByCredential(context.Background(), scopes, msal.WithTenantID(templateTenant)); err != nil {
		tb.Fatal(err)
	}
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal(capture.data, &doc); err != nil {
		tb.Fatal(err)
	}
	for _, entry := range doc["AccessToken"] {
		return entry
	}
	tb.Fatal("MSAL Go exported no access token")
	return nil
}

func msalCacheJSON(tb testing.TB, template map[string]any, n int) []byte {
	ats := make(map[string]map[string]any, n)
	for i := range n {
		e := make(map[string]any, len(template))
		for k, v := range template {
			e[k] = v
		}
		t := tenantID(i)
		e["realm"] = t
		e["secret"] = "at-" + t
		key := strings.ToLower(strings.Join([]string{"", e["environment"].(string), "accesstoken", clientID, t, e["target"].(string)}, "-"))
		ats[key] = e
	}
	data, err := json.Marshal(map[string]any{"AccessToken": ats})
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

type exportCapture struct{ data []byte }

func (c *exportCapture) Replace(context.Context, msalcache.Unmarshaler, msalcache.ReplaceHints) error {
	return nil
}

func (c *exportCapture) Export(_ context.Context, m msalcache.Marshaler, _ msalcache.ExportHints) error {
	data, err := m.Marshal()
	c.data = data
	return err
}

// onceLoader loads the prepared cache on the first call and then leaves
// MSAL Go's in-memory cache alone, so only its lookup is measured.
type onceLoader struct {
	once sync.Once
	data []byte
}

func (l *onceLoader) Replace(_ context.Context, u msalcache.Unmarshaler, _ msalcache.ReplaceHints) error {
	var err error
	l.once.Do(func() { err = u.Unmarshal(l.data) })
	return err
}

func (l *onceLoader) Export(context.Context, msalcache.Marshaler, msalcache.ExportHints) error {
	return nil
}

// TestBenchmarkSetUp checks what the benchmarks rely on, at a small size:
// both clients serve every populated tenant from their caches.
func TestBenchmarkSetUp(t *testing.T) {
	const n = 10
	ctx := context.Background()
	svc := &tokenService{}
	client := newEntraClient(t, svc)
	for i := range n {
		if _, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: scopes, Tenant: tenantID(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := svc.tokenRequests.Load(); got != n {
		t.Fatalf("entra made %d token requests for %d tenants", got, n)
	}
	for i := range n {
		tok, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: scopes, Tenant: tenantID(i)})
		if err != nil || tok.AccessToken != "at-"+tenantID(i) {
			t.Fatalf("tenant %d: %v %v", i, tok, err)
		}
	}
	msalSvc := &tokenService{}
	newMSALClient(t, msalSvc, n) // fails the test if MSAL Go misses its loaded tokens
}
