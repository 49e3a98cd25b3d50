package confidential

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/internal/tokencache"
)

const redirectURI = "http://localhost/callback"

var userRead = []string{"https://graph.microsoft.com/User.Read"}

// signIn runs the front channel against the emulator: the authorization
// URL, the emulator's sign-in, the redirect and its checks.
func signIn(t *testing.T, f *fixture, c *Client, req AuthorizationRequest) (AuthCode, Authorization) {
	t.Helper()
	if req.RedirectURI == "" {
		req.RedirectURI = redirectURI
	}
	if req.Scopes == nil {
		req.Scopes = userRead
	}
	a, err := c.AuthCodeURL(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	back, err := f.em.SignIn(context.Background(), a.URL)
	if err != nil {
		t.Fatal(err)
	}
	code, err := CodeFromRedirect(a.State, back.Query())
	if err != nil {
		t.Fatal(err)
	}
	return AuthCode{Code: code, RedirectURI: req.RedirectURI, CodeVerifier: a.CodeVerifier, Nonce: a.Nonce}, a
}

func TestAuthCodeURL(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{ExtraHosts: []string{"idp.contoso.test"}})
	tests := []struct {
		name, authority string
		kind            AuthorityKind
		wantPrefix      string
	}{
		{"entra", "", AuthorityAuto, "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/authorize?"},
		{"b2c", "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin", AuthorityAuto,
			"https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/authorize?"},
		{"generic oidc", "https://idp.contoso.test/oidc", AuthorityOIDC, "https://idp.contoso.test/oidc/authorize?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.client(t, f.secret, func(cfg *Config) {
				if tt.authority != "" {
					cfg.Authority, cfg.AuthorityKind = tt.authority, tt.kind
				}
				cfg.Capabilities = []string{"cp1"}
			})
			a, err := c.AuthCodeURL(context.Background(), AuthorizationRequest{
				RedirectURI: redirectURI, Scopes: userRead, Prompt: "select_account", LoginHint: "ada@contoso.example",
				DomainHint: "contoso.example", ResponseMode: "form_post", ExtraQuery: url.Values{"dc": {"ESTS-PUB-WUS2"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(a.URL, tt.wantPrefix) {
				t.Fatalf("URL %s", a.URL)
			}
			u, _ := url.Parse(a.URL)
			q := u.Query()
			challenge := sha256.Sum256([]byte(a.CodeVerifier))
			want := map[string]string{
				"client_id": f.clientID, "response_type": "code", "redirect_uri": redirectURI, "state": a.State, "nonce": a.Nonce,
				"code_challenge": base64.RawURLEncoding.EncodeToString(challenge[:]), "code_challenge_method": "S256",
				"prompt": "select_account", "login_hint": "ada@contoso.example", "domain_hint": "contoso.example",
				"response_mode": "form_post", "dc": "ESTS-PUB-WUS2", "claims": `{"access_token":{"xms_cc":{"values":["cp1"]}}}`,
			}
			for k, v := range want {
				if q.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, q.Get(k), v)
				}
			}
			if got := strings.Fields(q.Get("scope")); len(got) != 4 || got[1] != "openid" {
				t.Errorf("scope %q", q.Get("scope"))
			}
			if len(a.CodeVerifier) < 43 || a.State == "" || a.Nonce == "" {
				t.Errorf("verifier %d chars, state %q, nonce %q", len(a.CodeVerifier), a.State, a.Nonce)
			}
		})
	}
}

func TestAuthCodeURLRefusesClientClaims(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret, func(cfg *Config) { cfg.EnableClientClaims = true })
	_, err := c.AuthCodeURL(context.Background(), AuthorizationRequest{RedirectURI: redirectURI, Scopes: userRead,
		ClientClaims: `{"xms_az_nwperimid":{"essential":true,"value":"perimeter-secret"}}`})
	if entra.ErrorCode(err) != entra.CodeInvalidArgument || strings.Contains(err.Error(), "perimeter-secret") {
		t.Fatalf("err = %v", err)
	}
}

