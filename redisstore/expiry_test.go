package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/internal/tokencache"
	"github.com/entra-go/entra/redisstore"
)

const day = 24 * time.Hour

// refreshTokenLife is how long the cache keeps a partition holding a
// refresh token after its last write: the token service's limit for an
// unused refresh token.
const refreshTokenLife = 90 * day

// TestKeysExpireWithTheirTokens: through a real token cache, an app
// partition's key expires with its access token and a user's (holding a
// refresh token) 90 days on, both no later than Options.TTL from the write.
func TestKeysExpireWithTheirTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ttl  time.Duration
		// userLater: the user's key outlives the app's.
		userLater bool
	}{
		{"no TTL", 0, true},
		{"a TTL shorter than an access token's life", 10 * time.Minute, false},
		{"a TTL between an access token's life and a refresh token's", 2 * day, true},
		{"a TTL longer than a refresh token's life", 365 * day, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			em := newEmulator(t)
			rdb := newRDB(t)
			s := redisstore.New(rdb, redisstore.Options{Prefix: prefix(t), TTL: tt.ttl})
			client := newClient(t, em, s)
			bounded := func(expires, written time.Time) time.Time {
				if tt.ttl > 0 && written.Add(tt.ttl).Before(expires) {
					return written.Add(tt.ttl)
				}
				return expires
			}

			written := time.Now()
			app, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}})
			if err != nil {
				t.Fatal(err)
			}
			appKey := s.Key(tokencache.StoragePartition(&tokencache.Key{Environment: "login.windows.net", ClientID: em.DefaultClient().ID, Tenant: tenant}))
			appExpiry := expectExpiry(t, rdb, appKey, bounded(app.ExpiresOn, written))

			written = time.Now()
			user := signIn(t, em, client, "User.Read")
			userExpiry := expectExpiry(t, rdb, s.Key(user.Account.HomeAccountID), bounded(written.Add(refreshTokenLife), written))

			if later := userExpiry.After(appExpiry.Add(time.Second)); later != tt.userLater {
				t.Errorf("the user's key expires at %v, the app's at %v", userExpiry, appExpiry)
			}
		})
	}
}

// TestUpdateExpiring: the expiry a write gives is set on the key, bounded
// by Options.TTL; the zero time leaves Options.TTL alone (no expiry
// without one); a time already come deletes the key.
func TestUpdateExpiring(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name    string
		ttl     time.Duration
		expires time.Time
		// want is when the key expires; the zero time: never.
		want time.Time
		// gone: the key was deleted.
		gone bool
	}{
		{name: "a time to come", expires: now.Add(2 * time.Hour), want: now.Add(2 * time.Hour)},
		{name: "a time within the TTL", ttl: 3 * time.Hour, expires: now.Add(2 * time.Hour), want: now.Add(2 * time.Hour)},
		{name: "a time beyond the TTL", ttl: time.Hour, expires: now.Add(2 * time.Hour), want: now.Add(time.Hour)},
		{name: "never", expires: time.Time{}},
		{name: "never, under a TTL", ttl: time.Hour, expires: time.Time{}, want: now.Add(time.Hour)},
		{name: "a time come", expires: now.Add(-time.Second), gone: true},
		{name: "a time come, under a TTL", ttl: time.Hour, expires: now.Add(-time.Second), gone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			rdb := newRDB(t)
			s := redisstore.New(rdb, redisstore.Options{Prefix: prefix(t), TTL: tt.ttl})
			write := func(doc string, expires time.Time) {
				t.Helper()
				err := s.UpdateExpiring(ctx, "u.t", func([]byte) ([]byte, time.Time, error) { return []byte(doc), expires, nil })
				if err != nil {
					t.Fatal(err)
				}
			}
			write("v1", now.Add(5*time.Hour)) // an expiry of its own, which the write must replace
			write("v2", tt.expires)
			got, err := s.Load(ctx, "u.t")
			switch {
			case err != nil:
				t.Fatal(err)
			case tt.gone && got != nil:
				t.Fatalf("the key holds %q; want it deleted", got)
			case tt.gone:
				return
			case string(got) != "v2":
				t.Fatalf("the key holds %q; want v2", got)
			}
			expectExpiry(t, rdb, s.Key("u.t"), tt.want)
		})
	}
}

// TestUpdateKeepsTTL: Update, which gives no expiry, keeps a key for
// Options.TTL, or for good without one, replacing the expiry it had.
func TestUpdateKeepsTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := newRDB(t)
	for _, ttl := range []time.Duration{0, time.Hour} {
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix(t), TTL: ttl})
		err := s.UpdateExpiring(ctx, "u.t", func([]byte) ([]byte, time.Time, error) { return []byte("v1"), time.Now().Add(5 * time.Hour), nil })
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, "u.t", func([]byte) ([]byte, error) { return []byte("v2"), nil }); err != nil {
			t.Fatal(err)
		}
		want := time.Time{}
		if ttl > 0 {
			want = time.Now().Add(ttl)
		}
		expectExpiry(t, rdb, s.Key("u.t"), want)
	}
}

// expiryTolerance is how far a key's expiry may be from the one expected:
// the expected time is taken around the write.
const expiryTolerance = 5 * time.Second

// expectExpiry checks that key expires at want (the zero time: never,
// PEXPIRETIME -1), give or take expiryTolerance, and returns its expiry.
func expectExpiry(t *testing.T, rdb redis.UniversalClient, key string, want time.Time) time.Time {
	t.Helper()
	ctx := context.Background()
	at, err := rdb.PExpireTime(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want.IsZero() {
		if at != -1 || ttl != -1 {
			t.Fatalf("%s: PEXPIRETIME %d, PTTL %d; want no expiry (-1)", key, at, ttl)
		}
		return time.Time{}
	}
	got := time.UnixMilli(at.Milliseconds())
	if d := got.Sub(want); d < -expiryTolerance || d > expiryTolerance {
		t.Fatalf("%s expires at %v (PEXPIRETIME), %v from the time expected, %v", key, got, d, want)
	}
	if d := ttl - time.Until(want); d < -expiryTolerance || d > expiryTolerance {
		t.Fatalf("%s: PTTL %v; want %v", key, ttl, time.Until(want))
	}
	return got
}
