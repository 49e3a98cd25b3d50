package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"

	msal "github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalmi "github.com/AzureAD/microsoft-authentication-library-for-go/apps/managedidentity"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/managedidentity"
)

// userAssertion is the token user i sent to the API, of a real JWT's
// size (both libraries hash it for their cache key).
func userAssertion(i int) string {
	return fmt.Sprintf("%08d", i) + strings.Repeat("eyJhbGciOiJSUzI1NiJ9", 75)
}

// BenchmarkOnBehalfOfCacheHit: an on-behalf-of call served from the cache
// while N users' tokens are cached. MSAL Go is measured at 1,000 users at
// most: filling its cache through its API costs O(N²).
func BenchmarkOnBehalfOfCacheHit(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 1000, 100_000} {
		b.Run(fmt.Sprintf("impl=entra/users=%d", n), func(b *testing.B) {
			svc := &tokenService{}
			client := newEntraClient(b, svc)
			req := confidential.TokenRequest{Scopes: scopes}
			for i := range n {
				if _, err := client.AcquireTokenOnBehalfOf(ctx, userAssertion(i), req); err != nil {
					b.Fatal(err)
				}
			}
			hot := userAssertion(n / 2)
			measureHits(b, svc, func() error { _, err := client.AcquireTokenOnBehalfOf(ctx, hot, req); return err })
		})
		if n > 1000 {
			continue
		}
		b.Run(fmt.Sprintf("impl=msalgo/users=%d", n), func(b *testing.B) {
			svc := &tokenService{}
			cred, _ := msal.NewCredFromSecret("bench-secret")
			client, err := msal.New(authority, clientID, cred, msal.WithHTTPClient(svc.client()))
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if _, err := client.AcquireTokenOnBehalfOf(ctx, userAssertion(i), scopes); err != nil {
					b.Fatal(err)
				}
			}
			hot := userAssertion(n / 2)
			measureHits(b, svc, func() error { _, err := client.AcquireTokenOnBehalfOf(ctx, hot, scopes); return err })
		})
	}
}

// BenchmarkManagedIdentityCacheHit: a managed identity (IMDS) call served
// from the cache.
func BenchmarkManagedIdentityCacheHit(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=entra", func(b *testing.B) {
		svc := &tokenService{}
		client, err := managedidentity.New(managedidentity.Config{HTTPClient: svc.client(), Getenv: func(string) string { return "" }})
		if err != nil {
			b.Fatal(err)
		}
		req := managedidentity.TokenRequest{Resource: "https://management.azure.com"}
		if _, err := client.AcquireToken(ctx, req); err != nil {
			b.Fatal(err)
		}
		measureHits(b, svc, func() error { _, err := client.AcquireToken(ctx, req); return err })
	})
	b.Run("impl=msalgo", func(b *testing.B) {
		svc := &tokenService{}
		client, err := msalmi.New(msalmi.SystemAssigned(), msalmi.WithHTTPClient(svc.client()))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := client.AcquireToken(ctx, "https://management.azure.com"); err != nil {
			b.Fatal(err)
		}
		measureHits(b, svc, func() error { _, err := client.AcquireToken(ctx, "https://management.azure.com"); return err })
	})
}

// measureHits runs hit b.N times and fails if any made a token request.
func measureHits(b *testing.B, svc *tokenService, hit func() error) {
	before := svc.tokenRequests.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := hit(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if svc.tokenRequests.Load() != before {
		b.Fatal("a hit made a token request")
	}
}

// BenchmarkSilentCacheHit: a signed-in user's token served from the cache
// while N users are signed in. MSAL Go is measured at 1,000 users at
// most: filling its cache through its API costs O(N²).
func BenchmarkSilentCacheHit(b *testing.B) {
	ctx := context.Background()
	userScopes := []string{"User.Read"}
	const redirect = "http://localhost/callback"
	for _, n := range []int{1, 1000, 100_000} {
		b.Run(fmt.Sprintf("impl=entra/users=%d", n), func(b *testing.B) {
			svc := &tokenService{}
			client := newEntraClient(b, svc)
			var hot *entra.Account
			for i := range n {
				tok, err := client.AcquireTokenByAuthCode(ctx, confidential.AuthCode{Code: fmt.Sprintf("code-u%d", i), RedirectURI: redirect},
					confidential.TokenRequest{Scopes: userScopes})
				if err != nil {
					b.Fatal(err)
				}
				if i == n/2 {
					hot = tok.Account
				}
			}
			req := confidential.TokenRequest{Scopes: userScopes}
			measureHits(b, svc, func() error { _, err := client.AcquireTokenSilent(ctx, hot, req); return err })
		})
		if n > 1000 {
			continue
		}
		b.Run(fmt.Sprintf("impl=msalgo/users=%d", n), func(b *testing.B) {
			svc := &tokenService{}
			cred, _ := msal.NewCredFromSecret("bench-secret")
			client, err := msal.New(authority, clientID, cred, msal.WithHTTPClient(svc.client()))
			if err != nil {
				b.Fatal(err)
			}
			var hot msal.Account
			for i := range n {
				res, err := client.AcquireTokenByAuthCode(ctx, fmt.Sprintf("code-u%d", i), redirect, userScopes)
				if err != nil {
					b.Fatal(err)
				}
				if i == n/2 {
					hot = res.Account
				}
			}
			measureHits(b, svc, func() error {
				_, err := client.AcquireTokenSilent(ctx, userScopes, msal.WithSilentAccount(hot))
				return err
			})
		})
	}
}