func TestAuthCodeSilentAndAccounts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.rsaCert)
	ctx := context.Background()
	code, _ := signIn(t, f, c, AuthorizationRequest{})
	tok, err := c.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead})
	if err != nil {
		t.Fatal(err)
	}
	user := f.em.DefaultUser()
	if tok.Account.HomeAccountID != user.ObjectID+"."+user.TenantID || tok.Account.Username != user.Username ||
		tok.Account.TenantID != user.TenantID || tok.IDToken == "" || tok.RefreshToken == "" {
		t.Fatalf("account %+v", tok.Account)
	}
	redeem := f.tokenRequests()[0].Form
	if redeem.Get("grant_type") != "authorization_code" || redeem.Get("code_verifier") != code.CodeVerifier || redeem.Get("redirect_uri") != redirectURI {
		t.Fatalf("redemption form %v", keys(redeem))
	}

	accounts, err := c.Accounts(ctx)
	// The user (home tenant user.TenantID) signed in to the authority's tenant.
	if err != nil || len(accounts) != 1 || accounts[0].HomeAccountID != tok.Account.HomeAccountID || len(accounts[0].TenantProfiles) != 1 ||
		accounts[0].TenantProfiles[0].TenantID != tenant || accounts[0].TenantProfiles[0].Home || accounts[0].TenantProfiles[0].ObjectID != user.ObjectID {
		t.Fatalf("accounts %+v %v", accounts, err)
	}
	hit, err := c.AcquireTokenSilent(ctx, &accounts[0], TokenRequest{Scopes: userRead})
	if err != nil || !hit.FromCache || hit.AccessToken != tok.AccessToken || hit.Account.Username != user.Username {
		t.Fatalf("silent hit: %v %+v %v", hit, hit.Account, err)
	}
	refreshed, err := c.AcquireTokenSilent(ctx, &accounts[0], TokenRequest{Scopes: userRead, ForceRefresh: true})
	if err != nil || refreshed.FromCache {
		t.Fatalf("silent refresh: %v %v", refreshed, err)
	}
	reqs := f.tokenRequests()
	if got := reqs[len(reqs)-1].Form.Get("grant_type"); got != "refresh_token" {
		t.Fatalf("silent redeemed with %q", got)
	}
	// Another scope: no access token for it, so the refresh token serves it.
	other, err := c.AcquireTokenSilent(ctx, &accounts[0], TokenRequest{Scopes: []string{"https://api.contoso.test/read"}})
	if err != nil || other.FromCache {
		t.Fatalf("silent for another scope: %v %v", other, err)
	}
	// Silent also serves app tokens.
	app, err := c.AcquireTokenSilent(ctx, nil, TokenRequest{Scopes: graphScopes})
	if err != nil || app.Account != nil {
		t.Fatalf("silent app token: %v %v", app, err)
	}

	if err := c.RemoveAccount(ctx, accounts[0]); err != nil {
		t.Fatal(err)
	}
	if accounts, _ := c.Accounts(ctx); len(accounts) != 0 {
		t.Fatalf("accounts after removal: %+v", accounts)
	}
	before := len(f.tokenRequests())
	if _, err := c.AcquireTokenSilent(ctx, tok.Account, TokenRequest{Scopes: userRead}); entra.ErrorCode(err) != entra.CodeInteractionRequired {
		t.Fatalf("silent after sign-out: %v", err)
	}
	if len(f.tokenRequests()) != before {
		t.Error("silent for an unknown account made a request")
	}
}

func TestAuthCodeErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret)
	ctx := context.Background()

	t.Run("code used twice", func(t *testing.T) {
		code, _ := signIn(t, f, c, AuthorizationRequest{})
		if _, err := c.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead}); err != nil {
			t.Fatal(err)
		}
		_, err := c.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead})
		var e *entra.Error
		if !errors.As(err, &e) || e.Code != "invalid_grant" || e.StatusCode != 400 {
			t.Fatalf("replayed code: %v", err)
		}
	})
	t.Run("verifier does not match", func(t *testing.T) {
		code, _ := signIn(t, f, c, AuthorizationRequest{})
		code.CodeVerifier = strings.Repeat("x", 43)
		if _, err := c.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead}); entra.ErrorCode(err) != "invalid_grant" {
			t.Fatalf("wrong verifier: %v", err)
		}
	})
	t.Run("nonce does not match", func(t *testing.T) {
		code, _ := signIn(t, f, c, AuthorizationRequest{})
		code.Nonce = "another"
		if _, err := c.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead}); entra.ErrorCode(err) != entra.CodeInvalidIDToken {
			t.Fatalf("wrong nonce: %v", err)
		}
	})
	t.Run("state mismatch", func(t *testing.T) {
		for _, q := range []url.Values{{"code": {"c"}, "state": {"forged"}}, {"code": {"c"}}, {"error": {"access_denied"}, "state": {"other"}}} {
			if _, err := CodeFromRedirect("expected", q); entra.ErrorCode(err) != entra.CodeStateMismatch {
				t.Errorf("%v: %v", q, err)
			}
		}
		if _, err := CodeFromRedirect("s", url.Values{"error": {"access_denied"}, "error_description": {"user said no"}, "state": {"s"}}); entra.ErrorCode(err) != "access_denied" {
			t.Errorf("service error: %v", err)
		}
	})
	t.Run("missing input", func(t *testing.T) {
		if _, err := c.AcquireTokenByAuthCode(ctx, AuthCode{Code: "c"}, TokenRequest{Scopes: userRead}); entra.ErrorCode(err) != entra.CodeInvalidArgument {
			t.Errorf("no redirect URI: %v", err)
		}
		if _, err := c.AcquireTokenByRefreshToken(ctx, " ", TokenRequest{Scopes: userRead}); entra.ErrorCode(err) != entra.CodeInvalidArgument {
			t.Errorf("blank refresh token: %v", err)
		}
	})
}

