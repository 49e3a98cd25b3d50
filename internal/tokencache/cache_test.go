package tokencache

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// store saves an access token in a cache without storage, which cannot fail.
func (c *Cache) store(at AccessToken, now time.Time) {
	if err := c.Save(context.Background(), Entries{AccessToken: &at}, now); err != nil {
		panic(err)
	}
}

func token(k Key, scopes []string, secret string, life time.Duration) AccessToken {
	return AccessToken{Key: k, Scopes: scopes, Secret: secret, CachedAt: t0, ExpiresOn: t0.Add(life)}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	app := Key{Environment: "login.windows.net", ClientID: "c1", Tenant: "t1"}
	graph := []string{"https://graph.microsoft.com/.default"}
	tests := []struct {
		name   string
		stored []AccessToken
		key    Key
		scopes []string
		now    time.Time
		want   Status
		secret string
	}{
		{name: "empty cache", key: app, scopes: graph, now: t0, want: Miss},
		{name: "hit", stored: []AccessToken{token(app, graph, "a", time.Hour)}, key: app, scopes: graph, now: t0, want: Hit, secret: "a"},
		{name: "scope case and order ignored",
			stored: []AccessToken{token(app, []string{"A", "b"}, "a", time.Hour)},
			key:    app, scopes: []string{"B", "a"}, now: t0, want: Hit, secret: "a"},
		{name: "subset of scopes is another token",
			stored: []AccessToken{token(app, []string{"a", "b"}, "a", time.Hour)},
			key:    app, scopes: []string{"a"}, now: t0, want: Miss},
		{name: "other tenant", stored: []AccessToken{token(app, graph, "a", time.Hour)},
			key: Key{Environment: "login.windows.net", ClientID: "c1", Tenant: "t2"}, scopes: graph, now: t0, want: Miss},
		{name: "other partition", stored: []AccessToken{token(app, graph, "a", time.Hour)},
			key: Key{Environment: "login.windows.net", ClientID: "c1", Tenant: "t1", Partition: "u"}, scopes: graph, now: t0, want: Miss},
		{name: "pop token never serves bearer", stored: []AccessToken{token(Key{Environment: "login.windows.net", ClientID: "c1", Tenant: "t1", TokenType: "mtls_pop", KeyID: "k"}, graph, "a", time.Hour)},
			key: app, scopes: graph, now: t0, want: Miss},
		{name: "claims key separates", stored: []AccessToken{token(Key{Environment: "login.windows.net", ClientID: "c1", Tenant: "t1", Ext: "h"}, graph, "a", time.Hour)},
			key: app, scopes: graph, now: t0, want: Miss},
		{name: "within five minutes of expiry", stored: []AccessToken{token(app, graph, "a", time.Hour)},
			key: app, scopes: graph, now: t0.Add(56 * time.Minute), want: Expired},
		{name: "just outside the buffer", stored: []AccessToken{token(app, graph, "a", time.Hour)},
			key: app, scopes: graph, now: t0.Add(54 * time.Minute), want: Hit, secret: "a"},
		{name: "expired", stored: []AccessToken{token(app, graph, "a", time.Hour)},
			key: app, scopes: graph, now: t0.Add(2 * time.Hour), want: Expired},
		{name: "replaced", stored: []AccessToken{token(app, graph, "a", time.Hour), token(app, graph, "b", time.Hour)},
			key: app, scopes: graph, now: t0, want: Hit, secret: "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			for _, at := range tt.stored {
				c.store(at, t0)
			}
			got, status := c.Lookup(&tt.key, tt.scopes, tt.now)
			if status != tt.want {
				t.Fatalf("status = %v, want %v", status, tt.want)
			}
			if got.Secret != tt.secret {
				t.Fatalf("secret = %q, want %q", got.Secret, tt.secret)
			}
		})
	}
}

func TestExpiredTokenIsEvictedOnLookup(t *testing.T) {
	t.Parallel()
	c := New()
	k := Key{ClientID: "c", Tenant: "t"}
	c.store(token(k, []string{"s"}, "a", time.Hour), t0)
	if _, st := c.Lookup(&k, []string{"s"}, t0.Add(2*time.Hour)); st != Expired {
		t.Fatal("expired token served")
	}
	if n := c.Len(); n != 0 {
		t.Fatalf("Len = %d after lookup of an expired token, want 0", n)
	}
}

