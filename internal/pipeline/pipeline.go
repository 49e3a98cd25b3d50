// Package pipeline is the one acquisition path under both clients. It owns
// everything between a caller's request and a protocol's fetch:
//
//	cache read → single-flight → storage reload → fetch → store → proactive refresh
//
// together with the clock, the time budget and the goroutines it starts.
// The clients (confidential, managedidentity) are protocol adapters: they
// say how a request is keyed and how a token is fetched, through Fetcher.
package pipeline

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/budget"
	"github.com/entra-go/entra/internal/clock"
	"github.com/entra-go/entra/internal/flight"
	"github.com/entra-go/entra/internal/tokencache"
)

// Force as Query.Bypass skips the cache read because the caller asked to.
const Force = "\x00force"

// halfLife is the lifetime above which a token the service gave no
// refresh hint for is refreshed at half its life.
const halfLife = 2 * time.Hour

// Query is what a cache read needs besides the scopes. Callers with the
// same Query and scopes (in any order or case) share one fetch.
type Query struct {
	// Flow names the grant for observers (entra.Acquisition.Flow).
	Flow string
	Key  tokencache.Key
	// Bypass is why the cache is not read: "" (it is), Force, or a claims
	// challenge.
	Bypass string
	// FetchPicksKey says the fetch decides Key.KeyID itself (managed
	// identity PoP mints its certificate in the fetch): callers share one
	// fetch whatever KeyID they looked up under, so a caller that finds
	// the certificate just minted joins the flight that minted it.
	FetchPicksKey bool
}

// Answer is what a protocol adapter fetched.
type Answer struct {
	// Token is handed to the caller; RefreshOn is set by the pipeline.
	Token entra.Token
	// RefreshIn is the service's refresh hint; 0 when it gave none.
	RefreshIn time.Duration
	// Entries are saved in one write: Entries.AccessToken's CachedAt and
	// RefreshOn are set by the pipeline.
	Entries tokencache.Entries
}

// Fetcher gets a token from the service for a request of type R.
// requested is the time the request is made, which lifetimes count from.
type Fetcher[R any] interface {
	Fetch(ctx context.Context, req R, requested time.Time) (Answer, error)
}

// Config configures a Pipeline.
type Config struct {
	Cache *tokencache.Cache
	// Timeout is the time budget of one acquisition, retries included,
	// whoever waits for it.
	Timeout time.Duration
	// Now is the clock; nil is a cheap monotonic wall clock.
	Now    func() time.Time
	Logger *slog.Logger
	// Observer, if not nil, is told of every acquisition.
	Observer entra.Observer
	// Source is the managed identity source, for the observer.
	Source string
}

// Pipeline is safe for concurrent use. Close ends its goroutines.
type Pipeline[R any] struct {
	cache   *tokencache.Cache
	fetcher Fetcher[R]
	flights flight.Group[entra.Token]
	timeout time.Duration
	now     func() time.Time
	nowNano func() int64 // now in Unix ns, read on every hit
	logger  *slog.Logger
	obs     entra.Observer
	source  string

	// life ends the background refreshes when the client is closed.
	life    context.Context
	stop    context.CancelFunc
	mu      sync.Mutex // guards background.Add against Close
	closed  bool
	pending sync.WaitGroup
}

// New returns a pipeline that fetches with f.
func New[R any](cfg Config, f Fetcher[R]) *Pipeline[R] {
	p := &Pipeline[R]{cache: cfg.Cache, fetcher: f, timeout: cfg.Timeout, now: cfg.Now, logger: cfg.Logger,
		obs: cfg.Observer, source: cfg.Source}
	if p.cache == nil {
		p.cache = tokencache.New()
	}
	if p.now == nil {
		c := clock.New()
		p.now, p.nowNano = c.Now, c.UnixNano
	} else {
		p.nowNano = func() int64 { return p.now().UnixNano() }
	}
	p.life, p.stop = context.WithCancel(context.Background())
	return p
}

