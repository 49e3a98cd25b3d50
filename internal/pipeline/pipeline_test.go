package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/budget"
	"github.com/entra-go/entra/internal/tokencache"
)

// service is a token service in memory: every fetch issues a new token
// named after the request (its scopes, space-separated) and the fetch
// count, living `life`, with the refresh hint `hint`. block, when set, holds fetches until it is closed
// or their context ends.
type service struct {
	fetches atomic.Int32
	life    time.Duration
	hint    time.Duration
	block   chan struct{}
	seen    chan error // the fetch's context error when it returns, if not nil
}

func (s *service) Fetch(ctx context.Context, req string, requested time.Time) (Answer, error) {
	n := s.fetches.Add(1)
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			if s.seen != nil {
				s.seen <- ctx.Err()
			}
			return Answer{}, budget.Err(ctx) // as the transport reports it
		}
	}
	tok := fmt.Sprintf("%s#%d", req, n)
	expires := requested.Add(s.life)
	return Answer{
		Token:     entra.Token{AccessToken: tok, TokenType: entra.TokenTypeBearer, ExpiresOn: expires, Scopes: strings.Fields(req)},
		RefreshIn: s.hint,
		Entries: tokencache.Entries{AccessToken: &tokencache.AccessToken{Key: key, Scopes: strings.Fields(req), Secret: tok,
			ExpiresOn: expires, ExtendedExpiresOn: expires}},
	}, nil
}

var key = tokencache.Key{Environment: "env", ClientID: "client", Tenant: "tenant"}

func newPipeline(s *service, timeout time.Duration) *Pipeline[string] {
	return New[string](Config{Timeout: timeout, Now: time.Now}, s)
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &service{life: time.Hour, block: make(chan struct{})}
		p := newPipeline(s, time.Minute)
		defer p.Close()
		const callers = 100
		var wg sync.WaitGroup
		tokens := make([]string, callers)
		for i := range callers {
			wg.Go(func() {
				// Scope order and case do not matter, as for the cache.
				scopes := []string{"a", "B"}
				if i%2 == 1 {
					scopes = []string{"b", "A"}
				}
				tok, err := acquire(p, context.Background(), Query{Key: key}, scopes, strings.Join(scopes, " "))
				if err != nil {
					t.Error(err)
				}
				tokens[i] = tok.AccessToken
			})
		}
		synctest.Wait()
		close(s.block)
		wg.Wait()
		if n := s.fetches.Load(); n != 1 {
			t.Fatalf("%d fetches for %d concurrent callers, want 1", n, callers)
		}
		for i, tok := range tokens {
			if tok != "a B#1" && tok != "b A#1" {
				t.Fatalf("caller %d got %q", i, tok)
			}
		}
		// The answer is cached: the next caller is a hit.
		tok, err := acquire(p, context.Background(), Query{Key: key}, []string{"A", "b"}, "A b")
		if err != nil || tok.AccessToken != tokens[0] || !tok.FromCache || s.fetches.Load() != 1 {
			t.Fatalf("after the fetch: %v %v, %d fetches", tok, err, s.fetches.Load())
		}
	})
}

func TestHitAllocatesNothing(t *testing.T) {
	s := &service{life: time.Hour}
	p := New[string](Config{Timeout: time.Minute}, s)
	defer p.Close()
	ctx := context.Background()
	if _, err := acquire(p, ctx, Query{Key: key}, []string{"scope"}, "scope"); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		scopes := [1]string{"scope"} // on the stack, as managedidentity passes its resource
		if tok, err := acquire(p, ctx, Query{Key: key}, scopes[:], "scope"); err != nil || !tok.FromCache {
			t.Fatal(tok, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a hit allocates %v times, want 0", allocs)
	}
}

func TestBypassSkipsTheReadAndStores(t *testing.T) {
	t.Parallel()
	s := &service{life: time.Hour}
	p := newPipeline(s, time.Minute)
	defer p.Close()
	ctx := context.Background()
	for i, bypass := range []string{"", Force, `{"access_token":{"nbf":{"essential":true}}}`, ""} {
		tok, err := acquire(p, ctx, Query{Key: key, Bypass: bypass}, []string{"s"}, "s")
		if err != nil {
			t.Fatal(err)
		}
		// Each bypass fetches; the last, plain, read finds the latest token.
		want := fmt.Sprintf("s#%d", min(i+1, 3))
		if tok.AccessToken != want {
			t.Fatalf("call %d (bypass %q): %q, want %q", i, bypass, tok.AccessToken, want)
		}
	}
}

func TestProactiveRefreshRunsOnceInTheBackground(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &service{life: time.Hour, hint: 10 * time.Minute}
		p := newPipeline(s, time.Minute)
		defer p.Close()
		ctx := context.Background()
		first, err := acquire(p, ctx, Query{Key: key}, []string{"s"}, "s")
		if err != nil || first.RefreshOn.IsZero() {
			t.Fatalf("%v %v: want a refresh time from the hint", first, err)
		}
		time.Sleep(11 * time.Minute) // past the refresh time, far from expiry
		for range 20 {
			tok, err := acquire(p, ctx, Query{Key: key}, []string{"s"}, "s")
			if err != nil || tok.AccessToken != "s#1" {
				t.Fatalf("while refreshing: %v %v, want the cached token", tok, err)
			}
		}
		synctest.Wait() // the background refresh has finished
		if n := s.fetches.Load(); n != 2 {
			t.Fatalf("%d fetches, want 1 and one refresh", n)
		}
		if tok, _ := acquire(p, ctx, Query{Key: key}, []string{"s"}, "s"); tok.AccessToken != "s#2" {
			t.Fatalf("after the refresh: %q, want req#2", tok.AccessToken)
		}
	})
}