func TestSilentWhenTheServiceRefusesTheRefreshToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret)
	ctx := context.Background()
	code, _ := signIn(t, f, c, AuthorizationRequest{})
	tok, err := c.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead})
	if err != nil {
		t.Fatal(err)
	}
	f.em.RevokeRefreshTokens()
	_, err = c.AcquireTokenSilent(ctx, tok.Account, TokenRequest{Scopes: userRead, ForceRefresh: true})
	var e *entra.Error
	if entra.ErrorCode(err) != entra.CodeInteractionRequired || !errors.As(err, &e) || errors.Unwrap(err) == nil {
		t.Fatalf("err = %v", err)
	}
	if entra.ErrorCode(errors.Unwrap(err)) != "invalid_grant" {
		t.Errorf("the server's answer is not kept: %v", errors.Unwrap(err))
	}
	if _, ok := c.pipe.Cache().LookupRefreshToken(tokencache.RefreshKey{Environment: c.env, ClientID: c.clientID, Partition: tok.Account.HomeAccountID}); ok {
		t.Error("the refused refresh token is still cached")
	}
	before := len(f.tokenRequests())
	if _, err := c.AcquireTokenSilent(ctx, tok.Account, TokenRequest{Scopes: userRead, ForceRefresh: true}); entra.ErrorCode(err) != entra.CodeInteractionRequired {
		t.Fatalf("second silent: %v", err)
	}
	if len(f.tokenRequests()) != before {
		t.Error("the removed refresh token was redeemed again")
	}
}

func TestRefreshTokenRedemption(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	ctx := context.Background()
	first := f.client(t, f.secret)
	code, _ := signIn(t, f, first, AuthorizationRequest{})
	tok, err := first.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead})
	if err != nil {
		t.Fatal(err)
	}
	// A second app instance (its own cache) holds only the refresh token.
	second := f.client(t, f.rsaCert)
	got, err := second.AcquireTokenByRefreshToken(ctx, tok.RefreshToken, TokenRequest{Scopes: userRead})
	if err != nil || got.Account.HomeAccountID != tok.Account.HomeAccountID {
		t.Fatalf("%v %+v %v", got, got.Account, err)
	}
	if _, err := second.AcquireTokenSilent(ctx, got.Account, TokenRequest{Scopes: userRead}); err != nil {
		t.Fatalf("silent after redemption: %v", err)
	}
	// Rotation: the redeemed refresh token is spent.
	if _, err := second.AcquireTokenByRefreshToken(ctx, tok.RefreshToken, TokenRequest{Scopes: userRead}); entra.ErrorCode(err) != "invalid_grant" {
		t.Fatalf("spent refresh token: %v", err)
	}
}

func TestFamilyRefreshToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	dc := f.em.DefaultClient()
	const sibling = "33333333-4444-4000-8000-000000000003"
	f.em.RegisterClient(entratest.Client{ID: dc.ID, Secret: dc.Secret, FamilyID: "1", RedirectURIs: []string{redirectURI},
		Certificates: nil})
	f.em.RegisterClient(entratest.Client{ID: sibling, Secret: "sibling-secret", FamilyID: "1"})
	ctx := context.Background()
	shared := &entratest.Storage{}
	a := f.client(t, f.secret, func(cfg *Config) { cfg.Cache = shared })
	code, _ := signIn(t, f, a, AuthorizationRequest{})
	tok, err := a.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead})
	if err != nil {
		t.Fatal(err)
	}
	siblingSecret, _ := credential.NewSecret("sibling-secret")
	b := f.client(t, siblingSecret, func(cfg *Config) { cfg.ClientID, cfg.Cache = sibling, shared })
	got, err := b.AcquireTokenSilent(ctx, tok.Account, TokenRequest{Scopes: userRead})
	if err != nil || got.FromCache {
		t.Fatalf("the family member could not use the family refresh token: %v %v", got, err)
	}
}

func TestUserFlowsOverMTLS(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.rsaCert, func(cfg *Config) { cfg.SendCertificateOverMTLS, cfg.Region = true, "westus2" })
	ctx := context.Background()
	code, a := signIn(t, f, c, AuthorizationRequest{})
	if !strings.HasPrefix(a.URL, "https://login.microsoftonline.com/") {
		t.Errorf("the authorization URL moved to %s", a.URL)
	}
	tok, err := c.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AcquireTokenSilent(ctx, tok.Account, TokenRequest{Scopes: userRead, ForceRefresh: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AcquireTokenByRefreshToken(ctx, tok.RefreshToken, TokenRequest{Scopes: userRead}); err == nil {
		t.Fatal("a rotated refresh token was accepted")
	}
	for _, r := range f.tokenRequests() {
		if r.Host != "westus2.mtlsauth.microsoft.com" || r.ClientCertificate == nil {
			t.Errorf("%s request went to %s (certificate %v)", r.Form.Get("grant_type"), r.Host, r.ClientCertificate != nil)
		}
	}
}

func TestClientClaimsOnUserFlows(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret, func(cfg *Config) { cfg.EnableClientClaims = true })
	ctx := context.Background()
	const claims = `{"xms_az_nwperimid":{"essential":true}}`
	code, _ := signIn(t, f, c, AuthorizationRequest{})
	tok, err := c.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead, ClientClaims: claims})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.tokenRequests()[0].Form.Get("claims"); got != claims {
		t.Errorf("claims sent %q", got)
	}
	hit, err := c.AcquireTokenSilent(ctx, tok.Account, TokenRequest{Scopes: userRead, ClientClaims: " { \"xms_az_nwperimid\" : {\"essential\":true} } "})
	if err != nil || !hit.FromCache {
		t.Fatalf("reformatted claims: %v %v", hit, err)
	}
	plain, err := c.AcquireTokenSilent(ctx, tok.Account, TokenRequest{Scopes: userRead})
	if err != nil || plain.FromCache || plain.AccessToken == tok.AccessToken {
		t.Fatalf("a request without claims got the claims token: %v %v", plain, err)
	}
	reqs := f.tokenRequests()
	if reqs[len(reqs)-1].Form.Has("claims") {
		t.Error("claims sent on a request without them")
	}
}

// BenchmarkSilentHit: a silent call served from the cache for one user
// among N cached users costs the same for any N.
func BenchmarkSilentHit(b *testing.B) {
	for _, users := range []int{1, 10_000} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			f := newFixture(b, entratest.Options{})
			c := f.client(b, f.secret)
			shared := c.pipe.Cache()
			now := time.Now()
			var last *entra.Account
			for i := range users {
				home := fmt.Sprintf("%08d-0000-4000-8000-000000000000.%s", i, tenant)
				at := tokencache.AccessToken{Key: tokencache.Key{Environment: c.env, ClientID: c.clientID, Tenant: tenant, Partition: home},
					HomeAccountID: home, Scopes: userRead, Secret: "at", CachedAt: now, ExpiresOn: now.Add(time.Hour)}
				acct := tokencache.Account{AccountKey: tokencache.AccountKey{HomeAccountID: home, Environment: c.env, Realm: tenant},
					Username: fmt.Sprintf("user%d@contoso.example", i), AuthorityType: "MSSTS"}
				if err := shared.Save(context.Background(), tokencache.Entries{AccessToken: &at, Account: &acct}, now); err != nil {
					b.Fatal(err)
				}
				last = &entra.Account{HomeAccountID: home}
			}
			req := TokenRequest{Scopes: userRead}
			for b.Loop() {
				tok, err := c.AcquireTokenSilent(context.Background(), last, req)
				if err != nil || !tok.FromCache {
					b.Fatal(tok, err)
				}
			}
		})
	}
}

