package tokencache

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/internal/cloud"
	"github.com/entra-go/entra/internal/errs"
)

// The cross-MSAL cache schema: one JSON object whose sections map entry
// keys to entries. MSAL.NET, MSAL Python, MSAL Java and MSAL Go read and
// write it, so a cache file can be shared with them.
const (
	sectionAccessToken  = "AccessToken"
	sectionRefreshToken = "RefreshToken"
	sectionIDToken      = "IdToken"
	sectionAccount      = "Account"
	sectionAppMetadata  = "AppMetadata"
)

var knownSections = [...]string{sectionAccessToken, sectionRefreshToken, sectionIDToken, sectionAccount, sectionAppMetadata}

// document is a cache in schema form. Entries are kept as raw JSON, so
// fields and sections this package does not know survive a round trip.
type document struct {
	sections map[string]map[string]json.RawMessage
	// other holds the top-level members that are not known sections.
	other map[string]json.RawMessage
}

func newDocument() *document {
	d := &document{sections: map[string]map[string]json.RawMessage{}, other: map[string]json.RawMessage{}}
	for _, s := range knownSections {
		d.sections[s] = map[string]json.RawMessage{}
	}
	return d
}

// parseDocument reads a serialized cache. Empty input is an empty cache.
func parseDocument(data []byte) (*document, error) {
	d := newDocument()
	if len(bytes.TrimSpace(data)) == 0 {
		return d, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		return nil, errs.New(entra.CodeInvalidCacheData, "the cache data is not a JSON object (truncated or corrupt?)")
	}
	for name, raw := range top {
		section, known := d.sections[name]
		if !known {
			d.other[name] = raw
			continue
		}
		var entries map[string]json.RawMessage
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, errs.New(entra.CodeInvalidCacheData, "the cache data's %s section is not an object of entries", name)
		}
		for k, v := range entries {
			if t := bytes.TrimSpace(v); len(t) == 0 || t[0] != '{' {
				return nil, errs.New(entra.CodeInvalidCacheData, "the cache data's %s section has an entry that is not an object", name)
			}
			section[k] = v
		}
	}
	return d, nil
}

func (d *document) marshal() ([]byte, error) {
	top := make(map[string]any, len(d.other)+len(knownSections))
	for k, v := range d.other {
		top[k] = v
	}
	for name, entries := range d.sections {
		top[name] = entries // MSALs write every section, empty ones too
	}
	return json.MarshalIndent(top, "", "  ")
}

func (d *document) set(section, key string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		panic("cache: marshaling an entry: " + err.Error()) // plain structs of strings cannot fail
	}
	d.sections[section][key] = raw
}

func (d *document) remove(section, key string) { delete(d.sections[section], key) }

// Entry forms. Times are Unix seconds in strings; numbers are read too.

type atEntry struct {
	HomeAccountID     string   `json:"home_account_id"`
	Environment       string   `json:"environment"`
	CredentialType    string   `json:"credential_type"`
	ClientID          string   `json:"client_id"`
	Secret            string   `json:"secret"`
	Realm             string   `json:"realm"`
	Target            string   `json:"target"`
	CachedAt          unixTime `json:"cached_at"`
	ExpiresOn         unixTime `json:"expires_on"`
	ExtendedExpiresOn unixTime `json:"extended_expires_on"`
	RefreshOn         unixTime `json:"refresh_on,omitzero"`
	TokenType         string   `json:"token_type,omitempty"`
	KeyID             string   `json:"keyid,omitempty"`
	UserAssertionHash string   `json:"user_assertion_hash,omitempty"`
	// PartitionKey is a caller's cache partition key (this project's
	// extension), in the entry key too.
	PartitionKey string `json:"partition_key,omitempty"`
	// ExtCacheKey is this project's extended key component (e.g. the hash
	// of client claims); MSALs that do not know it ignore the entry's field
	// but, as the entry key carries it too, never mistake it for another.
	ExtCacheKey string `json:"ext_cache_key,omitempty"`
}

type rtEntry struct {
	HomeAccountID     string `json:"home_account_id"`
	Environment       string `json:"environment"`
	CredentialType    string `json:"credential_type"`
	ClientID          string `json:"client_id"`
	Secret            string `json:"secret"`
	FamilyID          string `json:"family_id,omitempty"`
	Target            string `json:"target,omitempty"`
	UserAssertionHash string `json:"user_assertion_hash,omitempty"`
}

type idEntry struct {
	HomeAccountID  string `json:"home_account_id"`
	Environment    string `json:"environment"`
	CredentialType string `json:"credential_type"`
	ClientID       string `json:"client_id"`
	Secret         string `json:"secret"`
	Realm          string `json:"realm"`
}

