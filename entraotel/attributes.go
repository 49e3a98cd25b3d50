package entraotel

import (
	"maps"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
)

// The library's own attributes. The HTTP ones are the semantic
// conventions' (semconv).
const (
	flowKey           = attribute.Key("entra.flow")
	tokenTypeKey      = attribute.Key("entra.token.type")
	tokenSourceKey    = attribute.Key("entra.token.source")
	refreshReasonKey  = attribute.Key("entra.cache.refresh_reason")
	coalescedKey      = attribute.Key("entra.coalesced")
	miSourceKey       = attribute.Key("entra.managed_identity.source")
	regionKey         = attribute.Key("entra.region")
	outcomeKey        = attribute.Key("entra.outcome")
	sourceCache       = "cache"
	sourceIdP         = "identity_provider"
	outcomeSuccess    = "success"
	outcomeFailure    = "failure"
	maxCachedOptions  = 512
	acquireSpanPrefix = "entra.acquire_token "
)

// optionCache keeps a value (measurement options) per attribute
// combination. Reads take no lock and allocate nothing: the map is
// replaced, never changed, when a combination is added. Combinations are
// few (flows × sources × outcomes × error codes); past maxCachedOptions,
// say if a server made up error codes, new ones are built at each call
// rather than kept forever.
type optionCache[K comparable, V any] struct {
	m  atomic.Pointer[map[K]V]
	mu sync.Mutex // serializes the writers
}

// get returns the value of k, made by build the first time. build is a
// plain function, not a closure, so that passing it allocates nothing.
func (c *optionCache[K, V]) get(k K, build func(K) V) V {
	if m := c.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	v := build(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[K]V{}
	if old := c.m.Load(); old != nil {
		if len(*old) >= maxCachedOptions {
			return v
		}
		maps.Copy(next, *old)
	}
	next[k] = v
	c.m.Store(&next)
	return v
}
