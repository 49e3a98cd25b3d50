package clientauth

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// assertionReuse is how long after its nbf an assertion is sent again:
// half its life, so that the last request to send it still has five
// minutes before exp, ample for clock skew and a slow answer. Entra ID
// accepts an assertion again within its life (MSAL Node and MSAL Python
// send one again too).
const assertionReuse = assertionLifetime / 2

// maxReusedAssertions bounds the assertions a Certificate keeps, one per
// assertionKey. An app uses a handful of token endpoints; one that names
// many tenants (or lets callers name them) evicts assertions rather than
// grow.
const maxReusedAssertions = 64

// assertionKey is what tells two assertions of one Certificate apart,
// besides their times and jti: the audience, iss and sub, and the
// header (the dialect decides the algorithm and the thumbprint header for
// the Certificate's key). The certificate and key are the Certificate's
// own, fixed: a rotated certificate is a new Certificate, with an empty
// cache. Certificate.assertion reads no other field of Request.
type assertionKey struct {
	clientID, audience string
	dialect            Dialect
	x5c                bool
}

func (c *Certificate) assertionKey(req Request) assertionKey {
	return assertionKey{clientID: req.ClientID, audience: req.TokenEndpoint, dialect: req.Dialect, x5c: c.sendX5C || req.IncludeX5C}
}

// flightKey is k as a string for singleflight; quoting keeps two keys
// from meeting (a client id holding a space, say).
func (k assertionKey) flightKey() string {
	return fmt.Sprintf("%q %q %d %t", k.clientID, k.audience, k.dialect, k.x5c)
}

// signedAssertion is an assertion and its nbf.
type signedAssertion struct {
	jwt string
	nbf time.Time
}

// reusable reports whether a may be sent at now: from its nbf until half
// its life has passed. A clock that went back before nbf gets a new one.
func (a signedAssertion) reusable(now time.Time) bool {
	return !now.Before(a.nbf) && now.Before(a.nbf.Add(assertionReuse))
}

// assertionCache keeps a Certificate's recent assertions, so that the
// token requests of the next minutes (other scopes, other resources, a
// refresh) send the same one instead of paying for a signature each:
// about a millisecond of CPU for RSA-2048, or a round trip to a key vault.
// It is safe for concurrent use.
type assertionCache struct {
	mu      sync.Mutex
	entries map[assertionKey]signedAssertion

	// signing makes concurrent misses for one key sign once: each
	// signature is costly, and a key vault may throttle a burst of them.
	// Do, unlike DoChan, runs the signer in a caller's goroutine, so a
	// panicking signer panics in its callers as it would unshared. A
	// waiter cannot leave before the signature is made, but neither could
	// it while signing itself: crypto.Signer takes no context.
	signing singleflight.Group
}

func newAssertionCache() *assertionCache {
	return &assertionCache{entries: make(map[assertionKey]signedAssertion)}
}

// get returns the assertion for k if it may still be sent at now.
func (a *assertionCache) get(k assertionKey, now time.Time) (string, bool) {
	a.mu.Lock()
	e, ok := a.entries[k]
	a.mu.Unlock()
	if !ok || !e.reusable(now) {
		return "", false
	}
	return e.jwt, true
}

// put keeps s for k, first making room when the cache is full.
func (a *assertionCache) put(k assertionKey, s signedAssertion, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.entries[k]; !ok && len(a.entries) >= maxReusedAssertions {
		a.evictLocked(now)
	}
	a.entries[k] = s
}

// evictLocked drops the assertions that may no longer be sent or, if
// every one still may, the oldest.
func (a *assertionCache) evictLocked(now time.Time) {
	var oldest assertionKey
	var oldestNbf time.Time
	for k, e := range a.entries {
		switch {
		case !e.reusable(now):
			delete(a.entries, k)
		case oldestNbf.IsZero() || e.nbf.Before(oldestNbf):
			oldest, oldestNbf = k, e.nbf
		}
	}
	if len(a.entries) >= maxReusedAssertions {
		delete(a.entries, oldest)
	}
}

// reusedAssertion returns an assertion for req: for Entra ID, the one
// signed for the same key within the last five minutes, or a new one.
// AD FS and other OpenID Connect providers get a new one every time: RFC
// 7523 lets them refuse a jti they have seen.
func (c *Certificate) reusedAssertion(req Request) (string, error) {
	if req.Dialect != DialectAAD {
		return c.assertion(req, c.now())
	}
	k := c.assertionKey(req)
	if jwt, ok := c.reuse.get(k, c.now()); ok {
		return jwt, nil
	}
	v, err, _ := c.reuse.signing.Do(k.flightKey(), func() (any, error) {
		now := c.now()
		if jwt, ok := c.reuse.get(k, now); ok {
			return jwt, nil // a flight for k ended between the look-up and Do
		}
		jwt, err := c.assertion(req, now)
		if err != nil {
			return "", err
		}
		c.reuse.put(k, signedAssertion{jwt: jwt, nbf: time.Unix(now.Unix(), 0)}, now)
		return jwt, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}