type accountEntry struct {
	HomeAccountID  string `json:"home_account_id"`
	Environment    string `json:"environment"`
	Realm          string `json:"realm"`
	LocalAccountID string `json:"local_account_id"`
	Username       string `json:"username"`
	Name           string `json:"name,omitempty"`
	AuthorityType  string `json:"authority_type"`
	ClientInfo     string `json:"client_info,omitempty"`
}

type appEntry struct {
	ClientID    string `json:"client_id"`
	Environment string `json:"environment"`
	FamilyID    string `json:"family_id"`
}

// unixTime is written as a string of Unix seconds, as every MSAL does.
type unixTime struct{ time.Time }

func (u unixTime) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatInt(u.Unix(), 10)), nil
}

func (u *unixTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	u.Time = time.Unix(n, 0)
	return nil
}

func (u unixTime) IsZero() bool { return u.Time.IsZero() }

func keyOf(parts ...string) string { return strings.ToLower(strings.Join(parts, "-")) }

// writtenEnvironment is the environment entries are written with: the
// public cloud's login.microsoftonline.com, which MSAL Go and MSAL Python
// write (MSAL.NET reads every alias), so that an entry this package
// rewrites replaces theirs rather than sitting beside it. In memory every
// alias reads as the cloud's cache environment.
func writtenEnvironment(env string) string {
	if env == "login.windows.net" {
		return "login.microsoftonline.com"
	}
	return env
}

func accessTokenEntry(t AccessToken) (string, atEntry) {
	e := atEntry{
		HomeAccountID: t.HomeAccountID, Environment: writtenEnvironment(t.Environment), CredentialType: "AccessToken",
		ClientID: t.ClientID, Secret: t.Secret, Realm: t.Tenant, Target: t.Target,
		CachedAt: unixTime{t.CachedAt}, ExpiresOn: unixTime{t.ExpiresOn},
		ExtendedExpiresOn: unixTime{t.ExtendedExpiresOn}, RefreshOn: unixTime{t.RefreshOn},
		TokenType: "Bearer", KeyID: t.KeyID, ExtCacheKey: t.Ext,
	}
	if e.Target == "" {
		e.Target = strings.Join(t.Scopes, " ")
	}
	if e.ExtendedExpiresOn.IsZero() {
		e.ExtendedExpiresOn = e.ExpiresOn
	}
	if t.TokenType != "" {
		e.TokenType = t.TokenType
	}
	switch pk, isCaller := strings.CutPrefix(t.Partition, callerPartitionPrefix); {
	case isCaller:
		e.PartitionKey = pk
	case t.Partition != t.HomeAccountID:
		e.UserAssertionHash = t.Partition
	}
	key := keyOf(t.HomeAccountID, e.Environment, "accesstoken", t.ClientID, t.Tenant, e.Target)
	if t.TokenType != "" {
		key += "-" + strings.ToLower(t.TokenType) // bearer keys stay as every MSAL writes them
	}
	if t.Ext != "" {
		key += "-" + t.Ext
	}
	if e.PartitionKey != "" {
		key += "-partition-" + e.PartitionKey
	}
	return key, e
}

func (e atEntry) token() (AccessToken, bool) {
	if e.Secret == "" || e.ClientID == "" || e.ExpiresOn.IsZero() || !strings.EqualFold(e.CredentialType, "AccessToken") {
		return AccessToken{}, false
	}
	partition := e.HomeAccountID
	switch {
	case e.PartitionKey != "":
		partition = CallerPartition(e.PartitionKey)
	case e.UserAssertionHash != "":
		partition = e.UserAssertionHash
	}
	tokenType := ""
	if e.TokenType != "" && !strings.EqualFold(e.TokenType, "Bearer") {
		tokenType = e.TokenType
	}
	return AccessToken{
		Key: Key{
			Environment: cloud.CacheEnvironment(e.Environment), ClientID: e.ClientID, Tenant: strings.ToLower(e.Realm),
			Partition: partition, TokenType: tokenType, KeyID: e.KeyID, Ext: e.ExtCacheKey,
		},
		HomeAccountID: e.HomeAccountID, Target: e.Target, Scopes: resourceScopes(e.Target), Secret: e.Secret,
		CachedAt: e.CachedAt.Time, ExpiresOn: e.ExpiresOn.Time, ExtendedExpiresOn: e.ExtendedExpiresOn.Time,
		RefreshOn: e.RefreshOn.Time,
	}, true
}

// resourceScopes are the scopes of a target without the reserved OpenID
// scopes, which other MSALs keep in targets and callers never ask for.
func resourceScopes(target string) []string {
	scopes := strings.Fields(target)
	out := scopes[:0]
	for _, s := range scopes {
		switch strings.ToLower(s) {
		case "openid", "profile", "offline_access":
			continue
		}
		out = append(out, s)
	}
	return out
}

