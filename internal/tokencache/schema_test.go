package tokencache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
)

const fixtureClient = "11111111-aaaa-4000-8000-000000000001"

func loadFixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/msal_cache.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportMSALFixture(t *testing.T) {
	t.Parallel()
	c := New()
	if err := c.Import(loadFixture(t)); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1795000100, 0)
	app := Key{Environment: "login.windows.net", ClientID: fixtureClient, Tenant: "contoso.onmicrosoft.com"}
	if got, st := c.Lookup(&app, []string{"https://graph.microsoft.com/.default"}, now); st != Hit || got.Secret != "app-access-token" {
		t.Errorf("app token: %v %v", got, st)
	}
	user := Key{Environment: "login.windows.net", ClientID: fixtureClient, Tenant: "utid1", Partition: "uid1.utid1"}
	if got, st := c.Lookup(&user, []string{"user.read"}, now); st != Hit || got.Secret != "user-access-token" {
		t.Errorf("user token (numeric times, written under the alias login.microsoftonline.com): %v %v", got, st)
	}
	if rt, ok := c.LookupRefreshToken(RefreshKey{Environment: "login.windows.net", ClientID: fixtureClient, Partition: "uid1.utid1"}); !ok || rt.Secret != "user-refresh-token" {
		t.Errorf("refresh token: %v %v", rt, ok)
	}
	if rt, ok := c.LookupRefreshToken(RefreshKey{Environment: "login.windows.net", FamilyID: "1", Partition: "uid2.utid1"}); !ok || rt.IssuedTo != "22222222-bbbb-4000-8000-000000000002" {
		t.Errorf("family refresh token: %v %v", rt, ok)
	}
	if _, ok := c.LookupIDToken(IDKey{HomeAccountID: "uid1.utid1", Environment: "login.windows.net", ClientID: fixtureClient, Realm: "utid1"}); !ok {
		t.Error("id token not found")
	}
	if accts := c.Accounts("login.windows.net"); len(accts) != 1 || accts[0].Username != "ada@contoso.example" || accts[0].LocalAccountID != "uid1" {
		t.Errorf("accounts %+v", accts)
	}
}

// TestRoundTripPreservesUnknown: what this package does not know (fields,
// sections) comes back out exactly, and entries it wrote read back equal.
func TestRoundTripPreservesUnknown(t *testing.T) {
	t.Parallel()
	in := loadFixture(t)
	c := New()
	if err := c.Import(in); err != nil {
		t.Fatal(err)
	}
	out, err := c.Export()
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	json.Unmarshal(in, &a)
	json.Unmarshal(out, &b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip changed the document:\nin  %s\nout %s", in, out)
	}

	// Entries of every kind this package writes survive Export/Import.
	now := time.Unix(1795000000, 0)
	ctx := context.Background()
	pop := AccessToken{Key: Key{Environment: "login.windows.net", ClientID: "c", Tenant: "t", TokenType: "mtls_pop", KeyID: "x5t"},
		Scopes: []string{"s/.default"}, Secret: "pop", CachedAt: now, ExpiresOn: now.Add(time.Hour)}
	claimed := AccessToken{Key: Key{Environment: "login.windows.net", ClientID: "c", Tenant: "t", Ext: "client_claims:abc"},
		Scopes: []string{"s/.default"}, Secret: "claimed", CachedAt: now, ExpiresOn: now.Add(time.Hour), RefreshOn: now.Add(30 * time.Minute)}
	obo := AccessToken{Key: Key{Environment: "login.windows.net", ClientID: "c", Tenant: "t", Partition: "assertion-hash"}, HomeAccountID: "u.t",
		Scopes: []string{"api/read"}, Secret: "obo", CachedAt: now, ExpiresOn: now.Add(time.Hour)}
	for _, at := range []AccessToken{pop, claimed, obo} {
		if err := c.Save(ctx, Entries{AccessToken: &at}, now); err != nil {
			t.Fatal(err)
		}
	}
	out, _ = c.Export()
	// The extended key form: the claims hash in the entry and in its key.
	if !bytes.Contains(out, []byte(`"ext_cache_key":"client_claims:abc"`)) || !bytes.Contains(out, []byte(`s/.default-client_claims:abc"`)) {
		t.Errorf("client-claims token not in the extended key form:\n%s", out)
	}
	// App tokens have a null home_account_id, which MSAL Python needs to
	// find them; the OBO token keeps its user's. (The fixture's app token,
	// as loaded and not rewritten, keeps its "".)
	if !bytes.Contains(out, []byte(`s/.default-mtls_pop":{"home_account_id":null,`)) || !bytes.Contains(out, []byte(`s/.default-client_claims:abc":{"home_account_id":null,`)) ||
		!bytes.Contains(out, []byte(`api/read":{"home_account_id":"u.t",`)) {
		t.Errorf("home_account_id not null for app tokens, or lost for OBO:\n%s", out)
	}
	if !bytes.Contains(out, []byte(`"token_type":"mtls_pop"`)) || !bytes.Contains(out, []byte(`"keyid":"x5t"`)) || !bytes.Contains(out, []byte(`"user_assertion_hash":"assertion-hash"`)) {
		t.Errorf("PoP or OBO fields missing:\n%s", out)
	}
	d := New()
	if err := d.Import(out); err != nil {
		t.Fatal(err)
	}
	for _, at := range []AccessToken{pop, claimed, obo} {
		got, st := d.Lookup(&at.Key, at.Scopes, now)
		if st != Hit || got.Secret != at.Secret || got.TokenType != at.TokenType || !got.RefreshOn.Equal(at.RefreshOn) {
			t.Errorf("%s: %v %v", at.Secret, got, st)
		}
	}
	// A bearer request never finds the PoP or the claims token.
	if _, st := d.Lookup(&Key{Environment: "login.windows.net", ClientID: "c", Tenant: "t"}, []string{"s/.default"}, now); st != Miss {
		t.Error("a bearer lookup found a PoP or client-claims token")
	}
}