// Cache is the pipeline's cache, for the adapters' own look-ups (accounts,
// refresh tokens).
func (p *Pipeline[R]) Cache() *tokencache.Cache { return p.cache }

// Timeout is the time budget of one acquisition.
func (p *Pipeline[R]) Timeout() time.Duration { return p.timeout }

// Now reads the pipeline's clock.
func (p *Pipeline[R]) Now() time.Time { return p.now() }

// Acquire returns the cached token for q and scopes, or fetches the
// request that build makes once for every concurrent caller of them. A
// token due for refresh is served while one background refresh renews it.
//
// A hit allocates and copies nothing: scopes are only read (a caller may
// pass a slice on its stack) and build is only called on a miss or a
// refresh, so it may capture the caller's variables without moving them
// to the heap.
//
// The token is written to *tok, where the caller keeps it: a hit copies it
// once.
func (p *Pipeline[R]) Acquire(ctx context.Context, q *Query, scopes []string, build func() R, tok *entra.Token) (err error) {
	var start time.Time
	if p.obs != nil {
		start = time.Now()
	}
	var reason string
	if q.Bypass != "" {
		reason = bypassReason(q.Bypass)
	} else {
		switch p.lookup(&q.Key, scopes, tok) {
		case tokencache.Hit:
			p.observeHit(ctx, q, tok, start)
			return nil
		case tokencache.HitRefresh:
			p.refreshInBackground(*q, slices.Clone(scopes), build())
			p.observeHit(ctx, q, tok, start)
			return nil
		case tokencache.Expired:
			reason = reasonExpired
		default:
			reason = reasonNoCachedToken
		}
	}
	ctx, o := p.startObserving(ctx, entra.Acquisition{Flow: q.Flow, Reason: reason, TokenType: q.Key.TokenType}, start)
	var coalesced bool
	*tok, coalesced, err = p.shared(ctx, *q, slices.Clone(scopes), build())
	p.endObserving(ctx, o, tok, coalesced, err)
	return err
}

// Redeem fetches req once, under the time budget, for a request that
// neither reads the cache nor is shared: a code or a refresh token the
// caller holds is redeemed exactly once.
func (p *Pipeline[R]) Redeem(ctx context.Context, flow string, req R) (entra.Token, error) {
	ctx, o := p.startObserving(ctx, entra.Acquisition{Flow: flow, Reason: reasonRedeem}, time.Now())
	budgeted, cancel := budget.With(ctx, p.timeout)
	defer cancel()
	tok, err := p.fetch(budgeted, req)
	p.endObserving(ctx, o, &tok, false, err)
	return tok, err
}

// Close stops the background refreshes and waits for them to end. The
// pipeline still serves callers afterwards, without refreshing proactively.
func (p *Pipeline[R]) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.stop()
	p.pending.Wait()
}

// Wait waits for the background refreshes in progress to end.
func (p *Pipeline[R]) Wait() { p.pending.Wait() }

// lookup reads the cache. HitRefresh goes to one caller at a time.
func (p *Pipeline[R]) lookup(k *tokencache.Key, scopes []string, tok *entra.Token) tokencache.Status {
	c, status := p.cache.LookupNano(k, scopes, p.nowNano())
	if status.Usable() {
		*tok = entra.Token{
			AccessToken: c.Secret,
			TokenType:   tokenType(c.TokenType),
			ExpiresOn:   c.ExpiresOn,
			RefreshOn:   c.RefreshOn,
			Scopes:      c.Scopes,
			FromCache:   true,
		}
	}
	return status
}

func tokenType(cached string) string {
	if cached == "" {
		return entra.TokenTypeBearer
	}
	return cached
}

