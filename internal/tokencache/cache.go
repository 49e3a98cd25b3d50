// Package cache is the token cache.
//
// Access tokens are held in one concurrent hash map (see atIndex) keyed by
// everything that tells tokens apart (environment, client, tenant,
// partition, token type, binding key, extra key component and an order-
// and case-insensitive hash of the scopes), so a hit costs O(1) in the
// number of cached tokens, allocates nothing, takes no lock and writes
// nothing shared. Refresh tokens are keyed by environment, client (or
// family) and partition; accounts by user.
//
// Beside the maps the cache keeps its entries in the cross-MSAL cache
// schema, the JSON document every MSAL reads and writes, fields and
// sections it does not know included; a Storage (see Open and package
// filestore) persists it. An access token is kept once: the document keeps
// the entries it read that this package would not write byte for byte
// (another library's, or with unknown fields), and the others are written
// from the index. Writes to storage
// apply each change to what is stored now, under the store's lock, so
// processes sharing a file lose nothing; hits never touch storage.
package tokencache

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entra-go/entra/cache"
)

// ExpiryBuffer is how long before its expiry a token stops being served:
// a token handed out must stay usable for the request it is sent with.
const ExpiryBuffer = 5 * time.Minute

// refreshRetryInterval spaces proactive refresh attempts after one fails,
// so a failing endpoint is not hit by every cache hit.
const refreshRetryInterval = 30 * time.Second

// sweepInterval bounds how often Store scans for expired entries.
const sweepInterval = 5 * time.Minute

// Key identifies an access token up to its scopes.
type Key struct {
	// Environment is the authority's cache environment (e.g. login.windows.net).
	Environment string
	ClientID    string
	// Tenant is the lower-cased tenant (the schema's "realm").
	Tenant string
	// Partition separates token owners: "" for app tokens, the hash of the
	// user assertion for on-behalf-of tokens, the home account id for users.
	Partition string
	// TokenType is "" for Bearer tokens, else the scheme (e.g. "mtls_pop").
	TokenType string
	// KeyID binds proof-of-possession tokens to a key (certificate thumbprint).
	KeyID string
	// Ext is an extra key component (e.g. the hash of client claims).
	Ext string
}

// callerPartitionPrefix marks a caller's partition key; home account ids
// ("uid.utid") and assertion hashes (base64url) have no colon.
const callerPartitionPrefix = "pk:"

// CallerPartition is the Partition of tokens a caller keeps apart with a
// cache partition key.
func CallerPartition(key string) string { return callerPartitionPrefix + key }

// StoragePartition is the storage partition (see cache.Storage) that holds
// the token of k: its owner's for a user's or a caller's partition, else
// one per environment, client and tenant, so that a store keeping one
// document per partition rewrites one tenant's app tokens per write, not
// every tenant's.
func StoragePartition(k *Key) string {
	if k.Partition != "" {
		return k.Partition
	}
	return appPartitionPrefix + k.Environment + ":" + k.ClientID + ":" + k.Tenant
}

// appPartitionPrefix starts the storage partitions of app tokens.
const appPartitionPrefix = "app:"

// AccessToken is a cached access token with its schema fields.
type AccessToken struct {
	Key
	// HomeAccountID is the user's uid.utid; "" for app tokens.
	HomeAccountID string
	// Target is the space-separated scope list written to the schema's
	// target (user tokens add the reserved OpenID scopes, as MSALs do);
	// empty means Scopes.
	Target string
	// Scopes are the scopes the token is stored under.
	Scopes            []string
	Secret            string
	CachedAt          time.Time
	ExpiresOn         time.Time
	ExtendedExpiresOn time.Time
	RefreshOn         time.Time
}

// RefreshKey identifies a refresh token.
type RefreshKey struct {
	Environment string
	// ClientID is the client the token belongs to; "" for a family refresh
	// token, which any client of the family may redeem.
	ClientID string
	// FamilyID is the family ("1") of a family refresh token, else "".
	FamilyID string
	// Partition is the home account id, or the user assertion hash of an
	// on-behalf-of refresh token.
	Partition string
}

// RefreshToken is a cached refresh token.
type RefreshToken struct {
	RefreshKey
	// IssuedTo is the client the token was issued to.
	IssuedTo      string
	HomeAccountID string
	Target        string
	Secret        string
}

