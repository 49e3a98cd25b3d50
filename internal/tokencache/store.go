package tokencache

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/internal/cloud"
)

// index builds the in-memory maps from c.doc. Entries it cannot read stay
// in the document, untouched; of two entries for one key, one is kept and
// the other dropped from the document. An access token the document
// would hold exactly as this package writes it leaves the document: it is
// written from the index, so its bytes are not kept twice.
func (c *Cache) index() {
	for k, raw := range c.doc.sections[sectionAccessToken] {
		var e atEntry
		if k == "" || json.Unmarshal(raw, &e) != nil {
			// No MSAL writes the empty key, which marks an indexed token
			// as not held in the document: such an entry is kept as is.
			continue
		}
		if t, ok := e.token(); ok {
			ak := atKey{Key: t.Key, scopes: c.scopeHash(t.Scopes)}
			if cur, dup := c.access.Load().Get(&ak); dup && nanos(t.CachedAt) <= cur.state.cachedAt {
				c.doc.remove(sectionAccessToken, k) // keep the more recently cached one
				continue
			}
			if writtenAs(t, k, raw) {
				c.doc.remove(sectionAccessToken, k)
				k = ""
			}
			c.putAccessToken(t, k)
		}
	}
	for k, raw := range c.doc.sections[sectionRefreshToken] {
		var e rtEntry
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		if t, ok := e.token(); ok {
			if _, dup := c.refresh[t.RefreshKey]; dup {
				// Every write of ours leaves one entry per token, so a second
				// one was written by another library since: it is the newer.
				if own, _ := refreshTokenEntry(t); own == k {
					c.doc.remove(sectionRefreshToken, k)
					continue
				}
			}
			c.putRefreshToken(t, k)
		}
	}
	for k, raw := range c.doc.sections[sectionIDToken] {
		var e idEntry
		if json.Unmarshal(raw, &e) == nil {
			if t, ok := e.token(); ok {
				c.ids[t.IDKey] = docEntry[IDToken]{t, k}
			}
		}
	}
	for k, raw := range c.doc.sections[sectionAccount] {
		var e accountEntry
		if json.Unmarshal(raw, &e) == nil {
			if a, ok := e.account(); ok {
				c.putAccount(a, k)
			}
		}
	}
	for k, raw := range c.doc.sections[sectionAppMetadata] {
		var e appEntry
		if json.Unmarshal(raw, &e) == nil && e.ClientID != "" {
			m := AppMetadata{AppKey: AppKey{Environment: cloud.CacheEnvironment(e.Environment), ClientID: e.ClientID}, FamilyID: e.FamilyID}
			c.apps[m.AppKey] = docEntry[AppMetadata]{m, k}
		}
	}
}

func (c *Cache) putRefreshToken(t RefreshToken, docKey string) {
	if old, ok := c.refresh[t.RefreshKey]; ok && old.docKey != docKey {
		c.doc.remove(sectionRefreshToken, old.docKey)
	}
	c.refresh[t.RefreshKey] = refreshSlot{t, docKey}
}

// apply writes e into c's document and maps. c.mu must be held.
func (c *Cache) apply(e Entries, now time.Time) {
	if t := e.AccessToken; t != nil {
		k, _ := accessTokenEntry(*t)
		c.doc.remove(sectionAccessToken, k) // an entry of another library under the key it is written with
		c.putAccessToken(*t, "")
		c.maybeSweep(now)
	}
	if t := e.RefreshToken; t != nil {
		k, entry := refreshTokenEntry(*t)
		c.doc.set(sectionRefreshToken, k, entry)
		c.putRefreshToken(*t, k)
	}
	if t := e.IDToken; t != nil {
		k, entry := idTokenEntry(*t)
		c.doc.set(sectionIDToken, k, entry)
		c.ids[t.IDKey] = docEntry[IDToken]{*t, k}
	}
	if a := e.Account; a != nil {
		k, entry := accountEntryOf(*a)
		c.doc.set(sectionAccount, k, entry)
		c.putAccount(*a, k)
	}
	if m := e.AppMetadata; m != nil {
		k, entry := appEntryOf(*m)
		c.doc.set(sectionAppMetadata, k, entry)
		c.apps[m.AppKey] = docEntry[AppMetadata]{*m, k}
	}
}

// Backed returns a cache that persists to s; nil s keeps it in memory
// only. Nothing is read from s until the first Reload.
func Backed(s cache.Storage) *Cache {
	c := New()
	if s != nil {
		c.storage = s
		if p, ok := s.(cache.PartitionedStorage); ok {
			c.partitioned = p.Partitioned()
		}
	}
	return c
}

