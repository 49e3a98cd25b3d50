package bench

import (
	"context"
	"sync"
	"testing"
	"time"

	msal "github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/entra-go/entra/confidential"
)

const coldCallers = 200

// BenchmarkColdCacheConcurrentCallers starts 200 callers at once on an empty
// cache with a 20 ms token endpoint and reports how many token requests
// they caused (token-requests/op): 1 means they shared one request.
func BenchmarkColdCacheConcurrentCallers(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=entra", func(b *testing.B) {
		var total int64
		for b.Loop() {
			svc := &tokenService{delay: 20 * time.Millisecond}
			client := newEntraClient(b, svc)
			callConcurrently(b, func() error {
				_, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: scopes})
				return err
			})
			total += svc.tokenRequests.Load()
		}
		b.ReportMetric(float64(total)/float64(b.N), "token-requests/op")
	})
	b.Run("impl=msalgo", func(b *testing.B) {
		var total int64
		for b.Loop() {
			svc := &tokenService{delay: 20 * time.Millisecond}
			cred, _ := msal.NewCredFromSecret("bench-secret")
			client, err := msal.New(authority, clientID, cred, msal.WithHTTPClient(svc.client()))
			if err != nil {
				b.Fatal(err)
			}
			callConcurrently(b, func() error {
				_, err := client.AcquireTokenByCredential(ctx, scopes)
				return err
			})
			total += svc.tokenRequests.Load()
		}
		b.ReportMetric(float64(total)/float64(b.N), "token-requests/op")
	})
}

func callConcurrently(b *testing.B, call func() error) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range coldCallers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := call(); err != nil {
				b.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
}