// shared runs one fetch for every concurrent caller of the same query,
// and reports whether this caller waited on another's.
func (p *Pipeline[R]) shared(ctx context.Context, q Query, scopes []string, req R) (tok entra.Token, coalesced bool, err error) {
	var led atomic.Bool
	tok, err = p.flights.Do(ctx, flightKey(q, scopes), p.timeout, func(ctx context.Context) (entra.Token, error) {
		led.Store(true)
		// The shared work outlives any one caller, but not the client.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(p.life, cancel)()
		// A flight that ended just before this one began, or another
		// process sharing the storage, may have stored the token, or
		// rotated the refresh token the fetch would redeem.
		if err := p.cache.Reload(ctx, tokencache.StoragePartition(&q.Key)); err != nil {
			p.warnStorage(err)
		}
		if q.Bypass == "" {
			var tok entra.Token
			if p.lookup(&q.Key, scopes, &tok).Usable() {
				return tok, nil // a due refresh is left to the next hit
			}
		}
		return p.fetch(ctx, req)
	})
	return tok, !led.Load(), err
}

// fetch asks the service and stores the answer.
func (p *Pipeline[R]) fetch(ctx context.Context, req R) (entra.Token, error) {
	requested := p.now()
	a, err := p.fetcher.Fetch(ctx, req, requested)
	if err != nil {
		if entra.ErrorCode(err) == "" && ctx.Err() != nil {
			err = budget.Err(ctx) // whatever the fetcher made of it: timeout or canceled
		}
		return entra.Token{}, err
	}
	refreshOn := RefreshOn(requested, a.Token.ExpiresOn, a.RefreshIn)
	a.Token.RefreshOn = refreshOn
	if at := a.Entries.AccessToken; at != nil {
		at.CachedAt, at.RefreshOn = requested, refreshOn
	}
	if err := p.cache.Save(ctx, a.Entries, requested); err != nil {
		p.warnStorage(err)
	}
	return a.Token, nil
}

// refreshInBackground renews a token due for refresh while callers keep
// being served the cached one. Its goroutine ends within the time budget,
// or at once when the pipeline is closed.
func (p *Pipeline[R]) refreshInBackground(q Query, scopes []string, req R) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	q.Bypass = Force
	p.pending.Add(1)
	go func() {
		defer p.pending.Done()
		ctx, o := p.startObserving(p.life, entra.Acquisition{Flow: q.Flow, Reason: reasonProactive, Background: true, TokenType: q.Key.TokenType}, time.Now())
		tok, _, err := p.shared(ctx, q, scopes, req)
		p.endObserving(ctx, o, &tok, false, err)
		if err != nil && p.logger != nil {
			p.logger.Debug("entra: proactive refresh failed; the cached token is still served", "error", string(entra.ErrorCode(err)))
		}
	}()
}

// warnStorage reports a storage failure that does not fail the call: the
// token is good and kept in memory.
func (p *Pipeline[R]) warnStorage(err error) {
	if p.logger != nil {
		p.logger.Warn("entra: the cache storage failed; tokens are kept in memory", "error", err)
	}
}

// RefreshOn is when a token fetched at requested is refreshed: at the
// service's hint when it gave one shorter than the lifetime, else at half
// its life if that is longer than two hours, else never before it expires.
func RefreshOn(requested, expires time.Time, hint time.Duration) time.Time {
	lifetime := expires.Sub(requested)
	switch {
	case hint > 0 && hint < lifetime:
		return requested.Add(hint)
	case lifetime > halfLife:
		return requested.Add(lifetime / 2)
	}
	return time.Time{}
}

// flightKey is one rule for who shares a fetch: the whole cache key, the
// scope set (order and case do not matter, as for the cache), and why the
// cache is bypassed.
func flightKey(q Query, scopes []string) string {
	k := q.Key
	if q.FetchPicksKey {
		k.KeyID = ""
	}
	set := make([]string, len(scopes))
	for i, s := range scopes {
		set[i] = strings.ToLower(s)
	}
	slices.Sort(set)
	parts := append([]string{k.Environment, k.ClientID, k.Tenant, k.Partition, k.TokenType, k.KeyID, k.Ext, q.Bypass}, set...)
	return strings.Join(parts, "\x00")
}