func TestSweepDropsExpiredTokensOfOtherKeys(t *testing.T) {
	t.Parallel()
	c := New()
	for i := range 100 {
		c.store(token(Key{ClientID: "c", Tenant: fmt.Sprint(i)}, []string{"s"}, "a", time.Hour), t0)
	}
	later := t0.Add(2 * time.Hour)
	fresh := token(Key{ClientID: "c", Tenant: "fresh"}, []string{"s"}, "b", time.Hour)
	fresh.ExpiresOn = later.Add(time.Hour)
	c.store(fresh, later)
	if n := c.Len(); n != 1 {
		t.Fatalf("Len = %d after a store past the sweep interval, want 1", n)
	}
}

func TestProactiveRefreshIsHandedToOneCaller(t *testing.T) {
	t.Parallel()
	c := New()
	k := Key{ClientID: "c", Tenant: "t"}
	at := token(k, []string{"s"}, "a", time.Hour)
	at.RefreshOn = t0.Add(30 * time.Minute)
	c.store(at, t0)

	if _, st := c.Lookup(&k, []string{"s"}, t0.Add(29*time.Minute)); st != Hit {
		t.Fatalf("before refresh_on: %v, want Hit", st)
	}
	now := t0.Add(31 * time.Minute)
	var mu sync.Mutex
	counts := map[Status]int{}
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, st := c.Lookup(&k, []string{"s"}, now)
			if got.Secret != "a" {
				t.Errorf("served %q", got.Secret)
			}
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts[HitRefresh] != 1 || counts[Hit] != 63 {
		t.Fatalf("statuses %v, want exactly one HitRefresh and 63 Hit", counts)
	}
	// A failed refresh is retried after the retry interval, not on every hit.
	if _, st := c.Lookup(&k, []string{"s"}, now.Add(time.Second)); st != Hit {
		t.Fatalf("right after a refresh started: %v, want Hit", st)
	}
	if _, st := c.Lookup(&k, []string{"s"}, now.Add(refreshRetryInterval+time.Second)); st != HitRefresh {
		t.Fatalf("after the retry interval: %v, want HitRefresh", st)
	}
}

func TestRefreshTokens(t *testing.T) {
	t.Parallel()
	c := New()
	k := RefreshKey{Environment: "e", ClientID: "c", Partition: "p"}
	if _, ok := c.LookupRefreshToken(k); ok {
		t.Fatal("found a refresh token in an empty cache")
	}
	ctx := context.Background()
	for _, secret := range []string{"rt1", "rt2"} {
		if err := c.Save(ctx, Entries{RefreshToken: &RefreshToken{RefreshKey: k, Secret: secret}}, t0); err != nil {
			t.Fatal(err)
		}
	}
	c.RemoveRefreshToken(ctx, k, "rt1") // stale: a concurrent caller rotated it
	if rt, ok := c.LookupRefreshToken(k); !ok || rt.Secret != "rt2" {
		t.Fatalf("got %q %v, want the rotated token kept", rt.Secret, ok)
	}
	c.RemoveRefreshToken(ctx, k, "rt2")
	if _, ok := c.LookupRefreshToken(k); ok {
		t.Fatal("refresh token not removed")
	}
}

// TestConcurrentUse: writers and readers of the same keys, under -race;
// every read finds nothing or a token some writer stored for that key, and
// in the end each key holds exactly one token.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	c := New()
	const writers, keys = 8, 10
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range 200 {
				k := Key{ClientID: "c", Tenant: fmt.Sprint(i % keys)}
				c.store(token(k, []string{"s"}, fmt.Sprintf("%s/writer%d", k.Tenant, g), time.Hour), t0)
				got, st := c.Lookup(&k, []string{"s"}, t0)
				if st != Hit || !strings.HasPrefix(got.Secret, k.Tenant+"/writer") {
					t.Errorf("key %s: read %q (%d), want a token stored for it", k.Tenant, got.Secret, st)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n != keys {
		t.Fatalf("%d tokens cached, want one per key (%d)", n, keys)
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	c := New()
	k := Key{Environment: "login.windows.net", ClientID: "c", Tenant: "t"}
	scopes := []string{"https://graph.microsoft.com/.default"}
	c.store(token(k, scopes, "a", time.Hour), t0)
	allocs := testing.AllocsPerRun(100, func() { c.Lookup(&k, scopes, t0) })
	if allocs != 0 {
		t.Fatalf("Lookup allocates %.1f times per hit", allocs)
	}
}

// BenchmarkLookupHit measures a hit on one tenant while N tenants are
// cached (the algorithmic cost), and a hit spread over all N tenants (which
// adds the machine's memory latency: every lookup goes to cold memory).
func BenchmarkLookupHit(b *testing.B) {
	for _, n := range []int{1, 100_000} {
		c := New()
		scopes := []string{"https://graph.microsoft.com/.default"}
		keys := make([]Key, n)
		for i := range keys {
			keys[i] = Key{Environment: "login.windows.net", ClientID: "c", Tenant: fmt.Sprintf("%08d-0000-0000-0000-000000000000", i)}
			c.store(token(keys[i], scopes, "a", time.Hour), t0)
		}
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			hot := keys[n/2]
			for b.Loop() {
				if _, st := c.Lookup(&hot, scopes, t0); st != Hit {
					b.Fatal("miss")
				}
			}
		})
		b.Run(fmt.Sprintf("tokens=%d/spread", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, st := c.Lookup(&keys[i%n], scopes, t0); st != Hit {
					b.Fatal("miss")
				}
			}
		})
	}
}