// Open returns a cache backed by s and loaded with what s holds. Every
// write goes to s under its lock; a cache miss can call Reload to see what
// other processes stored meanwhile.
func Open(ctx context.Context, s cache.Storage) (*Cache, error) {
	c := New()
	c.storage = s
	if p, ok := s.(cache.PartitionedStorage); ok {
		c.partitioned = p.Partitioned()
	}
	if err := c.Reload(ctx, ""); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload replaces the cached entries with those in storage (the document
// holding partition). Without storage it does nothing. On error the cache
// is unchanged.
func (c *Cache) Reload(ctx context.Context, partition string) error {
	if c.storage == nil {
		return nil
	}
	var data []byte
	var err error
	version, versioned := "", false
	if vs, ok := c.storage.(cache.VersionedStorage); ok && !c.partitioned {
		c.mu.RLock()
		since := c.version
		c.mu.RUnlock()
		if data, version, err = vs.LoadIfChanged(ctx, partition, since); err == nil && version == since {
			return nil // what this cache holds is what is stored
		}
		versioned = true
	} else {
		data, err = c.storage.Load(ctx, partition)
	}
	if err != nil {
		return err
	}
	next, err := c.loaded(data)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.adopt(partition, next)
	if versioned {
		c.version = version
	}
	return nil
}

// loaded is a cache (sharing c's seed, so its keys are c's) holding a
// stored document.
func (c *Cache) loaded(stored []byte) (*Cache, error) {
	doc, err := parseDocument(stored)
	if err != nil {
		return nil, err
	}
	next := &Cache{seed: c.seed}
	next.reset(doc)
	return next, nil
}

// adopt makes what storage holds for partition, loaded into next, what the
// cache holds: the whole cache for a store of one document, the partition
// alone for a partitioned store. c.mu must be held.
func (c *Cache) adopt(partition string, next *Cache) {
	if !c.partitioned {
		c.doc, c.refresh, c.ids, c.accounts, c.apps = next.doc, next.refresh, next.ids, next.accounts, next.apps
		c.accountsGen.Add(1)
		c.access.Store(next.access.Load())
		return
	}
	c.dropPartition(partition)
	for name, entries := range next.doc.sections {
		for k, raw := range entries {
			c.doc.sections[name][k] = raw
		}
	}
	for k, raw := range next.doc.other {
		c.doc.other[k] = raw
	}
	for ak, slot := range next.access.Load().All() {
		c.putSlot(ak, slot) // next shares c's seed, so its keys are c's
	}
	for _, rt := range next.refresh {
		c.putRefreshToken(rt.value, rt.docKey)
	}
	for k, id := range next.ids {
		c.ids[k] = id
	}
	for _, realms := range next.accounts {
		for _, a := range realms {
			c.putAccount(a.value, a.docKey)
		}
	}
	for k, m := range next.apps {
		c.apps[k] = m
	}
}

// dropPartition forgets the entries of one partition (app metadata, which
// belongs to none, stays), so that what another process removed is gone
// here too. An app partition is left alone: it holds access tokens only,
// which nobody removes but on expiry, which every process sees for
// itself; that keeps a write of one tenant's app tokens from scanning
// every tenant's. c.mu must be held.
func (c *Cache) dropPartition(partition string) {
	if strings.HasPrefix(partition, appPartitionPrefix) {
		return
	}
	access := c.access.Load()
	for k, slot := range access.All() {
		if StoragePartition(&k.Key) == partition {
			access.Delete(k, slot)
			c.doc.remove(sectionAccessToken, slot.state.docKey)
		}
	}
	for k, rt := range c.refresh {
		if k.Partition == partition {
			delete(c.refresh, k)
			c.doc.remove(sectionRefreshToken, rt.docKey)
		}
	}
	for k, id := range c.ids {
		if k.HomeAccountID == partition {
			delete(c.ids, k)
			c.doc.remove(sectionIDToken, id.docKey)
		}
	}
	for k, realms := range c.accounts {
		if k.home == partition {
			for _, a := range realms {
				c.doc.remove(sectionAccount, a.docKey)
			}
			delete(c.accounts, k)
			c.accountsGen.Add(1)
		}
	}
}

// Save stores the entries of one token response. With storage, they are
// written to what the storage holds now, under its lock, and the cache
// then mirrors it. If storage fails (say the stored document is corrupt:
// it is never overwritten), the entries are still kept in memory and the
// error is returned.
func (c *Cache) Save(ctx context.Context, e Entries, now time.Time) error {
	err := c.update(ctx, partitionOf(e), func(x *Cache) { x.apply(e, now) })
	if c.partitioned {
		// apply swept the partition it loaded; the other partitions'
		// expired tokens, of tenants nobody asks for again, go here.
		c.mu.Lock()
		c.maybeSweep(now)
		c.mu.Unlock()
	}
	return err
}

// update runs change on the cache, through storage when there is one. The
// storage round trip works on a copy, so lookups are not held up by it.
func (c *Cache) update(ctx context.Context, partition string, change func(*Cache)) error {
	if c.storage == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		change(c)
		return nil
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if vs, ok := c.storage.(cache.VersionedStorage); ok && !c.partitioned {
		return c.updateVersioned(ctx, vs, partition, change)
	}
	var next *Cache
	write := func(stored []byte) ([]byte, time.Time, error) {
		var err error
		if next, err = c.loaded(stored); err != nil {
			return nil, time.Time{}, err
		}
		change(next)
		return next.marshal(), next.expires(), nil
	}
	var err error
	if es, ok := c.storage.(cache.ExpiringStorage); ok {
		err = es.UpdateExpiring(ctx, partition, write)
	} else {
		err = c.storage.Update(ctx, partition, func(stored []byte) ([]byte, error) {
			data, _, err := write(stored)
			return data, err
		})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		change(c)
		return err
	}
	c.adopt(partition, next)
	return nil
}

// updateVersioned runs change through a store of one document that tells
// whether it changed: if nobody wrote it since this cache last read or
// wrote it, the cache is changed and written out as it is, without reading
// and parsing the document. c.writeMu must be held.
func (c *Cache) updateVersioned(ctx context.Context, vs cache.VersionedStorage, partition string, change func(*Cache)) error {
	c.mu.RLock()
	since := c.version
	c.mu.RUnlock()
	var next *Cache
	applied := false
	version, err := vs.UpdateIfChanged(ctx, partition, since, func(stored []byte, changed bool, w io.Writer) error {
		if changed {
			var err error
			if next, err = c.loaded(stored); err != nil {
				return err
			}
			change(next)
			return next.writeTo(w)
		}
		c.mu.Lock()
		change(c)
		applied = true
		c.mu.Unlock()
		// Written under the read lock: readers go on meanwhile, and other
		// writers wait on c.writeMu and the store's lock anyway.
		c.mu.RLock()
		defer c.mu.RUnlock()
		return c.writeTo(w)
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
		if !applied {
			change(c) // kept in memory; the next write stores it
		}
		return err
	case next != nil:
		c.adopt(partition, next)
	}
	c.version = version
	return nil
}

func partitionOf(e Entries) string {
	switch {
	case e.AccessToken != nil:
		return StoragePartition(&e.AccessToken.Key)
	case e.RefreshToken != nil:
		return e.RefreshToken.Partition
	case e.IDToken != nil:
		return e.IDToken.HomeAccountID
	case e.Account != nil:
		return e.Account.HomeAccountID
	}
	return ""
}

// RemoveRefreshToken deletes the refresh token for k if it still holds
// secret, so a token rotated by a concurrent caller is kept.
func (c *Cache) RemoveRefreshToken(ctx context.Context, k RefreshKey, secret string) error {
	return c.update(ctx, k.Partition, func(c *Cache) {
		if rt, ok := c.refresh[k]; ok && rt.value.Secret == secret {
			delete(c.refresh, k)
			c.doc.remove(sectionRefreshToken, rt.docKey)
		}
	})
}

// RemoveAccount deletes the accounts of homeAccountID in environment and
// every token of theirs that clientID holds (a family refresh token too).
func (c *Cache) RemoveAccount(ctx context.Context, environment, clientID, homeAccountID string) error {
	return c.update(ctx, homeAccountID, func(c *Cache) {
		hk := homeKey{homeAccountID, environment}
		for _, a := range c.accounts[hk] {
			c.doc.remove(sectionAccount, a.docKey)
		}
		delete(c.accounts, hk)
		c.accountsGen.Add(1)
		for k, t := range c.ids {
			if k.HomeAccountID == homeAccountID && k.Environment == environment && k.ClientID == clientID {
				delete(c.ids, k)
				c.doc.remove(sectionIDToken, t.docKey)
			}
		}
		for k, t := range c.refresh {
			if t.value.HomeAccountID == homeAccountID && k.Environment == environment && (k.ClientID == clientID || k.FamilyID != "") {
				delete(c.refresh, k)
				c.doc.remove(sectionRefreshToken, t.docKey)
			}
		}
		access := c.access.Load()
		for k, slot := range access.All() {
			if slot.state.home == homeAccountID && k.Environment == environment && k.ClientID == clientID {
				access.Delete(k, slot)
				c.doc.remove(sectionAccessToken, slot.state.docKey)
			}
		}
	})
}

// refreshTokenLife is how long a document holding refresh tokens is kept
// after its last write: the token service's inactivity limit for them.
const refreshTokenLife = 90 * 24 * time.Hour

// expires is when c's document may be dropped (see
// cache.ExpiringStorage): the latest expiry of its access tokens, or
// refreshTokenLife from now if it holds anything else (refresh tokens, ID
// tokens, accounts, entries of other libraries); now if it is empty.
// Application metadata alone keeps nothing: a client that lost it tries
// the family refresh token, so a signed-out user's partition goes.
// c.mu must be held (or c unshared).
func (c *Cache) expires() time.Time {
	if len(c.refresh) > 0 || len(c.ids) > 0 || len(c.accounts) > 0 || len(c.doc.other) > 0 || c.doc.held(sectionAppMetadata) {
		return time.Now().Add(refreshTokenLife)
	}
	latest := time.Now().UnixNano()
	for _, slot := range c.access.Load().All() {
		latest = max(latest, slot.expires)
	}
	return time.Unix(0, latest)
}
