package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/redisstore"
)

// redisAddr is a real redis-server started for these tests.
var redisAddr string

func TestMain(m *testing.M) {
	stop, err := startRedis()
	if err != nil {
		if os.Getenv("ENTRA_REQUIRE_REDIS") != "" {
			fmt.Fprintln(os.Stderr, "redis-server is required:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "skipping: no redis-server:", err)
		os.Exit(0)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func startRedis() (stop func(), err error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	redisAddr = "127.0.0.1:" + strconv.Itoa(port)
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rdb.Ping(context.Background()).Err() == nil {
			return func() { cmd.Process.Kill(); cmd.Wait() }, nil
		}
	}
	cmd.Process.Kill()
	return nil, errors.New("redis-server did not answer")
}

// prefix is a key prefix of the test's own: tests share one server, and
// -count reruns them on it.
func prefix(t *testing.T) string { return fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano()) }

func newStore(t *testing.T, prefix string) (*redisstore.Store, *redis.Client) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	return redisstore.New(rdb, redisstore.Options{Prefix: prefix}), rdb
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
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	ctx := context.Background()
	dc := em.DefaultClient()
	secret, _ := credential.NewSecret(dc.Secret)
	shared := prefix(t)
	instance := func() *confidential.Client {
		s, _ := newStore(t, shared)
		client, err := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
			ClientID: dc.ID, Credential: secret, HTTPClient: em.HTTPClient(), Cache: s})
		if err != nil {
			t.Fatal(err)
		}
		return client
	}
	one, two := instance(), instance()
	req := confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}}
	first, err := one.AcquireTokenForClient(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := one.AuthCodeURL(ctx, confidential.AuthorizationRequest{RedirectURI: entratest.DefaultRedirectURI, Scopes: []string{"User.Read"}})
	back, err := em.SignIn(ctx, a.URL)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := confidential.CodeFromRedirect(a.State, back.Query())
	user, err := one.AcquireTokenByAuthCode(ctx, confidential.AuthCode{Code: code, RedirectURI: entratest.DefaultRedirectURI,
		CodeVerifier: a.CodeVerifier}, confidential.TokenRequest{Scopes: []string{"User.Read"}})
	if err != nil {
		t.Fatal(err)
	}
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

func TestRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	s := redisstore.New(rdb, redisstore.Options{})
	if _, err := s.Load(context.Background(), ""); entra.ErrorCode(err) != entra.CodeCacheStorage {
		t.Fatalf("err = %v", err)
	}
}