func TestImportRefusesInvalidData(t *testing.T) {
	t.Parallel()
	valid := loadFixture(t)
	for name, data := range map[string][]byte{
		"truncated":         valid[:len(valid)/2],
		"not json":          []byte("\x00\x01garbage"),
		"array root":        []byte(`[]`),
		"null":              []byte(`null`),
		"section not map":   []byte(`{"AccessToken":[1,2]}`),
		"entry not object":  []byte(`{"RefreshToken":{"k":"secret-rt-value"}}`),
		"string root":       []byte(`"x"`),
		"trailing garbage":  append(append([]byte{}, valid...), '}'),
		"section is string": []byte(`{"Account":"x"}`),
	} {
		t.Run(name, func(t *testing.T) {
			c := New()
			c.Import(valid)
			before, _ := c.Export()
			err := c.Import(data)
			if entra.ErrorCode(err) != entra.CodeInvalidCacheData {
				t.Fatalf("err = %v, want %s", err, entra.CodeInvalidCacheData)
			}
			if bytes.Contains([]byte(err.Error()), []byte("secret-rt-value")) {
				t.Error("the error shows cache contents")
			}
			after, _ := c.Export()
			if !bytes.Equal(before, after) {
				t.Error("a refused import changed the cache")
			}
		})
	}
}

func TestSharedStorageLosesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &entratest.Storage{}
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		c, err := Open(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				at := token(Key{Environment: "e", ClientID: "c", Tenant: fmt.Sprintf("t%d-%d", w, i)}, []string{"s"}, "a", time.Hour)
				if err := c.Save(ctx, Entries{AccessToken: &at}, t0); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	c, err := Open(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != writers*each {
		t.Fatalf("storage holds %d tokens, want %d", c.Len(), writers*each)
	}
}

func TestCorruptStorageIsNeverOverwritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &entratest.Storage{}
	c, err := Open(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := []byte(`{"AccessToken": {"k": {"secret": "x"`)
	s.Update(ctx, "", func([]byte) ([]byte, error) { return bytes.Clone(corrupt), nil })
	at := token(Key{Environment: "e", ClientID: "c", Tenant: "t"}, []string{"s"}, "fresh", time.Hour)
	err = c.Save(ctx, Entries{AccessToken: &at}, t0)
	if entra.ErrorCode(err) != entra.CodeInvalidCacheData {
		t.Fatalf("err = %v", err)
	}
	if stored, _ := s.Load(ctx, ""); !bytes.Equal(stored, corrupt) {
		t.Error("the corrupt document was overwritten")
	}
	if got, st := c.Lookup(&at.Key, at.Scopes, t0); st != Hit || got.Secret != "fresh" {
		t.Error("the token was lost from memory")
	}
	if _, err := Open(ctx, s); entra.ErrorCode(err) != entra.CodeInvalidCacheData {
		t.Errorf("Open on corrupt storage: %v", err)
	}
	var e *entra.Error
	if !errors.As(err, &e) {
		t.Error("not an *entra.Error")
	}
}

func TestRemoveAccount(t *testing.T) {
	t.Parallel()
	c := New()
	if err := c.Import(loadFixture(t)); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveAccount(context.Background(), "login.windows.net", fixtureClient, "uid1.utid1"); err != nil {
		t.Fatal(err)
	}
	if len(c.Accounts("login.windows.net")) != 0 {
		t.Error("account kept")
	}
	if _, ok := c.LookupRefreshToken(RefreshKey{Environment: "login.windows.net", ClientID: fixtureClient, Partition: "uid1.utid1"}); ok {
		t.Error("refresh token kept")
	}
	out, _ := c.Export()
	if bytes.Contains(out, []byte("user-access-token")) || bytes.Contains(out, []byte("user-refresh-token")) || !bytes.Contains(out, []byte("app-access-token")) {
		t.Errorf("export after removal:\n%s", out)
	}
}

func FuzzImport(f *testing.F) {
	b, _ := os.ReadFile("testdata/msal_cache.json")
	f.Add(b)
	f.Add([]byte(`{"AccessToken":{"k":{"credential_type":"AccessToken","secret":"s","client_id":"c","expires_on":"x"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := New()
		if c.Import(data) != nil {
			return
		}
		out, err := c.Export()
		if err != nil {
			t.Fatal(err)
		}
		d := New()
		if err := d.Import(out); err != nil {
			t.Fatalf("re-import of an export failed: %v", err)
		}
		again, _ := d.Export()
		if !bytes.Equal(out, again) {
			t.Fatalf("export is not stable:\n%s\n%s", out, again)
		}
		var streamed bytes.Buffer // as the file store is written, in small pieces
		if err := c.writeTo(&streamed); err != nil || !bytes.Equal(streamed.Bytes(), out) {
			t.Fatalf("the streamed document differs from the marshaled one (%v)", err)
		}
	})
}

// TestDuplicateEntriesFromAnotherLibrary: when another MSAL wrote a token
// under its own key form next to ours, the newer one is used and the
// other dropped, whatever the map order.
func TestDuplicateEntriesFromAnotherLibrary(t *testing.T) {
	t.Parallel()
	doc := `{
	  "RefreshToken": {
	    "u.t-login.microsoftonline.com-refreshtoken-c": {"home_account_id":"u.t","environment":"login.microsoftonline.com","credential_type":"RefreshToken","client_id":"c","secret":"ours-spent"},
	    "u.t-login.windows.net-refreshtoken-c--": {"home_account_id":"u.t","environment":"login.windows.net","credential_type":"RefreshToken","client_id":"c","secret":"theirs-rotated"}
	  },
	  "AccessToken": {
	    "a": {"home_account_id":"","environment":"login.microsoftonline.com","credential_type":"AccessToken","client_id":"c","secret":"older","realm":"t","target":"s","cached_at":"100","expires_on":"4102444800"},
	    "b": {"home_account_id":"","environment":"login.windows.net","credential_type":"AccessToken","client_id":"c","secret":"newer","realm":"t","target":"s","cached_at":"200","expires_on":"4102444800"}
	  }
	}`
	for range 20 { // map order varies
		c := New()
		if err := c.Import([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		rt, ok := c.LookupRefreshToken(RefreshKey{Environment: "login.windows.net", ClientID: "c", Partition: "u.t"})
		if !ok || rt.Secret != "theirs-rotated" {
			t.Fatalf("refresh token %q", rt.Secret)
		}
		at, st := c.Lookup(&Key{Environment: "login.windows.net", ClientID: "c", Tenant: "t"}, []string{"s"}, time.Unix(300, 0))
		if st != Hit || at.Secret != "newer" {
			t.Fatalf("access token %q", at.Secret)
		}
		out, _ := c.Export()
		if bytes.Contains(out, []byte("ours-spent")) || bytes.Contains(out, []byte(`"older"`)) {
			t.Fatalf("the stale duplicates were kept:\n%s", out)
		}
	}
}

// partitionedStorage keeps one document per partition, as a shared store
// would, and counts writes per partition.
type partitionedStorage struct {
	mu     sync.Mutex
	docs   map[string][]byte
	writes map[string]int
}

func (s *partitionedStorage) Partitioned() bool { return true }

func (s *partitionedStorage) Load(_ context.Context, p string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.docs[p]), nil
}

func (s *partitionedStorage) Update(_ context.Context, p string, fn func([]byte) ([]byte, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := fn(bytes.Clone(s.docs[p]))
	if err != nil || out == nil {
		return err
	}
	s.docs[p] = out
	s.writes[p]++
	return nil
}

// TestPartitionedStorage: with a store of one document per partition, a
// write touches its partition's document only, and the cache holds the
// union of what it loaded.
func TestPartitionedStorage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &partitionedStorage{docs: map[string][]byte{}, writes: map[string]int{}}
	c, err := Open(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	user := func(home string) Entries {
		at := AccessToken{Key: Key{Environment: "login.windows.net", ClientID: "c", Tenant: "t", Partition: home}, HomeAccountID: home,
			Scopes: []string{"s"}, Secret: "at-" + home, CachedAt: t0, ExpiresOn: t0.Add(time.Hour)}
		rt := RefreshToken{RefreshKey: RefreshKey{Environment: "login.windows.net", ClientID: "c", Partition: home}, HomeAccountID: home, Secret: "rt-" + home}
		acct := Account{AccountKey: AccountKey{HomeAccountID: home, Environment: "login.windows.net", Realm: "t"}, Username: home + "@x"}
		return Entries{AccessToken: &at, RefreshToken: &rt, Account: &acct}
	}
	app := token(Key{Environment: "login.windows.net", ClientID: "c", Tenant: "t"}, []string{"s"}, "app", time.Hour)
	for _, e := range []Entries{user("a.t"), user("b.t"), {AccessToken: &app}} {
		if err := c.Save(ctx, e, t0); err != nil {
			t.Fatal(err)
		}
	}
	appPartition := StoragePartition(&app.Key) // one per client and tenant
	if s.writes["a.t"] != 1 || s.writes["b.t"] != 1 || s.writes[appPartition] != 1 {
		t.Fatalf("writes per partition %v", s.writes)
	}
	if bytes.Contains(s.docs["a.t"], []byte("b.t")) || bytes.Contains(s.docs[appPartition], []byte("a.t")) {
		t.Fatalf("a partition's document holds another's entries:\n%s", s.docs["a.t"])
	}
	for _, home := range []string{"a.t", "b.t"} {
		if got, st := c.Lookup(&Key{Environment: "login.windows.net", ClientID: "c", Tenant: "t", Partition: home}, []string{"s"}, t0); st != Hit || got.Secret != "at-"+home {
			t.Errorf("user %s: %v", home, st)
		}
	}
	if len(c.Accounts("login.windows.net")) != 2 {
		t.Errorf("accounts %v", c.Accounts("login.windows.net"))
	}

	// Another process: it loads partitions as it needs them (the pipeline
	// does on a miss), keeping what it had.
	d, err := Open(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx, appPartition); err != nil {
		t.Fatal(err)
	}
	if _, st := d.Lookup(&app.Key, app.Scopes, t0); st != Hit {
		t.Error("the app partition was not loaded")
	}
	for _, home := range []string{"a.t", "b.t"} {
		if err := d.Reload(ctx, home); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := d.LookupRefreshToken(RefreshKey{Environment: "login.windows.net", ClientID: "c", Partition: "a.t"}); !ok {
		t.Error("loading b.t dropped a.t")
	}
	if _, st := d.Lookup(&app.Key, app.Scopes, t0); st != Hit {
		t.Error("loading users dropped the app token")
	}
	// Removing a user rewrites that user's document only.
	if err := d.RemoveAccount(ctx, "login.windows.net", "c", "a.t"); err != nil {
		t.Fatal(err)
	}
	if s.writes["a.t"] != 2 || s.writes["b.t"] != 1 || bytes.Contains(s.docs["a.t"], []byte("rt-a.t")) {
		t.Fatalf("writes %v; a.t's document:\n%s", s.writes, s.docs["a.t"])
	}
	if _, ok := d.LookupRefreshToken(RefreshKey{Environment: "login.windows.net", ClientID: "c", Partition: "b.t"}); !ok {
		t.Error("removing a.t dropped b.t")
	}
}

// TestAccessTokensAreKeptOnce: an entry exactly as this package writes it
// leaves the document once indexed (its bytes are not kept twice) and is
// written back from the index; an entry with fields this package does not
// know stays as read until a new token replaces it.
func TestAccessTokensAreKeptOnce(t *testing.T) {
	t.Parallel()
	c := New()
	if err := c.Import(loadFixture(t)); err != nil {
		t.Fatal(err)
	}
	// Ours, written and read back: not in the document, still exported.
	mine := AccessToken{Key: Key{Environment: "login.windows.net", ClientID: fixtureClient, Tenant: "fabrikam.onmicrosoft.com"},
		Scopes: []string{"api://x/.default"}, Secret: "mine", CachedAt: time.Unix(1795000000, 0), ExpiresOn: time.Unix(4102444800, 0)}
	if err := c.Save(context.Background(), Entries{AccessToken: &mine}, time.Unix(1795000000, 0)); err != nil {
		t.Fatal(err)
	}
	out, err := c.Export()
	if err != nil {
		t.Fatal(err)
	}
	reread := New()
	if err := reread.Import(out); err != nil {
		t.Fatal(err)
	}
	// The fixture's two entries are not as this package writes them (an
	// unknown field; numeric times): they stay as read. Ours does not.
	held := reread.doc.sections[sectionAccessToken]
	if len(held) != 2 {
		t.Fatalf("the document holds %d access tokens as read, want the fixture's 2", len(held))
	}
	for _, raw := range held {
		if bytes.Contains(raw, []byte(`"mine"`)) {
			t.Fatalf("our own entry is kept twice: %s", raw)
		}
	}
	if got, st := reread.Lookup(&mine.Key, mine.Scopes, time.Unix(1795000100, 0)); st != Hit || got.Secret != "mine" {
		t.Fatalf("our token after a round trip: %v %v", got, st)
	}

	// A new token for the key of the entry with an unknown field replaces
	// that entry: one entry for the key, the new one.
	app := Key{Environment: "login.windows.net", ClientID: fixtureClient, Tenant: "contoso.onmicrosoft.com"}
	fresh := AccessToken{Key: app, Scopes: []string{"https://graph.microsoft.com/.default"}, Secret: "fresh",
		CachedAt: time.Unix(1795000200, 0), ExpiresOn: time.Unix(4102444800, 0)}
	if err := reread.Save(context.Background(), Entries{AccessToken: &fresh}, time.Unix(1795000200, 0)); err != nil {
		t.Fatal(err)
	}
	out, err = reread.Export()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]int{}
	for _, e := range doc[sectionAccessToken] {
		secrets[e["secret"].(string)]++
		if e["secret"] == "fresh" && e["future_field_from_msal_net"] != nil {
			t.Error("the new token carries the old entry's unknown field")
		}
	}
	if secrets["app-access-token"] != 0 || secrets["fresh"] != 1 || secrets["mine"] != 1 {
		t.Fatalf("exported access tokens by secret: %v", secrets)
	}
}

// expiringStorage is a partitionedStorage that records when each
// partition's document may be dropped.
type expiringStorage struct {
	partitionedStorage
	expires map[string]time.Time
}

func (s *expiringStorage) UpdateExpiring(ctx context.Context, partition string, fn func([]byte) ([]byte, time.Time, error)) error {
	return s.Update(ctx, partition, func(stored []byte) ([]byte, error) {
		next, expires, err := fn(stored)
		if err == nil {
			s.expires[partition] = expires // under s.mu, which Update holds
		}
		return next, err
	})
}

// TestDocumentsSayWhenTheyExpire: an app partition expires with its
// latest access token; a user's, which holds a refresh token, lives as
// long as refresh tokens do.
func TestDocumentsSayWhenTheyExpire(t *testing.T) {
	t.Parallel()
	s := &expiringStorage{partitionedStorage: partitionedStorage{docs: map[string][]byte{}, writes: map[string]int{}}, expires: map[string]time.Time{}}
	c := Backed(s)
	ctx := context.Background()
	now := time.Now()
	app := Key{Environment: "login.windows.net", ClientID: "c", Tenant: "t"}
	for _, life := range []time.Duration{time.Hour, 2 * time.Hour} {
		at := AccessToken{Key: app, Scopes: []string{"s" + life.String()}, Secret: "at", CachedAt: now, ExpiresOn: now.Add(life)}
		if err := c.Save(ctx, Entries{AccessToken: &at}, now); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.expires[StoragePartition(&app)]; !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("the app partition expires at %v, want its latest token's expiry %v", got, now.Add(2*time.Hour))
	}
	rt := RefreshToken{RefreshKey: RefreshKey{Environment: "login.windows.net", ClientID: "c", Partition: "u.t"}, HomeAccountID: "u.t", Secret: "rt"}
	meta := AppMetadata{AppKey: AppKey{Environment: "login.windows.net", ClientID: "c"}, FamilyID: "1"}
	if err := c.Save(ctx, Entries{RefreshToken: &rt, AppMetadata: &meta}, now); err != nil {
		t.Fatal(err)
	}
	if got := s.expires["u.t"]; got.Before(now.Add(89 * 24 * time.Hour)) {
		t.Errorf("the user's partition expires at %v, want about 90 days on", got)
	}
	// Signed out: the application metadata left keeps nothing alive.
	if err := c.RemoveAccount(ctx, "login.windows.net", "c", "u.t"); err != nil {
		t.Fatal(err)
	}
	if got := s.expires["u.t"]; got.After(time.Now()) {
		t.Errorf("a signed-out user's partition expires at %v, want now", got)
	}
}

// TestPartitionedCacheSweepsOtherPartitions: with a partitioned store, a
// write sweeps the expired tokens of partitions it did not load, so the
// tokens of tenants nobody asks for again do not pile up in memory.
func TestPartitionedCacheSweepsOtherPartitions(t *testing.T) {
	t.Parallel()
	c := Backed(&partitionedStorage{docs: map[string][]byte{}, writes: map[string]int{}})
	ctx := context.Background()
	now := time.Now()
	save := func(tenant string, at time.Time, life time.Duration) {
		t.Helper()
		tok := AccessToken{Key: Key{Environment: "login.windows.net", ClientID: "c", Tenant: tenant}, Scopes: []string{"s"},
			Secret: "at-" + tenant, CachedAt: at, ExpiresOn: at.Add(life)}
		if err := c.Save(ctx, Entries{AccessToken: &tok}, at); err != nil {
			t.Fatal(err)
		}
	}
	save("short", now, time.Minute)
	save("long", now, 2*time.Hour)
	if c.Len() != 2 {
		t.Fatalf("%d tokens cached, want 2", c.Len())
	}
	save("later", now.Add(time.Hour), 2*time.Hour) // past the sweep interval and "short"'s expiry
	if c.Len() != 2 {
		t.Fatalf("%d tokens cached after the sweep, want 2 (short gone)", c.Len())
	}
	if _, st := c.Lookup(&Key{Environment: "login.windows.net", ClientID: "c", Tenant: "long"}, []string{"s"}, now.Add(time.Hour)); st != Hit {
		t.Fatalf("an unexpired token of another partition was swept: %v", st)
	}
}
