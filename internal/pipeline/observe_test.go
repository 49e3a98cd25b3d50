package pipeline_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
)

// recorder is an Observer that keeps what it is told. The contexts it
// returns carry the acquisition they belong to, so that the test can
// check that each exchange happens inside one.
type recorder struct {
	mu        sync.Mutex
	started   []entra.Acquisition
	ended     []entra.Acquisition
	exchanges []entra.Exchange
	orphans   int // exchanges outside any started acquisition
}

type inAcquisition struct{}

func (r *recorder) StartAcquisition(ctx context.Context, a entra.Acquisition) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, a)
	return context.WithValue(ctx, inAcquisition{}, true)
}

func (r *recorder) EndAcquisition(_ context.Context, a entra.Acquisition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, a)
}

func (r *recorder) StartExchange(ctx context.Context, _ entra.Exchange, header http.Header) context.Context {
	if ctx.Value(inAcquisition{}) == nil {
		r.mu.Lock()
		r.orphans++
		r.mu.Unlock()
	}
	header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	header.Set("x-client-SKU", "forged") // must not replace the library's headers
	return ctx
}

func (r *recorder) EndExchange(_ context.Context, e entra.Exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exchanges = append(r.exchanges, e)
}

// snapshot returns copies of what was recorded, once the background
// work has settled.
func (r *recorder) snapshot() (started, ended []entra.Acquisition, exchanges []entra.Exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]entra.Acquisition(nil), r.started...), append([]entra.Acquisition(nil), r.ended...),
		append([]entra.Exchange(nil), r.exchanges...)
}

func (c client) flow() string {
	if c.endpoint == "token" {
		return "client_credentials"
	}
	return "managed_identity"
}

func (c client) source() string {
	if c.endpoint == "token" {
		return ""
	}
	return "imds"
}

// TestObserverSeesMissAndHit: a miss is started and ended with its
// exchange inside it; a hit is only ended.
func TestObserverSeesMissAndHit(t *testing.T) {
	t.Parallel()
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			em := startEmulator(t, entratest.Options{})
			rec := &recorder{}
			acquire := c.new(t, em, options{observer: rec})
			for range 2 {
				if _, err := acquire(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			started, ended, exchanges := rec.snapshot()
			want := entra.Acquisition{Flow: c.flow(), ManagedIdentitySource: c.source(), Reason: "no_cached_token", TokenType: entra.TokenTypeBearer}
			if len(started) != 1 || started[0] != want {
				t.Fatalf("started %+v, want %+v", started, want)
			}
			if len(ended) != 2 {
				t.Fatalf("%d acquisitions ended, want 2", len(ended))
			}
			miss, hit := ended[0], ended[1]
			if miss.FromCache || miss.Reason != "no_cached_token" || miss.ErrorCode != "" || miss.Duration <= 0 ||
				miss.Remaining < 50*time.Minute || miss.Flow != c.flow() || miss.ManagedIdentitySource != c.source() {
				t.Errorf("miss: %+v", miss)
			}
			if !hit.FromCache || hit.Reason != "" || hit.Coalesced || hit.TokenType != entra.TokenTypeBearer || hit.Remaining < 50*time.Minute || hit.Remaining > miss.Remaining || hit.Flow != c.flow() {
				t.Errorf("hit: %+v", hit)
			}
			if len(exchanges) != 1 || rec.orphans != 0 {
				t.Fatalf("%d exchanges (%d outside an acquisition), want 1 inside", len(exchanges), rec.orphans)
			}
			e := exchanges[0]
			if e.Attempt != 1 || e.StatusCode != 200 || e.ErrorCode != "" || e.Duration <= 0 || strings.Contains(e.URL, "?") || !strings.Contains(e.URL, e.Host) {
				t.Errorf("exchange: %+v", e)
			}
			got := em.Requests(c.endpoint)[0].Header
			if got.Get("traceparent") == "" || got.Get("x-client-SKU") != "entra.go" {
				t.Errorf("the request carried traceparent %q and x-client-SKU %q: the observer's headers are added, never replace", got.Get("traceparent"), got.Get("x-client-SKU"))
			}
		})
	}
}