// TestUserFlowSecretsNeverShow: codes, verifiers, ID tokens and refresh
// tokens stay out of errors, log lines and every printed form.
func TestUserFlowSecretsNeverShow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := f.client(t, f.secret, func(cfg *Config) { cfg.Logger = logger })
	ctx := context.Background()
	code, a := signIn(t, f, c, AuthorizationRequest{})
	tok, err := c.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead})
	if err != nil {
		t.Fatal(err)
	}
	texts := append(fmtAll(code), fmtAll(a)...)
	texts = append(texts, fmtAll(tok)...)
	texts = append(texts, fmtAll(tokencache.IDToken{Secret: tok.IDToken})...)
	_, err = c.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead}) // replayed
	texts = append(texts, errText(err))
	_, err = c.AcquireTokenByRefreshToken(ctx, "rt-that-the-service-refuses-9f8e", TokenRequest{Scopes: userRead})
	texts = append(texts, errText(err))
	f.em.RevokeRefreshTokens()
	_, err = c.AcquireTokenSilent(ctx, tok.Account, TokenRequest{Scopes: userRead, ForceRefresh: true})
	texts = append(texts, errText(err), logs.String())
	if !strings.Contains(logs.String(), "entra: http") {
		t.Fatal("the debug logger saw no request; the test would prove nothing")
	}
	all := strings.Join(texts, "\n")
	for name, secret := range map[string]string{"code": code.Code, "verifier": code.CodeVerifier, "access token": tok.AccessToken,
		"ID token": tok.IDToken, "refresh token": tok.RefreshToken, "refused refresh token": "rt-that-the-service-refuses-9f8e"} {
		if secret == "" {
			t.Fatalf("no %s to look for", name)
		}
		if strings.Contains(all, secret) {
			t.Errorf("the %s appears in an error, a printed value or a log line", name)
		}
	}
}

// TestUserFlowsOnEveryAuthorityKind: the code is redeemed and the ID token
// checked against each kind of authority's issuer (B2C's from its policy's
// discovery document), then silent serves the cached token.
func TestUserFlowsOnEveryAuthorityKind(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{ExtraHosts: []string{"idp.contoso.test", "adfs.contoso.test"}})
	for _, tt := range []struct {
		name, authority string
		kind            AuthorityKind
	}{
		{"entra id by tenant id", "https://login.microsoftonline.com/" + tenant, AuthorityAuto},
		{"entra id by domain", "https://login.microsoftonline.com/contoso.onmicrosoft.com", AuthorityAuto},
		{"entra id common", "https://login.microsoftonline.com/common", AuthorityAuto},
		{"b2c", "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin", AuthorityAuto},
		{"generic oidc", "https://idp.contoso.test/oidc", AuthorityOIDC},
		{"ad fs", "https://adfs.contoso.test/adfs", AuthorityAuto},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := f.client(t, f.secret, func(cfg *Config) { cfg.Authority, cfg.AuthorityKind = tt.authority, tt.kind })
			code, _ := signIn(t, f, c, AuthorizationRequest{})
			tok, err := c.AcquireTokenByAuthCode(context.Background(), code, TokenRequest{Scopes: userRead})
			if err != nil {
				t.Fatalf("redeeming the code: %v", err)
			}
			again, err := c.AcquireTokenSilent(context.Background(), tok.Account, TokenRequest{Scopes: userRead})
			if err != nil || !again.FromCache {
				t.Fatalf("silent: %v %v", again, err)
			}
		})
	}
}

// TestSilentHitAllocatesNothing: a signed-in user's cached token costs no
// allocation (the account it carries is built once per change of the
// cache's accounts).
func TestSilentHitAllocatesNothing(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.rsaCert)
	ctx := context.Background()
	code, _ := signIn(t, f, c, AuthorizationRequest{})
	tok, err := c.AcquireTokenByAuthCode(ctx, code, TokenRequest{Scopes: userRead})
	if err != nil {
		t.Fatal(err)
	}
	acct := tok.Account
	if n := testing.AllocsPerRun(200, func() {
		if _, err := c.AcquireTokenSilent(ctx, acct, TokenRequest{Scopes: userRead}); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("a silent hit allocates %v times, want 0", n)
	}
}
