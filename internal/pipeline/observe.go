package pipeline

import (
	"context"
	"time"

	"github.com/entra-go/entra"
)

// Reasons for asking the token service, as entra.Acquisition.Reason.
const (
	reasonNoCachedToken = "no_cached_token"
	reasonExpired       = "expired"
	reasonForce         = "force_refresh"
	reasonClaims        = "claims"
	reasonProactive     = "proactive_refresh"
	reasonRedeem        = "not_applicable"
)

// observation is an acquisition an Observer was told of, and its start.
type observation struct {
	a     entra.Acquisition
	start time.Time
}

// bypassReason names why a query bypasses the cache.
func bypassReason(bypass string) string {
	if bypass == Force {
		return reasonForce
	}
	return reasonClaims
}

// startObserving tells the observer that an acquisition goes to the
// network, and returns the context of that work. Without an observer it
// does nothing.
func (p *Pipeline[R]) startObserving(ctx context.Context, a entra.Acquisition, start time.Time) (context.Context, observation) {
	if p.obs == nil {
		return ctx, observation{}
	}
	a.ManagedIdentitySource = p.source
	if a.TokenType == "" {
		a.TokenType = entra.TokenTypeBearer
	}
	return p.obs.StartAcquisition(ctx, a), observation{a: a, start: start}
}

// endObserving reports the outcome of an acquisition that was started.
func (p *Pipeline[R]) endObserving(ctx context.Context, o observation, tok *entra.Token, coalesced bool, err error) {
	if p.obs == nil {
		return
	}
	a := o.a
	a.Duration, a.Coalesced = time.Since(o.start), coalesced
	if err != nil {
		a.ErrorCode = entra.ErrorCode(err)
	} else {
		a.FromCache, a.Region, a.Remaining = tok.FromCache, tok.Region, tok.ExpiresOn.Sub(p.now())
		if tok.TokenType != "" {
			a.TokenType = tok.TokenType
		}
	}
	p.obs.EndAcquisition(ctx, a)
}

// observeHit reports a cache hit, which allocates nothing with or
// without an observer.
func (p *Pipeline[R]) observeHit(ctx context.Context, q *Query, tok *entra.Token, start time.Time) {
	if p.obs == nil {
		return
	}
	p.obs.EndAcquisition(ctx, entra.Acquisition{
		Flow: q.Flow, ManagedIdentitySource: p.source, FromCache: true, TokenType: tok.TokenType,
		Duration: time.Since(start), Remaining: tok.ExpiresOn.Sub(p.now()),
	})
}