// TestObserverSeesCoalescedCallers: five callers, one exchange; four of
// them waited on another's request.
func TestObserverSeesCoalescedCallers(t *testing.T) {
	t.Parallel()
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			em := startEmulator(t, entratest.Options{})
			rec := &recorder{}
			acquire := c.new(t, em, options{observer: rec})
			release := make(chan struct{})
			em.InjectFault(entratest.Fault{Endpoint: c.endpoint, Hold: release})
			var wg sync.WaitGroup
			for range 5 {
				wg.Go(func() {
					if _, err := acquire(context.Background()); err != nil {
						t.Error(err)
					}
				})
			}
			time.Sleep(50 * time.Millisecond)
			close(release)
			wg.Wait()
			_, ended, exchanges := rec.snapshot()
			coalesced := 0
			for _, a := range ended {
				if a.Coalesced {
					coalesced++
				}
			}
			if len(ended) != 5 || coalesced != 4 || len(exchanges) != 1 {
				t.Fatalf("%d ended, %d coalesced, %d exchanges; want 5, 4, 1", len(ended), coalesced, len(exchanges))
			}
		})
	}
}

// TestObserverSeesFailureAndRetry: a 503 then a 200 are two exchanges
// of one acquisition; a 400 ends one with the server's code.
func TestObserverSeesFailureAndRetry(t *testing.T) {
	t.Parallel()
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			em := startEmulator(t, entratest.Options{})
			rec := &recorder{}
			acquire := c.new(t, em, options{observer: rec, force: true})
			em.InjectFault(entratest.Fault{Endpoint: c.endpoint, Status: http.StatusServiceUnavailable})
			if _, err := acquire(context.Background()); err != nil {
				t.Fatal(err)
			}
			em.InjectFault(entratest.Fault{Endpoint: c.endpoint, Status: http.StatusBadRequest})
			_, err := acquire(context.Background())
			if err == nil {
				t.Fatal("no error for a 400")
			}
			_, ended, exchanges := rec.snapshot()
			if len(ended) != 2 || ended[0].ErrorCode != "" || ended[0].Reason != "force_refresh" ||
				ended[1].ErrorCode == "" || ended[1].ErrorCode != entra.ErrorCode(err) {
				t.Fatalf("ended %+v, want a success then %s", ended, entra.ErrorCode(err))
			}
			if len(exchanges) != 3 || exchanges[0].Attempt != 1 || exchanges[0].StatusCode != 503 ||
				exchanges[1].Attempt != 2 || exchanges[1].StatusCode != 200 || exchanges[2].StatusCode != 400 {
				t.Fatalf("exchanges %+v, want 503 (attempt 1), 200 (attempt 2), 400", exchanges)
			}
		})
	}
}

// TestObserverSeesBackgroundRefresh: the proactive refresh is an
// acquisition of its own, in the background.
func TestObserverSeesBackgroundRefresh(t *testing.T) {
	t.Parallel()
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			em := startEmulator(t, entratest.Options{RefreshIn: time.Second, TokenLifetime: time.Hour})
			rec := &recorder{}
			acquire := c.new(t, em, options{observer: rec})
			if _, err := acquire(context.Background()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1100 * time.Millisecond)
			if _, err := acquire(context.Background()); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, ended, _ := rec.snapshot()
				if len(ended) == 3 {
					bg := ended[1] // the hit that started it ends after it starts
					if ended[2].Background {
						bg = ended[2]
					}
					if !bg.Background || bg.Reason != "proactive_refresh" || bg.ErrorCode != "" || bg.Flow != c.flow() {
						t.Fatalf("background refresh: %+v", bg)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d acquisitions ended, want 3", len(ended))
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

type nopObserver struct{}

func (nopObserver) StartAcquisition(ctx context.Context, _ entra.Acquisition) context.Context {
	return ctx
}
func (nopObserver) EndAcquisition(context.Context, entra.Acquisition) {}
func (nopObserver) StartExchange(ctx context.Context, _ entra.Exchange, _ http.Header) context.Context {
	return ctx
}
func (nopObserver) EndExchange(context.Context, entra.Exchange) {}

func TestAnObservedHitAllocatesNothing(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			em := startEmulator(t, entratest.Options{})
			acquire := c.new(t, em, options{observer: nopObserver{}})
			ctx := context.Background()
			if _, err := acquire(ctx); err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(1000, func() { acquire(ctx) }); n != 0 {
				t.Fatalf("an observed cache hit allocates %v times, want 0", n)
			}
		})
	}
}
