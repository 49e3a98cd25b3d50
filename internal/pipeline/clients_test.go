package pipeline_test

// Both clients run this pipeline: the same single-flight, the same time
// budget, the same proactive refresh and a hit that allocates nothing,
// each shown here through the public API of both, over real sockets.

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

// client is one of the two clients, as these tests drive it.
type client struct {
	name string
	// endpoint is the emulator endpoint its requests go to.
	endpoint string
	new      func(t testing.TB, em *entratest.Emulator, o options) acquireFunc
}

// acquireFunc gets the token.
type acquireFunc func(ctx context.Context) (entra.Token, error)

// options configure a client of the tests.
type options struct {
	timeout  time.Duration // 0: a minute
	observer entra.Observer
	force    bool // every request bypasses the cache
}

func (o options) budget() time.Duration {
	if o.timeout == 0 {
		return time.Minute
	}
	return o.timeout
}

var clients = []client{
	{"confidential", "token", func(t testing.TB, em *entratest.Emulator, o options) acquireFunc {
		secret, err := credential.NewSecret(em.DefaultClient().Secret)
		if err != nil {
			t.Fatal(err)
		}
		c, err := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
			ClientID: em.DefaultClient().ID, Credential: secret, HTTPClient: em.HTTPClient(), RequestTimeout: o.budget(), Observer: o.observer})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		req := confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}, ForceRefresh: o.force}
		return func(ctx context.Context) (entra.Token, error) { return c.AcquireTokenForClient(ctx, req) }
	}},
	{"managed identity", "imds", func(t testing.TB, em *entratest.Emulator, o options) acquireFunc {
		c, err := managedidentity.New(managedidentity.Config{Getenv: em.Getenv("imds"), RequestTimeout: o.budget(), Observer: o.observer})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		req := managedidentity.TokenRequest{Resource: "https://management.azure.com", ForceRefresh: o.force}
		return func(ctx context.Context) (entra.Token, error) { return c.AcquireToken(ctx, req) }
	}},
}

func startEmulator(t testing.TB, opts entratest.Options) *entratest.Emulator {
	t.Helper()
	em, err := entratest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	return em
}

func TestConcurrentColdCallersShareOneRequest(t *testing.T) {
	t.Parallel()
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			em := startEmulator(t, entratest.Options{})
			acquire := c.new(t, em, options{})
			release := make(chan struct{})
			em.InjectFault(entratest.Fault{Endpoint: c.endpoint, Hold: release, Times: 1})
			var wg sync.WaitGroup
			for range 100 {
				wg.Go(func() {
					if _, err := acquire(context.Background()); err != nil {
						t.Error(err)
					}
				})
			}
			time.Sleep(50 * time.Millisecond) // let the callers pile up behind the held answer
			close(release)
			wg.Wait()
			if n := len(em.Requests(c.endpoint)); n != 1 {
				t.Fatalf("%d requests for 100 concurrent callers, want 1", n)
			}
		})
	}
}

func TestTheTimeBudgetBoundsEveryCaller(t *testing.T) {
	t.Parallel()
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			em := startEmulator(t, entratest.Options{})
			acquire := c.new(t, em, options{timeout: 300 * time.Millisecond})
			hold := make(chan struct{})
			defer close(hold)
			em.InjectFault(entratest.Fault{Endpoint: c.endpoint, Hold: hold, Times: 100})
			start := time.Now()
			_, err := acquire(context.Background())
			if took := time.Since(start); entra.ErrorCode(err) != entra.CodeTimeout || took < 300*time.Millisecond || took > 3*time.Second {
				t.Fatalf("%v after %s, want %s after the 300ms budget", err, took, entra.CodeTimeout)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if _, err := acquire(ctx); entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("with the caller's own deadline: %v, want %s", err, entra.CodeCanceled)
			}
		})
	}
}

func TestProactiveRefreshIsOneBackgroundRequest(t *testing.T) {
	t.Parallel()
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// Tokens live an hour and ask to be refreshed after a second.
			em := startEmulator(t, entratest.Options{RefreshIn: time.Second, TokenLifetime: time.Hour})
			acquire := c.new(t, em, options{})
			first, err := acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(1100 * time.Millisecond)
			for range 20 { // every caller is served the cached token meanwhile
				if tok, err := acquire(context.Background()); err != nil || tok.AccessToken != first.AccessToken {
					t.Fatalf("while refreshing: %v, want the cached token", err)
				}
			}
			// The emulator records the refresh before its answer is cached:
			// wait for the new token, not for the request.
			deadline := time.Now().Add(5 * time.Second)
			refreshed := first
			for refreshed.AccessToken == first.AccessToken && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				if refreshed, err = acquire(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if refreshed.AccessToken == first.AccessToken || !refreshed.FromCache {
				t.Fatalf("after the refresh: same token %t, from cache %t", refreshed.AccessToken == first.AccessToken, refreshed.FromCache)
			}
			if n := len(em.Requests(c.endpoint)); n != 2 {
				t.Fatalf("%d requests, want the first and one refresh", n)
			}
		})
	}
}

func TestAHitAllocatesNothing(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			em := startEmulator(t, entratest.Options{})
			acquire := c.new(t, em, options{})
			ctx := context.Background()
			if _, err := acquire(ctx); err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(1000, func() { acquire(ctx) }); n != 0 {
				t.Fatalf("a cache hit allocates %v times, want 0", n)
			}
		})
	}
}

// BenchmarkHit: a cache hit of each client.
//
//	go test -run '^$' -bench Hit -benchmem ./internal/pipeline
func BenchmarkHit(b *testing.B) {
	for _, c := range clients {
		b.Run(c.name, func(b *testing.B) {
			em := startEmulator(b, entratest.Options{})
			acquire := c.new(b, em, options{})
			ctx := context.Background()
			if _, err := acquire(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if tok, err := acquire(ctx); err != nil || !tok.FromCache {
					b.Fatal(tok, err)
				}
			}
		})
	}
}