func refreshTokenEntry(t RefreshToken) (string, rtEntry) {
	e := rtEntry{
		HomeAccountID: t.HomeAccountID, Environment: writtenEnvironment(t.Environment), CredentialType: "RefreshToken",
		ClientID: t.IssuedTo, Secret: t.Secret, FamilyID: t.FamilyID, Target: t.Target,
	}
	if e.ClientID == "" {
		e.ClientID = t.ClientID
	}
	if t.Partition != t.HomeAccountID {
		e.UserAssertionHash = t.Partition
	}
	owner := t.ClientID
	if t.FamilyID != "" {
		owner = t.FamilyID
	}
	// MSAL Go's key form (no empty realm and target parts), so its
	// rotation replaces our entry rather than sitting beside it.
	key := keyOf(t.HomeAccountID, e.Environment, "refreshtoken", owner)
	if e.UserAssertionHash != "" {
		key += "-" + e.UserAssertionHash
	}
	return key, e
}

func (e rtEntry) token() (RefreshToken, bool) {
	if e.Secret == "" || e.ClientID == "" || !strings.EqualFold(e.CredentialType, "RefreshToken") {
		return RefreshToken{}, false
	}
	k := RefreshKey{Environment: cloud.CacheEnvironment(e.Environment), ClientID: e.ClientID, Partition: e.HomeAccountID}
	if e.UserAssertionHash != "" {
		k.Partition = e.UserAssertionHash
	}
	if e.FamilyID != "" {
		k.ClientID, k.FamilyID = "", e.FamilyID
	}
	return RefreshToken{RefreshKey: k, IssuedTo: e.ClientID, HomeAccountID: e.HomeAccountID, Target: e.Target, Secret: e.Secret}, true
}

func idTokenEntry(t IDToken) (string, idEntry) {
	env := writtenEnvironment(t.Environment)
	return keyOf(t.HomeAccountID, env, "idtoken", t.ClientID, t.Realm), idEntry{
		HomeAccountID: t.HomeAccountID, Environment: env, CredentialType: "IdToken",
		ClientID: t.ClientID, Secret: t.Secret, Realm: t.Realm,
	}
}

func (e idEntry) token() (IDToken, bool) {
	if e.Secret == "" || !strings.EqualFold(e.CredentialType, "IdToken") {
		return IDToken{}, false
	}
	return IDToken{IDKey: IDKey{HomeAccountID: e.HomeAccountID, Environment: cloud.CacheEnvironment(e.Environment),
		ClientID: e.ClientID, Realm: strings.ToLower(e.Realm)}, Secret: e.Secret}, true
}

func accountEntryOf(a Account) (string, accountEntry) {
	env := writtenEnvironment(a.Environment)
	return keyOf(a.HomeAccountID, env, a.Realm), accountEntry{
		HomeAccountID: a.HomeAccountID, Environment: env, Realm: a.Realm, LocalAccountID: a.LocalAccountID,
		Username: a.Username, Name: a.Name, AuthorityType: a.AuthorityType, ClientInfo: a.ClientInfo,
	}
}

func (e accountEntry) account() (Account, bool) {
	if e.HomeAccountID == "" || e.Environment == "" {
		return Account{}, false
	}
	return Account{
		AccountKey:     AccountKey{HomeAccountID: e.HomeAccountID, Environment: cloud.CacheEnvironment(e.Environment), Realm: strings.ToLower(e.Realm)},
		LocalAccountID: e.LocalAccountID, Username: e.Username, Name: e.Name, AuthorityType: e.AuthorityType, ClientInfo: e.ClientInfo,
	}, true
}

func appEntryOf(m AppMetadata) (string, appEntry) {
	env := writtenEnvironment(m.Environment)
	return keyOf("appmetadata", env, m.ClientID), appEntry{ClientID: m.ClientID, Environment: env, FamilyID: m.FamilyID}
}