// IDKey identifies an ID token.
type IDKey struct {
	HomeAccountID, Environment, ClientID, Realm string
}

// IDToken is a cached ID token (a JWT about the signed-in user).
type IDToken struct {
	IDKey
	Secret string
}

// AccountKey identifies an account in one tenant.
type AccountKey struct {
	HomeAccountID, Environment, Realm string
}

// Account is a user's account in one tenant (realm). The accounts of one
// user share a HomeAccountID ("uid.utid" from client_info).
type Account struct {
	AccountKey
	// LocalAccountID is the user's object id in Realm.
	LocalAccountID string
	Username       string
	Name           string
	// AuthorityType is "MSSTS" for Entra ID, "ADFS" or "Generic".
	AuthorityType string
	ClientInfo    string
}

// AppKey identifies an application's metadata.
type AppKey struct {
	Environment, ClientID string
}

// AppMetadata records what the token service said about an application,
// such as its token family.
type AppMetadata struct {
	AppKey
	FamilyID string
}

// Entries are the cache entries of one token response, saved together.
type Entries struct {
	AccessToken  *AccessToken
	RefreshToken *RefreshToken
	IDToken      *IDToken
	Account      *Account
	AppMetadata  *AppMetadata
}

// Lookup results.
type Status uint8

const (
	// Miss: no usable token.
	Miss Status = iota
	// Hit: a usable token.
	Hit
	// HitRefresh: a usable token past its refresh time; the caller that gets
	// this (one at a time) should refresh it in the background.
	HitRefresh
	// Expired: a miss, because the token cached for the key has expired
	// or is within ExpiryBuffer of it.
	Expired
)

// Usable reports a hit.
func (s Status) Usable() bool { return s == Hit || s == HitRefresh }

// atKey is at most 128 bytes so that the map keeps keys inline in its slots.
type atKey struct {
	Key
	// scopes is a seeded, order- and case-insensitive hash of the scope set.
	// Every other field is compared exactly by the map, so a collision could
	// only confuse two scope sets of one client, tenant and partition, and
	// with a random per-cache seed that is a 2^-64 event: scopes are not
	// compared again.
	scopes uint64
}

// atSlot is what a hit reads. It is small enough to sit inline in the map
// slot next to its key, so a hit in a large cache touches one map group.
// The token's other fields, which only persistence needs, are in state.
type atSlot struct {
	secret    string
	tokenType string
	// scopes are shared by every hit: read them, never change them.
	scopes []string
	// expires and refreshOn are Unix ns; refreshOn is 0 for never.
	expires, refreshOn int64
	// state holds what a hit may change (the proactive-refresh claim) and
	// what persistence needs; a hit follows it only when a refresh is due.
	state *atState
}

type atState struct {
	// refreshAfter is when the next proactive refresh may start (Unix ns,
	// 0 for never); the caller that moves it forward owns that refresh.
	refreshAfter atomic.Int64
	home, target string
	// cachedAt and extExpires are Unix ns.
	cachedAt, extExpires int64
	// docKey is the key of the entry as read, when the document keeps it
	// (it has fields this package does not know, or a key in another
	// form); "" when the entry is written from these fields.
	docKey string
}

// serveUntil is when the slot's token stops being served (Unix ns).
func (s *atSlot) serveUntil() int64 { return s.expires - int64(ExpiryBuffer) }

// accessToken is the whole token of the slot stored under ak.
func (s *atSlot) accessToken(ak *atKey) AccessToken {
	return AccessToken{
		Key: ak.Key, HomeAccountID: s.state.home, Target: s.state.target, Scopes: s.scopes, Secret: s.secret,
		CachedAt: unixNano(s.state.cachedAt), ExpiresOn: unixNano(s.expires),
		ExtendedExpiresOn: unixNano(s.state.extExpires), RefreshOn: unixNano(s.refreshOn),
	}
}

// unixNano is the time of ns Unix nanoseconds; 0 is the zero time.
func unixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// nanos is t in Unix ns; the zero time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Cached is what a hit returns.
type Cached struct {
	Secret    string
	TokenType string
	ExpiresOn time.Time
	RefreshOn time.Time
	// Scopes are those the token was stored under, shared by every hit:
	// read them, never change them.
	Scopes []string
}

