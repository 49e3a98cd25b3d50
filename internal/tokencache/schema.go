package tokencache

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/entra-go/entra"
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
			d.other[name] = compact(raw)
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
			section[k] = compact(v)
		}
	}
	return d, nil
}

// compact returns v, valid JSON, without white space: entries are kept in
// the form they are written, so a write appends them as they are.
func compact(v []byte) json.RawMessage {
	out := bytes.NewBuffer(make([]byte, 0, len(v)))
	if json.Compact(out, v) != nil {
		return v // cannot happen: v was decoded
	}
	return out.Bytes()
}

// marshal serializes the cache in compact JSON (see write) into one
// buffer, for stores that take a document whole (a partition's, usually
// small; the file streams through writeTo). c.mu must be held (or c
// unshared).
func (c *Cache) marshal() []byte {
	w := jsonWriter{buf: make([]byte, 0, 4096)}
	c.write(&w)
	return w.buf
}

// writeTo serializes the cache to out through a small buffer: a large
// document is never held whole. c.mu must be held (or c unshared).
func (c *Cache) writeTo(out io.Writer) error {
	w := jsonWriter{buf: make([]byte, 0, flushSize+flushSize/4), out: out}
	c.write(&w)
	return w.flush()
}

// write writes the document and the access tokens it does not hold,
// written from the index, with the members of each section sorted.
func (c *Cache) write(w *jsonWriter) {
	d := c.doc
	w.open('{')
	for _, k := range slices.Sorted(maps.Keys(d.other)) {
		w.member(k)
		w.raw(d.other[k])
	}
	for _, name := range knownSections { // MSALs write every section, empty ones too
		w.member(name)
		if name == sectionAccessToken {
			c.writeAccessTokens(w)
			continue
		}
		entries := d.sections[name]
		w.open('{')
		for _, k := range slices.Sorted(maps.Keys(entries)) { // a stable file: diffs show changes only
			w.member(k)
			w.raw(entries[k])
		}
		w.close('}')
	}
	w.close('}')
}

// atOut is an access token to write: an entry the document holds, or
// the index's entries[entry]. Small, as a sort moves it.
type atOut struct {
	key   string
	held  json.RawMessage
	entry int
}

// writeAccessTokens writes the AccessToken section, sorted by key: those
// the document holds and those written from the index, each appended
// straight to the output. c.mu must be held.
func (c *Cache) writeAccessTokens(w *jsonWriter) {
	held := c.doc.sections[sectionAccessToken]
	access := c.access.Load()
	out := make([]atOut, 0, len(held)+access.Len())
	entries := make([]atEntry, 0, access.Len())
	for k, raw := range held {
		out = append(out, atOut{key: k, held: raw})
	}
	for ak, slot := range access.All() {
		if slot.state.docKey == "" { // not held in the document
			k, e := accessTokenEntry(slot.accessToken(&ak))
			out = append(out, atOut{key: k, entry: len(entries)})
			entries = append(entries, e)
		}
	}
	// Under one key, the document's entry sorts before the index's, the
	// newer, which is the one written.
	slices.SortFunc(out, func(a, b atOut) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(len(b.held), len(a.held))
	})
	w.open('{')
	for i := range out {
		if i+1 < len(out) && out[i+1].key == out[i].key {
			continue
		}
		w.member(out[i].key)
		if out[i].held != nil {
			w.raw(out[i].held)
		} else {
			w.buf = entries[out[i].entry].appendJSON(w.buf)
			w.flushIfFull()
		}
	}
	w.close('}')
}

// jsonWriter appends JSON objects to buf, and when it writes to out,
// passes buf on whenever it holds flushSize bytes.
type jsonWriter struct {
	buf   []byte
	first bool // no member written yet in the current object
	out   io.Writer
	err   error // the first failure to write to out
}

// flushSize is how much a jsonWriter gathers before writing to out.
const flushSize = 32 << 10

func (w *jsonWriter) flushIfFull() {
	if w.out != nil && len(w.buf) >= flushSize {
		w.flush()
	}
}

func (w *jsonWriter) flush() error {
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.out.Write(w.buf)
	}
	w.buf = w.buf[:0]
	return w.err
}

func (w *jsonWriter) open(c byte) { w.buf, w.first = append(w.buf, c), true }

func (w *jsonWriter) close(c byte) { w.buf, w.first = append(w.buf, c), false }

// member writes a member's name; its value follows.
func (w *jsonWriter) member(name string) {
	if !w.first {
		w.buf = append(w.buf, ',')
	}
	w.first = false
	w.buf = append(appendString(w.buf, name), ':')
}

// raw writes a compact value: one read from a document, or marshaled.
func (w *jsonWriter) raw(v []byte) {
	w.buf = append(w.buf, v...)
	w.first = false
	w.flushIfFull()
}

// writtenAs reports whether raw, the entry under key k, is byte for byte
// (but for white space) what this package writes for t: then writing it
// from t loses nothing, not even the form of a field another library
// wrote.
func writtenAs(t AccessToken, k string, raw []byte) bool {
	own, e := accessTokenEntry(t)
	if own != k {
		return false
	}
	return bytes.Equal(raw, e.appendJSON(make([]byte, 0, len(raw)))) // raw is compact
}

func (d *document) set(section, key string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		panic("cache: marshaling an entry: " + err.Error()) // plain structs of strings cannot fail
	}
	d.sections[section][key] = raw
}

func (d *document) remove(section, key string) { delete(d.sections[section], key) }

// held reports whether the document holds entries as read (of another
// library, or that this package does not index), in sections but except.
func (d *document) held(except string) bool {
	for name, entries := range d.sections {
		if name != except && len(entries) > 0 {
			return true
		}
	}
	return false
}

// Entry forms. Times are Unix seconds in strings; numbers are read too.

// nullString is a string written as JSON null when empty. JSON null reads
// as "" (encoding/json leaves a string as it is for null).
type nullString string

func (s nullString) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return appendString(nil, string(s)), nil
}

type atEntry struct {
	// HomeAccountID is null for an app token: MSAL Python finds app
	// tokens only by a null home_account_id; MSAL Node and MSAL Go read
	// null and "" alike.
	HomeAccountID     nullString `json:"home_account_id"`
	Environment       string     `json:"environment"`
	CredentialType    string     `json:"credential_type"`
	ClientID          string     `json:"client_id"`
	Secret            string     `json:"secret"`
	Realm             string     `json:"realm"`
	Target            string     `json:"target"`
	CachedAt          unixTime   `json:"cached_at"`
	ExpiresOn         unixTime   `json:"expires_on"`
	ExtendedExpiresOn unixTime   `json:"extended_expires_on"`
	RefreshOn         unixTime   `json:"refresh_on,omitzero"`
	TokenType         string     `json:"token_type,omitempty"`
	KeyID             string     `json:"keyid,omitempty"`
	UserAssertionHash string     `json:"user_assertion_hash,omitempty"`
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
		HomeAccountID: nullString(t.HomeAccountID), Environment: writtenEnvironment(t.Environment), CredentialType: "AccessToken",
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
	partition := string(e.HomeAccountID)
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
		HomeAccountID: string(e.HomeAccountID), Target: e.Target, Scopes: resourceScopes(e.Target), Secret: e.Secret,
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