// index builds the in-memory maps from c.doc. Entries it cannot read stay
// in the document, untouched; of two entries for one key, one is kept and
// the other dropped from the document.
func (c *Cache) index() {
	for k, raw := range c.doc.sections[sectionAccessToken] {
		var e atEntry
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		if t, ok := e.token(); ok {
			ak := atKey{Key: t.Key, scopes: c.scopeHash(t.Scopes)}
			if cur, dup := c.access[ak]; dup && !t.CachedAt.After(cur.state.token.CachedAt) {
				c.doc.remove(sectionAccessToken, k) // keep the more recently cached one
				continue
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
		k, entry := accessTokenEntry(*t)
		c.doc.set(sectionAccessToken, k, entry)
		c.putAccessToken(*t, k)
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
	data, err := c.storage.Load(ctx, partition)
	if err != nil {
		return err
	}
	doc, err := parseDocument(data)
	if err != nil {
		return err
	}
	next := &Cache{seed: c.seed}
	next.reset(doc)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.adopt(partition, next)
	return nil
}

// adopt makes what storage holds for partition, loaded into next, what the
// cache holds: the whole cache for a store of one document, the partition
// alone for a partitioned store. c.mu must be held.
func (c *Cache) adopt(partition string, next *Cache) {
	if !c.partitioned {
		c.doc, c.access, c.refresh, c.ids, c.accounts, c.apps = next.doc, next.access, next.refresh, next.ids, next.accounts, next.apps
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
	for _, slot := range next.access {
		c.putAccessToken(slot.state.token, slot.state.docKey)
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
// belongs to none, stays). c.mu must be held.
func (c *Cache) dropPartition(partition string) {
	for k, slot := range c.access {
		if slot.state.token.Partition == partition {
			delete(c.access, k)
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
		}
	}
}

// Save stores the entries of one token response. With storage, they are
// written to what the storage holds now, under its lock, and the cache
// then mirrors it. If storage fails (say the stored document is corrupt:
// it is never overwritten), the entries are still kept in memory and the
// error is returned.
func (c *Cache) Save(ctx context.Context, e Entries, now time.Time) error {
	return c.update(ctx, partitionOf(e), func(x *Cache) { x.apply(e, now) })
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
	var next *Cache
	err := c.storage.Update(ctx, partition, func(stored []byte) ([]byte, error) {
		doc, err := parseDocument(stored)
		if err != nil {
			return nil, err
		}
		next = &Cache{seed: c.seed}
		next.reset(doc)
		change(next)
		return next.doc.marshal()
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		change(c)
		return err
	}
	c.adopt(partition, next)
	return nil
}

func partitionOf(e Entries) string {
	switch {
	case e.AccessToken != nil:
		return e.AccessToken.Partition
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
		for k, slot := range c.access {
			if slot.state.token.HomeAccountID == homeAccountID && k.Environment == environment && k.ClientID == clientID {
				delete(c.access, k)
				c.doc.remove(sectionAccessToken, slot.state.docKey)
			}
		}
	})
}

// Accounts returns the accounts cached for environment.
func (c *Cache) Accounts(environment string) []Account {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []Account
	for k, realms := range c.accounts {
		if k.environment == environment {
			for _, a := range realms {
				out = append(out, a.value)
			}
		}
	}
	return out
}

// AccountsOf returns one user's accounts (one per tenant) in environment.
// It costs the same however many users are cached.
func (c *Cache) AccountsOf(environment, homeAccountID string) []Account {
	c.mu.RLock()
	defer c.mu.RUnlock()
	realms := c.accounts[homeKey{homeAccountID, environment}]
	out := make([]Account, 0, len(realms))
	for _, a := range realms {
		out = append(out, a.value)
	}
	return out
}

func (c *Cache) putAccount(a Account, docKey string) {
	hk := homeKey{a.HomeAccountID, a.Environment}
	realms := c.accounts[hk]
	if realms == nil {
		realms = map[string]docEntry[Account]{}
		c.accounts[hk] = realms
	}
	if old, ok := realms[a.Realm]; ok && old.docKey != docKey {
		c.doc.remove(sectionAccount, old.docKey)
	}
	realms[a.Realm] = docEntry[Account]{a, docKey}
}

// LookupIDToken returns the ID token for k, if any.
func (c *Cache) LookupIDToken(k IDKey) (IDToken, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.ids[k]
	return t.value, ok
}

// LookupAppMetadata returns what is known of an application, if anything.
func (c *Cache) LookupAppMetadata(k AppKey) (AppMetadata, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.apps[k]
	return m.value, ok
}

// Export serializes the whole cache in the cross-MSAL schema, with every
// entry and section it was loaded with, unknown ones included.
func (c *Cache) Export() ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.doc.marshal()
}

// Import replaces the cache's contents with a document in the cross-MSAL
// schema (written by Export, MSAL.NET, MSAL Python, MSAL Java or MSAL Go).
// Invalid data is refused with entra.CodeInvalidCacheData and the cache
// is left as it was. Import does not write to storage.
func (c *Cache) Import(data []byte) error {
	doc, err := parseDocument(data)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reset(doc)
	return nil
}

// Remove deletes the access token with the key and scopes, if cached.
func (c *Cache) Remove(ctx context.Context, k Key, scopes []string) error {
	ak := atKey{Key: k, scopes: c.scopeHash(scopes)}
	return c.update(ctx, k.Partition, func(c *Cache) {
		if slot, ok := c.access[ak]; ok {
			delete(c.access, ak)
			c.doc.remove(sectionAccessToken, slot.state.docKey)
		}
	})
}