// Cache is safe for concurrent use. The zero value is not usable; call New
// or Open.
type Cache struct {
	seed    maphash.Seed
	storage cache.Storage // nil for a cache that lives in memory only
	writeMu sync.Mutex    // orders writes to storage
	// partitioned: storage keeps one document per partition.
	partitioned bool
	// version is the version of the stored document this cache holds,
	// for a cache.VersionedStorage of one document; guarded by mu.
	version string

	mu sync.RWMutex // guards the maps but access, and every write
	// access is swapped whole when storage is reloaded; hits read it
	// without c.mu.
	access   atomic.Pointer[atIndex]
	refresh  map[RefreshKey]refreshSlot
	ids      map[IDKey]docEntry[IDToken]
	accounts map[homeKey]map[string]docEntry[Account] // by user, then realm
	apps     map[AppKey]docEntry[AppMetadata]
	// accountsGen counts the changes of accounts (see AccountsGeneration).
	accountsGen atomic.Uint64
	doc         *document // every entry in schema form, unknown ones included
	nextSweep   time.Time
}

type refreshSlot = docEntry[RefreshToken]

// homeKey finds a user's accounts, one per tenant, without a scan.
type homeKey struct{ home, environment string }

// docEntry is an entry with its key in the schema document.
type docEntry[T any] struct {
	value  T
	docKey string
}

// New returns an empty in-memory cache.
func New() *Cache {
	c := &Cache{seed: maphash.MakeSeed()}
	c.reset(newDocument())
	return c
}

// reset replaces the contents with doc's. c.mu must be held (or c unshared).
func (c *Cache) reset(doc *document) {
	c.doc = doc
	c.access.Store(newATIndex())
	c.refresh = make(map[RefreshKey]refreshSlot)
	c.ids = make(map[IDKey]docEntry[IDToken])
	c.accounts = make(map[homeKey]map[string]docEntry[Account])
	c.accountsGen.Add(1)
	c.apps = make(map[AppKey]docEntry[AppMetadata])
	c.index()
}

// Lookup returns the access token for k and scopes that is valid at now for
// at least ExpiryBuffer more. It does not allocate.
func (c *Cache) Lookup(k *Key, scopes []string, now time.Time) (Cached, Status) {
	return c.LookupNano(k, scopes, now.UnixNano())
}

// LookupNano is Lookup at ns, the time in Unix ns.
func (c *Cache) LookupNano(k *Key, scopes []string, ns int64) (Cached, Status) {
	ak := atKey{Key: *k, scopes: c.scopeHash(scopes)}
	slot, ok := c.access.Load().Get(&ak)
	if !ok {
		return Cached{}, Miss
	}
	if ns >= slot.serveUntil() {
		if ns >= slot.expires {
			c.evict(ak, slot)
		}
		return Cached{}, Expired
	}
	hit := Cached{Secret: slot.secret, TokenType: slot.tokenType, ExpiresOn: time.Unix(0, slot.expires), Scopes: slot.scopes}
	if slot.refreshOn == 0 {
		return hit, Hit
	}
	hit.RefreshOn = time.Unix(0, slot.refreshOn)
	if ns >= slot.refreshOn {
		if at := slot.state.refreshAfter.Load(); at != 0 && ns >= at &&
			slot.state.refreshAfter.CompareAndSwap(at, ns+int64(refreshRetryInterval)) {
			return hit, HitRefresh
		}
	}
	return hit, Hit
}

// putAccessToken indexes t; docKey is the key of its entry in the
// document when the document keeps it as read, else "". c.mu must be held.
func (c *Cache) putAccessToken(t AccessToken, docKey string) {
	st := &atState{home: t.HomeAccountID, target: t.Target, cachedAt: nanos(t.CachedAt), extExpires: nanos(t.ExtendedExpiresOn), docKey: docKey}
	slot := &atSlot{secret: t.Secret, tokenType: t.TokenType, scopes: t.Scopes, expires: t.ExpiresOn.UnixNano(),
		refreshOn: nanos(t.RefreshOn), state: st}
	st.refreshAfter.Store(slot.refreshOn)
	c.putSlot(atKey{Key: t.Key, scopes: c.scopeHash(t.Scopes)}, slot)
}

