package confidential

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/internal/tokencache"
)

// partitions is a PartitionedStorage that records which partition each
// write went to.
type partitions struct {
	mu      sync.Mutex
	docs    map[string][]byte
	written []string
}

func (p *partitions) Partitioned() bool { return true }

func (p *partitions) Load(_ context.Context, partition string) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.docs[partition]), nil
}

func (p *partitions) Update(_ context.Context, partition string, fn func([]byte) ([]byte, error)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	out, err := fn(bytes.Clone(p.docs[partition]))
	if err != nil {
		return err
	}
	p.docs[partition] = out
	p.written = append(p.written, partition)
	return nil
}

// accessTokens counts the access tokens of a stored document.
func accessTokens(t *testing.T, doc []byte) int {
	var d struct{ AccessToken map[string]json.RawMessage }
	if len(doc) > 0 {
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
	}
	return len(d.AccessToken)
}

func TestCachePartitionKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	store := &partitions{docs: map[string][]byte{}}
	c := f.client(t, f.secret, func(cfg *Config) { cfg.Cache = store })
	ctx := context.Background()
	get := func(c *Client, key string) entra.Token {
		t.Helper()
		tok, err := c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes, CachePartitionKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	a, b, none := get(c, "tenant-a"), get(c, "tenant-b"), get(c, "")
	if a.AccessToken == b.AccessToken || a.AccessToken == none.AccessToken || len(f.tokenRequests()) != 3 {
		t.Fatalf("%d requests: tokens of different partition keys met", len(f.tokenRequests()))
	}
	if again := get(c, "tenant-a"); !again.FromCache || again.AccessToken != a.AccessToken {
		t.Fatalf("the same partition key missed: %v", again)
	}
	// Each write went to its own partition, and holds its token only; the
	// app tokens without a partition key have the client's and tenant's.
	app := tokencache.StoragePartition(&tokencache.Key{Environment: c.env, ClientID: c.clientID, Tenant: c.auth.Tenant})
	if want := []string{"pk:tenant-a", "pk:tenant-b", app}; !slices.Equal(store.written, want) {
		t.Fatalf("written partitions %q, want %q", store.written, want)
	}
	for _, p := range []string{"pk:tenant-a", "pk:tenant-b", app} {
		if n := accessTokens(t, store.docs[p]); n != 1 {
			t.Errorf("partition %q holds %d access tokens, want 1", p, n)
		}
	}
	// Another instance on the storage finds the partition's token.
	other := f.client(t, f.secret, func(cfg *Config) { cfg.Cache = store })
	if tok := get(other, "tenant-b"); !tok.FromCache || tok.AccessToken != b.AccessToken {
		t.Fatalf("another instance did not find partition tenant-b's token: %v", tok)
	}
	// User and on-behalf-of tokens are partitioned by user already.
	user := f.em.IssueUserToken(entratest.User{Audience: f.clientID, Subject: "alice", TenantID: tenant})
	_, err := c.AcquireTokenOnBehalfOf(ctx, user, TokenRequest{Scopes: graphScopes, CachePartitionKey: "x"})
	if entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Fatalf("on-behalf-of with a partition key: %v, want %s", err, entra.CodeInvalidArgument)
	}
}

func TestReservedScopes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret)
	ctx := context.Background()
	noRefresh := []string{"openid", "profile"} // no offline_access: no refresh token wanted
	code, a := signIn(t, f, c, AuthorizationRequest{ReservedScopes: noRefresh})
	u, _ := url.Parse(a.URL)
	if scope := u.Query().Get("scope"); strings.Contains(scope, "offline_access") || !strings.Contains(scope, "openid") {
		t.Fatalf("authorization scope %q", scope)
	}
	tok, err := c.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead, ReservedScopes: noRefresh})
	if err != nil {
		t.Fatal(err)
	}
	last := f.tokenRequests()[len(f.tokenRequests())-1]
	if scope := last.Form.Get("scope"); strings.Contains(scope, "offline_access") {
		t.Fatalf("token request scope %q asks for offline_access", scope)
	}
	if tok.RefreshToken != "" || tok.IDToken == "" || tok.Account == nil {
		t.Fatalf("token %v: want an ID token and an account, and no refresh token", tok)
	}
	// The access token serves silent calls; without a refresh token, a
	// forced refresh needs the user.
	if again, err := c.AcquireTokenSilent(ctx, tok.Account, TokenRequest{Scopes: userRead}); err != nil || !again.FromCache {
		t.Fatalf("silent: %v %v", again, err)
	}
	_, err = c.AcquireTokenSilent(ctx, tok.Account, TokenRequest{Scopes: userRead, ForceRefresh: true})
	if entra.ErrorCode(err) != entra.CodeInteractionRequired {
		t.Fatalf("forced silent without a refresh token: %v, want %s", err, entra.CodeInteractionRequired)
	}
}
