package interop

import (
	"context"
	"sync"
	"testing"

	msalcache "github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	msal "github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
)

const (
	tenant         = "11111111-2222-3333-4444-555555555555"
	entraAuthority = "https://login.microsoftonline.com/" + tenant
	redirectURI    = "http://localhost/callback"
	graph          = "https://graph.microsoft.com/.default"
)

var userRead = []string{"https://graph.microsoft.com/User.Read"}

// bytesCache is MSAL Go's cache accessor over a byte slice: what a cache
// file would hold.
type bytesCache struct {
	mu   sync.Mutex
	data []byte
}

func (b *bytesCache) Replace(_ context.Context, u msalcache.Unmarshaler, _ msalcache.ReplaceHints) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.data) == 0 {
		return nil
	}
	return u.Unmarshal(b.data)
}

func (b *bytesCache) Export(_ context.Context, m msalcache.Marshaler, _ msalcache.ExportHints) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, err := m.Marshal()
	b.data = data
	return err
}

type setup struct {
	em     *entratest.Emulator
	client entratest.DefaultClient
}

func newSetup(t *testing.T) setup {
	t.Helper()
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	return setup{em: em, client: em.DefaultClient()}
}

func (s setup) msalClient(t *testing.T, accessor *bytesCache) msal.Client {
	t.Helper()
	cred, err := msal.NewCredFromSecret(s.client.Secret)
	if err != nil {
		t.Fatal(err)
	}
	c, err := msal.New(entraAuthority, s.client.ID, cred, msal.WithCache(accessor), msal.WithHTTPClient(s.em.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s setup) entraClient(t *testing.T, c cache.Storage) *confidential.Client {
	t.Helper()
	secret, err := credential.NewSecret(s.client.Secret)
	if err != nil {
		t.Fatal(err)
	}
	client, err := confidential.New(confidential.Config{Authority: entraAuthority, ClientID: s.client.ID, Credential: secret,
		HTTPClient: s.em.HTTPClient(), Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// code signs the default user in through the emulator and returns a code
// with its PKCE verifier.
func (s setup) code(t *testing.T, c *confidential.Client) confidential.AuthCode {
	t.Helper()
	a, err := c.AuthCodeURL(context.Background(), confidential.AuthorizationRequest{RedirectURI: redirectURI, Scopes: userRead})
	if err != nil {
		t.Fatal(err)
	}
	back, err := s.em.SignIn(context.Background(), a.URL)
	if err != nil {
		t.Fatal(err)
	}
	code, err := confidential.CodeFromRedirect(a.State, back.Query())
	if err != nil {
		t.Fatal(err)
	}
	return confidential.AuthCode{Code: code, RedirectURI: redirectURI, CodeVerifier: a.CodeVerifier}
}

// TestMSALGoWritesEntraReads: app and user tokens MSAL Go cached are served
// by this module without a request; the user's refresh token works.
func TestMSALGoWritesEntraReads(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	accessor := &bytesCache{}
	m := s.msalClient(t, accessor)
	if _, err := m.AcquireTokenByCredential(ctx, []string{graph}); err != nil {
		t.Fatal(err)
	}
	code := s.code(t, s.entraClient(t, nil))
	userTok, err := m.AcquireTokenByAuthCode(ctx, code.Code, redirectURI, userRead, msal.WithChallenge(code.CodeVerifier))
	if err != nil {
		t.Fatal(err)
	}

	c := &entratest.Storage{}
	c.Update(ctx, "", func([]byte) ([]byte, error) { return accessor.data, nil }) // the file MSAL Go wrote
	client := s.entraClient(t, c)
	before := len(s.em.Requests("token"))
	app, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: []string{graph}})
	if err != nil || !app.FromCache {
		t.Fatalf("MSAL Go's app token was not served from the cache: %v %v", app, err)
	}
	accounts, err := client.Accounts(ctx)
	if err != nil || len(accounts) != 1 || accounts[0].HomeAccountID != userTok.Account.HomeAccountID || accounts[0].Username != userTok.Account.PreferredUsername {
		t.Fatalf("accounts %+v (MSAL Go's: %+v) %v", accounts, userTok.Account, err)
	}
	silent, err := client.AcquireTokenSilent(ctx, &accounts[0], confidential.TokenRequest{Scopes: userRead})
	if err != nil {
		t.Fatalf("silent with MSAL Go's account: %v", err)
	}
	if !silent.FromCache || silent.AccessToken != userTok.AccessToken {
		t.Errorf("MSAL Go's user access token was not served from the cache (%v)", silent.FromCache)
	}
	if n := len(s.em.Requests("token")) - before; n != 0 {
		t.Errorf("%d requests for cached tokens", n)
	}
	forced, err := client.AcquireTokenSilent(ctx, &accounts[0], confidential.TokenRequest{Scopes: userRead, ForceRefresh: true})
	if err != nil || forced.FromCache {
		t.Fatalf("MSAL Go's refresh token did not redeem: %v %v", forced, err)
	}
}

// TestEntraWritesMSALGoReads: MSAL Go serves the app token this module
// cached without a request, lists its user and uses the refresh token.
func TestEntraWritesMSALGoReads(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	c := &entratest.Storage{}
	client := s.entraClient(t, c)
	if _, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: []string{graph}}); err != nil {
		t.Fatal(err)
	}
	userTok, err := client.AcquireTokenByAuthCode(ctx, s.code(t, client), confidential.TokenRequest{Scopes: userRead})
	if err != nil {
		t.Fatal(err)
	}
	data, err := c.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	accessor := &bytesCache{data: data}
	m := s.msalClient(t, accessor)
	before := len(s.em.Requests("token"))
	app, err := m.AcquireTokenByCredential(ctx, []string{graph}) // reads the cache first
	if err != nil {
		t.Fatalf("MSAL Go did not find our app token: %v", err)
	}
	if app.AccessToken == "" || len(s.em.Requests("token")) != before {
		t.Fatalf("MSAL Go made a request for a cached app token")
	}
	account, err := m.Account(ctx, userTok.Account.HomeAccountID)
	if err != nil || account.HomeAccountID != userTok.Account.HomeAccountID || account.PreferredUsername != userTok.Account.Username {
		t.Fatalf("MSAL Go's account %+v %v", account, err)
	}
	user, err := m.AcquireTokenSilent(ctx, userRead, msal.WithSilentAccount(account))
	if err != nil {
		t.Fatalf("MSAL Go silent with our account: %v", err)
	}
	if user.AccessToken != userTok.AccessToken || len(s.em.Requests("token")) != before {
		t.Errorf("MSAL Go did not reuse our user access token")
	}
	// And our refresh token works for MSAL Go.
	if _, err := m.AcquireTokenSilent(ctx, []string{"https://api.contoso.test/read"}, msal.WithSilentAccount(account)); err != nil {
		t.Fatalf("MSAL Go could not redeem our refresh token: %v", err)
	}

	// MSAL Go rotated the refresh token; back in this module, the file
	// holds only the new one (its entry replaced ours), which redeems.
	c.Update(ctx, "", func([]byte) ([]byte, error) { return accessor.data, nil })
	again, err := client.AcquireTokenSilent(ctx, userTok.Account, confidential.TokenRequest{Scopes: userRead, ForceRefresh: true})
	if err != nil {
		t.Fatalf("after MSAL Go's rotation: %v", err)
	}
	if again.FromCache {
		t.Fatalf("forced refresh served %v", again.FromCache)
	}
}