func TestHasUpperASCII(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "a", "A", "z", "Z", "@", "[", "`", "{", "abcdefgh", "abcdefgH", "Abcdefgh",
		"https://graph.microsoft.com/.default", "https://graph.microsoft.com/.defaulT", "HTTPS://GRAPH",
		"ééééZ", "\xc3Zabcdefg", "abcdefg\xffZ", "\xff\xff\xff\xff\xff\xff\xff@Z", "0123456789@[`{"} {
		want := false
		for i := 0; i < len(s); i++ {
			if 'A' <= s[i] && s[i] <= 'Z' {
				want = true
			}
		}
		if got := hasUpperASCII(s); got != want {
			t.Errorf("hasUpperASCII(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzScopeHashIgnoresASCIICase(f *testing.F) {
	f.Add("https://graph.microsoft.com/.default")
	f.Add("ÉéZz@[")
	f.Add("API://" + strings.Repeat("Long-Scope-", 20)) // past the stack buffer
	c := New()
	f.Fuzz(func(t *testing.T, s string) {
		lower := []byte(s)
		for i, b := range lower {
			lower[i] = lowerASCII(b)
		}
		if c.scopeHash([]string{s}) != c.scopeHash([]string{string(lower)}) {
			t.Fatalf("hash of %q differs from its lower-cased form", s)
		}
	})
}

func TestEntriesNeverPrintSecrets(t *testing.T) {
	t.Parallel()
	at := token(Key{ClientID: "c"}, []string{"s"}, "at-secret-1", time.Hour)
	rt := RefreshToken{RefreshKey: RefreshKey{ClientID: "c"}, Secret: "rt-secret-2"}
	hit := Cached{Secret: "hit-secret-3"}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "at", at, "rt", rt, "hit", hit)
	out := fmt.Sprintf("%v %+v %#v %s %v %#v %v %#v", at, at, at, at, rt, rt, hit, hit) + b.String()
	for _, s := range []string{"at-secret-1", "rt-secret-2", "hit-secret-3"} {
		if strings.Contains(out, s) {
			t.Errorf("%s printed", s)
		}
	}
}

func TestLower(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "contoso.onmicrosoft.com", "Contoso.OnMicrosoft.COM", "00000000-0000-4000-8000-00000000AAAA",
		"ÄBC-tenant", "straße", "abcdefghijklmnopQ", "ABCDEFGHIJKLMNOPQRSTUVWXYZ@[`{"} {
		if got, want := Lower(s), strings.ToLower(s); got != want {
			t.Errorf("Lower(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzLower(f *testing.F) {
	f.Add("Contoso.OnMicrosoft.COM")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Lower(s), strings.ToLower(s); got != want {
			t.Fatalf("Lower(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestAccountsGeneration: every change of accounts moves the generation,
// so an account built from them is rebuilt.
func TestAccountsGeneration(t *testing.T) {
	t.Parallel()
	c := New()
	ctx := context.Background()
	a := Account{AccountKey: AccountKey{HomeAccountID: "u.t", Environment: "login.windows.net", Realm: "t"}, Username: "ada"}
	steps := []struct {
		name   string
		change func() error
	}{
		{"store", func() error { return c.Save(ctx, Entries{Account: &a}, t0) }},
		{"store another tenant", func() error {
			b := a
			b.Realm = "t2"
			return c.Save(ctx, Entries{Account: &b}, t0)
		}},
		{"remove", func() error { return c.RemoveAccount(ctx, "login.windows.net", "c", "u.t") }},
		{"import", func() error { return c.Import([]byte(`{}`)) }},
	}
	for _, s := range steps {
		before := c.AccountsGeneration()
		if err := s.change(); err != nil {
			t.Fatal(err)
		}
		if c.AccountsGeneration() == before {
			t.Errorf("%s: the generation did not move", s.name)
		}
	}
}