func TestCloseEndsBackgroundRefreshes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &service{life: time.Hour, hint: time.Minute}
		p := newPipeline(s, time.Hour)
		ctx := context.Background()
		if _, err := acquire(p, ctx, Query{Key: key}, []string{"s"}, "s"); err != nil {
			t.Fatal(err)
		}
		s.block, s.seen = make(chan struct{}), make(chan error, 1)
		time.Sleep(2 * time.Minute)
		acquire(p, ctx, Query{Key: key}, []string{"s"}, "s") // starts the refresh, which blocks
		synctest.Wait()
		start := time.Now()
		p.Close()
		if err := <-s.seen; !errors.Is(err, context.Canceled) {
			t.Fatalf("the refresh saw %v, want it cancelled by Close", err)
		}
		if took := time.Since(start); took != 0 {
			t.Fatalf("Close waited %s", took)
		}
		// After Close a due token is still served, and no refresh starts.
		time.Sleep(2 * time.Minute)
		before := s.fetches.Load()
		if _, err := acquire(p, ctx, Query{Key: key}, []string{"s"}, "s"); err != nil || s.fetches.Load() != before {
			t.Fatalf("after Close: %v, %d fetches, want a hit and none", err, s.fetches.Load()-before)
		}
	})
}

func TestTheBudgetBoundsEveryFetch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &service{life: time.Hour, block: make(chan struct{})}
		p := newPipeline(s, 30*time.Second)
		defer p.Close()
		for name, call := range map[string]func() error{
			"shared": func() error {
				_, err := acquire(p, context.Background(), Query{Key: key}, []string{"s"}, "s")
				return err
			},
			"redeem": func() error { _, err := p.Redeem(context.Background(), "refresh_token", "code"); return err },
		} {
			start := time.Now()
			err := call()
			if entra.ErrorCode(err) != entra.CodeTimeout || time.Since(start) != 30*time.Second {
				t.Errorf("%s: %v after %s, want %s after the 30s budget", name, err, time.Since(start), entra.CodeTimeout)
			}
		}
	})
}

func TestTheCallersDeadlineIsCanceled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &service{life: time.Hour, block: make(chan struct{})}
		p := newPipeline(s, time.Minute)
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for name, call := range map[string]func() error{
			"shared": func() error { _, err := acquire(p, ctx, Query{Key: key}, []string{"s"}, "s"); return err },
			"redeem": func() error { _, err := p.Redeem(ctx, "refresh_token", "code"); return err },
		} {
			if err := call(); entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: %v, want %s wrapping the deadline", name, err, entra.CodeCanceled)
			}
		}
		close(s.block)
	})
}

func TestRefreshOn(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		life, hint, want time.Duration // want 0: never
	}{
		{time.Hour, 0, 0},
		{time.Hour, 10 * time.Minute, 10 * time.Minute},
		{time.Hour, 2 * time.Hour, 0}, // a hint past expiry is ignored
		{24 * time.Hour, 0, 12 * time.Hour},
		{24 * time.Hour, time.Hour, time.Hour},
	}
	for _, tt := range tests {
		got := RefreshOn(at, at.Add(tt.life), tt.hint)
		if (tt.want == 0 && !got.IsZero()) || (tt.want != 0 && !got.Equal(at.Add(tt.want))) {
			t.Errorf("RefreshOn(life %s, hint %s) = %v, want +%s", tt.life, tt.hint, got, tt.want)
		}
	}
}

func acquire(p *Pipeline[string], ctx context.Context, q Query, scopes []string, req string) (entra.Token, error) {
	var tok entra.Token
	err := p.Acquire(ctx, &q, scopes, func() string { return req }, &tok)
	return tok, err
}

// TestFetchPicksKey: callers looking up under different key ids share one
// fetch only when the fetch picks the key itself.
func TestFetchPicksKey(t *testing.T) {
	t.Parallel()
	for _, picks := range []bool{false, true} {
		s := &service{life: time.Hour, block: make(chan struct{})}
		p := newPipeline(s, time.Minute)
		var wg sync.WaitGroup
		for _, kid := range []string{"", "x5t-a", "x5t-b"} {
			q := Query{Key: key, FetchPicksKey: picks}
			q.Key.KeyID = kid
			wg.Go(func() {
				var tok entra.Token
				p.Acquire(context.Background(), &q, []string{"s"}, func() string { return "s" }, &tok)
			})
		}
		for deadline := time.Now().Add(5 * time.Second); s.fetches.Load() == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no fetch began in 5 s")
			}
		}
		time.Sleep(20 * time.Millisecond) // the others join a flight or start their own
		close(s.block)
		wg.Wait()
		want := int32(3)
		if picks {
			want = 1
		}
		if got := s.fetches.Load(); got != want {
			t.Errorf("FetchPicksKey=%t: %d fetches, want %d", picks, got, want)
		}
	}
}