// putSlot indexes slot under ak, dropping from the document the entry of
// the token it supersedes, if the document kept one. c.mu must be held.
func (c *Cache) putSlot(ak atKey, slot *atSlot) {
	if old, ok := c.access.Load().Set(ak, slot); ok && old.state.docKey != "" && old.state.docKey != slot.state.docKey {
		c.doc.remove(sectionAccessToken, old.state.docKey)
	}
}

// Len is the number of cached access tokens.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.access.Load().Len()
}

// LookupRefreshToken returns the refresh token for k, if any.
func (c *Cache) LookupRefreshToken(k RefreshKey) (RefreshToken, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	rt, ok := c.refresh[k]
	return rt.value, ok
}

// evict deletes an expired token unless a fresh one replaced it meanwhile.
// It is not persisted: the next write drops expired tokens from storage.
func (c *Cache) evict(ak atKey, stale *atSlot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.access.Load().Delete(ak, stale) {
		c.doc.remove(sectionAccessToken, stale.state.docKey)
	}
}

// maybeSweep drops expired access tokens, at most once per sweepInterval,
// so tokens of tenants nobody asks for again do not pile up. Amortised over
// the stores in between, it costs O(1) per store.
func (c *Cache) maybeSweep(now time.Time) {
	if now.Before(c.nextSweep) {
		return
	}
	c.nextSweep = now.Add(sweepInterval)
	x := c.access.Load()
	for ak, slot := range x.All() {
		if now.UnixNano() >= slot.expires {
			x.Delete(ak, slot)
			c.doc.remove(sectionAccessToken, slot.state.docKey)
		}
	}
}

// scopeHash is insensitive to the order and case of scopes: each scope is
// hashed on its own (ASCII-lower-cased) and the hashes are summed.
func (c *Cache) scopeHash(scopes []string) uint64 {
	var sum uint64
	for _, s := range scopes {
		if !hasUpperASCII(s) {
			sum += maphash.String(c.seed, s)
			continue
		}
		// Lowered into a buffer on the stack: the hash of the same bytes
		// as maphash.String's, at a fraction of a byte-by-byte hash's cost.
		var buf [128]byte
		lower := buf[:0]
		if len(s) > len(buf) {
			lower = make([]byte, 0, len(s))
		}
		for i := 0; i < len(s); i++ {
			lower = append(lower, lowerASCII(s[i]))
		}
		sum += maphash.Bytes(c.seed, lower)
	}
	return sum
}

// Lower is strings.ToLower for the keys of the cache (tenants, scopes):
// it returns s itself, at eight bytes per step, when s has no upper-case
// ASCII letter, as keys almost always do; it sits on the cache-hit path.
func Lower(s string) string {
	if isLowerASCII(s) {
		return s
	}
	return strings.ToLower(s)
}

// isLowerASCII reports whether s is all ASCII (non-ASCII letters have
// other lower cases) without an upper-case letter, eight bytes per step.
func isLowerASCII(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// As in hasUpperASCII; valid once no lane has its high bit set.
		if w&highs != 0 || (w+ones*(0x80-'A'))&^(w+ones*(0x80-'Z'-1))&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= 0x80 || ('A' <= s[i] && s[i] <= 'Z') {
			return false
		}
	}
	return true
}

// hasUpperASCII reports whether s has a byte in 'A'..'Z'. It tests eight
// bytes per step: it sits on the cache-hit path.
func hasUpperASCII(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if w&highs != 0 {
			// Non-ASCII bytes would carry across lanes; test them one by one.
			for _, c := range []byte(s[i : i+8]) {
				if 'A' <= c && c <= 'Z' {
					return true
				}
			}
			continue
		}
		// Per lane: the high bit of b+(0x80-'A') is set iff b >= 'A', and the
		// high bit of b+(0x80-'Z'-1) iff b > 'Z'. No lane overflows for b < 0x80.
		geA := w + ones*(0x80-'A')
		gtZ := w + ones*(0x80-'Z'-1)
		if geA&^gtZ&highs != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + ('a' - 'A')
	}
	return b
}
