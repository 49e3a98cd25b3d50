package managedidentity_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

// Two hundred callers on a cold cache, with a slow endpoint, cause exactly
// one request and all get its token.
func TestConcurrentColdCallersShareOneRequest(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	emu := startEmulator(t, entratest.Options{OnRequest: func(entratest.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
	}})
	release := make(chan struct{})
	emu.InjectFault(entratest.Fault{Endpoint: "imds", Hold: release, Delay: 50 * time.Millisecond})
	c, _ := newClient(t, emu, "imds")

	const callers = 200
	var started, done sync.WaitGroup
	tokens := make([]entra.Token, callers)
	errs := make([]error, callers)
	started.Add(callers)
	done.Add(callers)
	for i := range callers {
		go func() {
			defer done.Done()
			started.Done()
			tokens[i], errs[i] = c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
		}()
	}
	started.Wait()
	<-arrived
	close(release)
	done.Wait()

	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if tokens[i].AccessToken != tokens[0].AccessToken {
			t.Fatalf("caller %d got another token", i)
		}
	}
	if n := len(emu.Requests()); n != 1 {
		t.Errorf("%d requests, want exactly 1", n)
	}
}

// A waiting caller that gives up leaves; the others still get the token.
func TestWaiterCancelDoesNotCancelOthers(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	emu := startEmulator(t, entratest.Options{OnRequest: func(entratest.Request) { arrived <- struct{}{} }})
	release := make(chan struct{})
	emu.InjectFault(entratest.Fault{Endpoint: "imds", Hold: release})
	c, rec := newClient(t, emu, "imds")

	ctxA, cancelA := context.WithCancel(context.Background())
	errA := make(chan error, 1)
	go func() {
		_, err := c.AcquireToken(ctxA, managedidentity.TokenRequest{Resource: resource})
		errA <- err
	}()
	<-arrived
	type result struct {
		tok entra.Token
		err error
	}
	resB := make(chan result, 1)
	go func() {
		tok, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
		resB <- result{tok, err}
	}()
	cancelA()
	err := <-errA
	wantCode(t, err, entra.CodeCanceled)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(%v, context.Canceled) = false", err)
	}
	close(release)
	b := <-resB
	if b.err != nil || b.tok.AccessToken == "" {
		t.Fatalf("the other caller: %v", b.err)
	}
	tok, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
	if err != nil || !tok.FromCache || tok.AccessToken != b.tok.AccessToken {
		t.Errorf("after the flight: %v, %v", tok, err)
	}
	if n := len(emu.Requests()); n != 1 || len(rec.Attempts()) != 0 {
		t.Errorf("%d requests, %d retries; want 1, 0", n, len(rec.Attempts()))
	}
}

func TestCache(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	ctx := context.Background()
	for _, src := range []string{"imds", "app_service"} {
		t.Run(string(src), func(t *testing.T) {
			emu.ResetRequests()
			c, _ := newClient(t, emu, src)
			first, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []string{resource, resource + "/.default", "HTTPS://management.azure.com"} {
				tok, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: r})
				if err != nil || !tok.FromCache || tok.AccessToken != first.AccessToken ||
					!tok.ExpiresOn.Equal(first.ExpiresOn) || tok.TokenType != entra.TokenTypeBearer {
					t.Errorf("%s: %v, %v; want the cached token", r, tok, err)
				}
			}
			requests := func() int { return len(emu.Requests(src)) }
			if requests() != 1 {
				t.Fatalf("%d requests, want 1", requests())
			}

			other, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: "https://vault.azure.net"})
			if err != nil || other.AccessToken == first.AccessToken || requests() != 2 {
				t.Errorf("another resource: %v, %d requests", err, requests())
			}

			// A claims challenge bypasses the cache read and is not sent;
			// the new token is cached.
			challenged, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource,
				Claims: `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`})
			if err != nil || challenged.FromCache || challenged.AccessToken == first.AccessToken || requests() != 3 {
				t.Fatalf("challenge: %v, %v, %d requests", challenged, err, requests())
			}
			last := emu.Requests(src)[2]
			if last.Query.Has("claims") || last.Header.Get("claims") != "" {
				t.Errorf("the claims challenge was sent: %v", last.Query)
			}
			if tok, _ := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource}); tok.AccessToken != challenged.AccessToken || !tok.FromCache {
				t.Errorf("the token fetched for the challenge was not cached")
			}

			// ForceRefresh likewise.
			forced, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource, ForceRefresh: true})
			if err != nil || forced.AccessToken == challenged.AccessToken || requests() != 4 {
				t.Fatalf("force refresh: %v, %d requests", err, requests())
			}
			if tok, _ := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource}); tok.AccessToken != forced.AccessToken {
				t.Errorf("the forced token was not cached")
			}

			// The cache is the Client's own.
			c2, _ := newClient(t, emu, src)
			if tok, _ := c2.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource}); tok.FromCache {
				t.Errorf("a new client was served from another client's cache")
			}
		})
	}
}

