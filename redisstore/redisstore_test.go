package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/redisstore"
	"github.com/entra-go/entra/redisstore/redistest"
)

// redisAddr is a real redis-server started for these tests.
var redisAddr string

func TestMain(m *testing.M) {
	addr, stop, err := redistest.Start()
	if err != nil {
		if os.Getenv(redistest.RequireEnv) != "" {
			fmt.Fprintln(os.Stderr, "redis-server is required:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "skipping: no redis-server:", err)
		os.Exit(0)
	}
	redisAddr = addr
	code := m.Run()
	stop()
	os.Exit(code)
}

// prefix is a key prefix of the test's own: tests share one server, and
// -count reruns them on it.
func prefix(t *testing.T) string { return fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano()) }

func newStore(t *testing.T, prefix string) (*redisstore.Store, *redis.Client) {
	t.Helper()
	rdb := newRDB(t)
	return redisstore.New(rdb, redisstore.Options{Prefix: prefix}), rdb
}

// newRDB is a client of the tests' server, closed when t ends.
func newRDB(t *testing.T) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestLoadAndUpdate(t *testing.T) {
	ctx := context.Background()
	s, rdb := newStore(t, prefix(t))
	if data, err := s.Load(ctx, "u.t"); data != nil || err != nil {
		t.Fatalf("Load of a missing partition: %q %v", data, err)
	}
	if err := s.Update(ctx, "u.t", func(old []byte) ([]byte, error) { return []byte("v1"), nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := rdb.Get(ctx, s.Key("u.t")).Result(); got != "v1" {
		t.Fatalf("stored %q", got)
	}
	boom := errors.New("corrupt")
	if err := s.Update(ctx, "u.t", func([]byte) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if got, _ := s.Load(ctx, "u.t"); string(got) != "v1" {
		t.Fatalf("a failed update wrote %q", got)
	}
	if s.Key("") == s.Key("u.t") {
		t.Fatal("the app partition shares a key with a user")
	}
}

// TestConcurrentWritersLoseNothing: 8 clients (as 8 service instances)
// append 50 items each to one partition at once.
func TestConcurrentWritersLoseNothing(t *testing.T) {
	ctx := context.Background()
	prefix := prefix(t)
	var wg sync.WaitGroup
	for w := range 8 {
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
		defer rdb.Close()
		s := redisstore.New(rdb, redisstore.Options{Prefix: prefix})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				err := s.Update(ctx, "shared", func(old []byte) ([]byte, error) {
					var items []string
					if len(old) > 0 {
						json.Unmarshal(old, &items)
					}
					return json.Marshal(append(items, fmt.Sprintf("w%d-%d", w, i)))
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	data, err := redisstore.New(rdb, redisstore.Options{Prefix: prefix}).Load(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	json.Unmarshal(data, &items)
	if len(items) != 400 {
		t.Fatalf("%d items, want 400", len(items))
	}
}

// TestInstancesShareTokens: two instances of a service, each with its own
// cache on one Redis, share app and user tokens without a request.
func TestInstancesShareTokens(t *testing.T) {
	em := newEmulator(t)
	ctx := context.Background()
	shared := prefix(t)
	instance := func() *confidential.Client {
		s, _ := newStore(t, shared)
		return newClient(t, em, s)
	}
	one, two := instance(), instance()
	req := confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}}
	first, err := one.AcquireTokenForClient(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	user := signIn(t, em, one, "User.Read")
	before := len(em.Requests("token"))
	app, err := two.AcquireTokenForClient(ctx, req)
	if err != nil || !app.FromCache || app.AccessToken != first.AccessToken {
		t.Fatalf("the second instance did not share the app token: %v %v", app, err)
	}
	silent, err := two.AcquireTokenSilent(ctx, user.Account, confidential.TokenRequest{Scopes: []string{"User.Read"}})
	if err != nil || !silent.FromCache || silent.AccessToken != user.AccessToken {
		t.Fatalf("the second instance did not share the user's token: %v %v", silent, err)
	}
	if n := len(em.Requests("token")) - before; n != 0 {
		t.Fatalf("%d token requests for shared tokens", n)
	}
}

// tenant is the tenant of the clients' authority.
const tenant = "contoso.onmicrosoft.com"

func newEmulator(t *testing.T) *entratest.Emulator {
	t.Helper()
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	return em
}

// newClient is a client of the emulator's default application, caching
// in store, closed when t ends.
func newClient(t *testing.T, em *entratest.Emulator, store cache.Storage) *confidential.Client {
	t.Helper()
	dc := em.DefaultClient()
	secret, err := credential.NewSecret(dc.Secret)
	if err != nil {
		t.Fatal(err)
	}
	client, err := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/" + tenant,
		ClientID: dc.ID, Credential: secret, HTTPClient: em.HTTPClient(), Cache: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// signIn signs the emulator's default user in to client (authorization
// code flow) and returns their token for scopes.
func signIn(t *testing.T, em *entratest.Emulator, client *confidential.Client, scopes ...string) entra.Token {
	t.Helper()
	ctx := context.Background()
	a, err := client.AuthCodeURL(ctx, confidential.AuthorizationRequest{RedirectURI: entratest.DefaultRedirectURI, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	back, err := em.SignIn(ctx, a.URL)
	if err != nil {
		t.Fatal(err)
	}
	code, err := confidential.CodeFromRedirect(a.State, back.Query())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := client.AcquireTokenByAuthCode(ctx, confidential.AuthCode{Code: code, RedirectURI: entratest.DefaultRedirectURI,
		CodeVerifier: a.CodeVerifier}, confidential.TokenRequest{Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	s := redisstore.New(rdb, redisstore.Options{})
	if _, err := s.Load(context.Background(), ""); entra.ErrorCode(err) != entra.CodeCacheStorage {
		t.Fatalf("err = %v", err)
	}
}