// Identities are cached apart.
func TestCachePerIdentity(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	ctx := context.Background()
	c1, _ := newClient(t, emu, "imds", func(cfg *managedidentity.Config) { cfg.ID = managedidentity.UserAssignedClientID("a") })
	c2, _ := newClient(t, emu, "imds", func(cfg *managedidentity.Config) { cfg.ID = managedidentity.UserAssignedClientID("b") })
	t1, err1 := c1.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
	t2, err2 := c2.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
	if err1 != nil || err2 != nil || t1.AccessToken == t2.AccessToken {
		t.Fatalf("%v %v", err1, err2)
	}
	i1, _ := emu.VerifyAccessToken(t1.AccessToken)
	i2, _ := emu.VerifyAccessToken(t2.AccessToken)
	if i1["appid"] != "a" || i2["appid"] != "b" {
		t.Errorf("identities %q %q", i1["appid"], i2["appid"])
	}
}

func TestProactiveRefresh(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	// The host and the client share the clock: advanced a day, the client
	// must get a token the host issued a day later, not one it thinks
	// expired (those are refused).
	emu := startEmulator(t, entratest.Options{Now: clock.Now}) // 24 h tokens
	rec := newRecorder(managedidentity.SourceIMDS)
	cfg := emulatorConfig(t, emu, "imds")
	cfg.RetryPolicy = rec.Retry
	c, err := managedidentity.New(managedidentity.WithClock(cfg, clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
	if err != nil {
		t.Fatal(err)
	}
	half := first.ExpiresOn.Sub(clock.Now()) / 2
	if d := first.RefreshOn.Sub(clock.Now()); d < half-time.Second || d > half+time.Second {
		t.Fatalf("RefreshOn in %s, want half the lifetime (%s)", d, half)
	}

	clock.Advance(half - time.Minute)
	if tok, _ := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource}); !tok.FromCache {
		t.Fatal("not served from the cache before the refresh time")
	}
	clock.Advance(2 * time.Minute)
	tok, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
	if err != nil || !tok.FromCache || tok.AccessToken != first.AccessToken {
		t.Fatalf("past the refresh time, the cached token is still served at once: %v, %v", tok, err)
	}
	c.WaitBackground()
	if n := len(emu.Requests()); n != 2 {
		t.Fatalf("%d requests, want the background refresh", n)
	}
	tok, err = c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
	if err != nil || !tok.FromCache || tok.AccessToken == first.AccessToken {
		t.Errorf("after the refresh: %v, %v; want the new token from the cache", tok, err)
	}

	// Past its expiry (less the 5 min buffer), a token is fetched again.
	clock.Advance(24 * time.Hour)
	if tok, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource}); err != nil || tok.FromCache {
		t.Errorf("an expired token was served: %v, %v", tok, err)
	}
}

func TestRefreshOn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     entratest.Options
		src      string
		refresh  time.Duration // 0: none
		tolerate time.Duration
	}{
		{"short-lived: none", entratest.Options{TokenLifetime: time.Hour}, "imds", 0, 0},
		{"two hours: none", entratest.Options{TokenLifetime: 2 * time.Hour}, "imds", 0, 0},
		{"long-lived: half", entratest.Options{TokenLifetime: 8 * time.Hour}, "imds", 4 * time.Hour, 2 * time.Second},
		{"refresh_in wins", entratest.Options{TokenLifetime: 8 * time.Hour, RefreshIn: 10 * time.Minute}, "imds", 10 * time.Minute, 2 * time.Second},
		{"refresh_in wins for short tokens", entratest.Options{TokenLifetime: time.Hour, RefreshIn: 10 * time.Minute}, "cloud_shell", 10 * time.Minute, 2 * time.Second},
		{"date expiry: half", entratest.Options{TokenLifetime: 8 * time.Hour}, "machine_learning", 4 * time.Hour, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := startEmulator(t, tt.opts)
			c, _ := newClient(t, emu, tt.src)
			start := time.Now()
			tok, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
			if err != nil {
				t.Fatal(err)
			}
			if tt.refresh == 0 {
				if !tok.RefreshOn.IsZero() {
					t.Errorf("RefreshOn %v, want none", tok.RefreshOn)
				}
				return
			}
			if d := tok.RefreshOn.Sub(start); d < tt.refresh-tt.tolerate || d > tt.refresh+tt.tolerate {
				t.Errorf("RefreshOn in %s, want %s", d, tt.refresh)
			}
		})
	}
}

func BenchmarkAcquireTokenCacheHit(b *testing.B) {
	emu := startEmulator(b, entratest.Options{})
	c, err := managedidentity.New(emulatorConfig(b, emu, "imds"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	req := managedidentity.TokenRequest{Resource: resource}
	if _, err := c.AcquireToken(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if tok, err := c.AcquireToken(ctx, req); err != nil || !tok.FromCache {
				b.Fatal(tok, err)
			}
		}
	})
}

func TestCachePartitionKey(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	c, err := managedidentity.New(managedidentity.Config{Getenv: emu.Getenv("imds")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	get := func(key string) entra.Token {
		tok, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource, CachePartitionKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	a, b := get("a"), get("b")
	if a.FromCache || b.FromCache || len(emu.Requests("imds")) != 2 {
		t.Fatalf("tokens of two partition keys met (%d requests)", len(emu.Requests("imds")))
	}
	if again := get("a"); !again.FromCache || again.AccessToken != a.AccessToken {
		t.Fatalf("the same partition key missed")
	}
}
