package confidential

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/authority"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/internal/budget"
	"github.com/entra-go/entra/internal/oauth"
)

// reservedScopes are added to every user flow: an ID token, the user's
// profile and a refresh token. An array, so no one can change it.
var reservedScopes = [...]string{"openid", "profile", "offline_access"}

// AuthorizationRequest describes the sign-in page a web app sends its user
// to (the front channel of the authorization code flow).
type AuthorizationRequest struct {
	// RedirectURI is where the user comes back with a code; it must be
	// registered for the application. Required.
	RedirectURI string
	// Scopes to consent to; openid, profile and offline_access are added.
	Scopes []string
	// State and Nonce are generated when empty.
	State, Nonce string
	// Prompt is "", "login", "consent", "select_account" or "none".
	Prompt string
	// LoginHint and DomainHint pre-fill the sign-in page.
	LoginHint, DomainHint string
	// ResponseMode is "", "query" or "form_post".
	ResponseMode string
	// Claims is a claims request (e.g. a claims challenge); capabilities
	// are merged into it.
	Claims string
	// ClientClaims are refused here: client-originated claims belong in
	// the token request, not in a URL that passes through the browser.
	ClientClaims string
	// Tenant overrides the authority's tenant.
	Tenant string
	// ExtraQuery holds more query parameters (e.g. for B2C or an OIDC
	// provider); it cannot replace the parameters above.
	ExtraQuery url.Values
}

// Authorization is a sign-in URL and the values the app keeps (in the
// user's session) to redeem what comes back.
type Authorization struct {
	URL string
	// State must come back unchanged to the redirect URI (see CodeFromRedirect).
	State string
	// Nonce is checked in the ID token when the code is redeemed.
	Nonce string
	// CodeVerifier is the PKCE secret the code is bound to.
	CodeVerifier string
}

// AuthCode is an authorization code to redeem.
type AuthCode struct {
	Code         string
	RedirectURI  string
	CodeVerifier string
	// Nonce, if set, must equal the ID token's nonce.
	Nonce string
}

// AuthCodeURL builds the URL of the sign-in page, with a PKCE challenge
// (S256) whose verifier the result carries. It makes no request except, for
// a generic OIDC authority, fetching its discovery document.
func (c *Client) AuthCodeURL(ctx context.Context, req AuthorizationRequest) (Authorization, error) {
	if strings.TrimSpace(req.ClientClaims) != "" {
		return Authorization{}, entra.Errorf(entra.CodeInvalidRequest,
			"client claims are not sent on the authorization URL, which passes through the browser; give them to the token request instead")
	}
	if req.RedirectURI == "" {
		return Authorization{}, entra.Errorf(entra.CodeInvalidRequest, "a redirect URI is required")
	}
	auth, err := c.requestAuthority(TokenRequest{Scopes: append(slices.Clone(req.Scopes), "openid"), Tenant: req.Tenant})
	if err != nil {
		return Authorization{}, err
	}
	ctx, cancel := budget.With(ctx, c.timeout)
	defer cancel()
	endpoints, err := c.resolver.Resolve(ctx, auth, authority.ResolveOptions{})
	if err != nil {
		return Authorization{}, err
	}
	if endpoints.Authorization == "" {
		return Authorization{}, entra.Errorf(entra.CodeInvalidAuthority, "the authority has no authorization endpoint")
	}
	u, err := url.Parse(endpoints.Authorization)
	if err != nil {
		return Authorization{}, entra.WrapError(entra.CodeInvalidAuthority, err, "the authorization endpoint is not a URL")
	}
	a := Authorization{State: req.State, Nonce: req.Nonce, CodeVerifier: randomString(32)}
	if a.State == "" {
		a.State = randomString(16)
	}
	if a.Nonce == "" {
		a.Nonce = randomString(16)
	}
	q := u.Query()
	for k, v := range req.ExtraQuery {
		q[k] = slices.Clone(v)
	}
	challenge := sha256.Sum256([]byte(a.CodeVerifier))
	set := map[string]string{
		"client_id": c.clientID, "response_type": "code", "redirect_uri": req.RedirectURI,
		"scope": userScope(req.Scopes), "state": a.State, "nonce": a.Nonce,
		"code_challenge": base64.RawURLEncoding.EncodeToString(challenge[:]), "code_challenge_method": "S256",
		"client_info": "1", "prompt": req.Prompt, "login_hint": req.LoginHint,
		"domain_hint": req.DomainHint, "response_mode": req.ResponseMode,
	}
	requestClaims, err := c.requestClaims(req.Claims, "")
	if err != nil {
		return Authorization{}, err
	}
	set["claims"] = requestClaims
	for k, v := range set {
		if v == "" {
			q.Del(k)
			continue
		}
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	a.URL = u.String()
	return a, nil
}

// CodeFromRedirect checks the query a redirect URI received (or a
// form_post body) against the state the authorization was sent with, and
// returns the code. An error the service sent back is returned as an
// *entra.Error with its code; a state that does not match (a forged or
// crossed request) as entra.CodeStateMismatch.
func CodeFromRedirect(wantState string, query url.Values) (string, error) {
	if subtle.ConstantTimeCompare([]byte(query.Get("state")), []byte(wantState)) != 1 || wantState == "" {
		return "", entra.Errorf(entra.CodeStateMismatch, "the redirect's state does not match the authorization request's; refuse it")
	}
	if code := query.Get("error"); code != "" {
		return "", &entra.Error{Code: entra.Code(code), Message: "the sign-in failed", Description: query.Get("error_description")}
	}
	code := query.Get("code")
	if code == "" {
		return "", entra.Errorf(entra.CodeInvalidRequest, "the redirect carries no code")
	}
	return code, nil
}

// AcquireTokenByAuthCode redeems an authorization code for the user's
// tokens and caches them with the user's account.
func (c *Client) AcquireTokenByAuthCode(ctx context.Context, code AuthCode, req TokenRequest) (entra.Token, error) {
	if code.Code == "" || code.RedirectURI == "" {
		return entra.Token{}, entra.Errorf(entra.CodeInvalidRequest, "the code and the redirect URI are required")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code.Code}, "redirect_uri": {code.RedirectURI}}
	if code.CodeVerifier != "" {
		form.Set("code_verifier", code.CodeVerifier)
	}
	return c.redeemForUser(ctx, req, form, code.Nonce)
}

// AcquireTokenByRefreshToken redeems a refresh token the caller holds
// (obtained elsewhere, e.g. migrated from another library) and caches the
// result with the user's account.
func (c *Client) AcquireTokenByRefreshToken(ctx context.Context, refreshToken string, req TokenRequest) (entra.Token, error) {
	if strings.TrimSpace(refreshToken) == "" {
		return entra.Token{}, entra.Errorf(entra.CodeInvalidRequest, "the refresh token is empty")
	}
	return c.redeemForUser(ctx, req, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}, "")
}

func (c *Client) redeemForUser(ctx context.Context, req TokenRequest, form url.Values, nonce string) (entra.Token, error) {
	if err := popUnsupported(req); err != nil {
		return entra.Token{}, err
	}
	auth, err := c.requestAuthority(req)
	if err != nil {
		return entra.Token{}, err
	}
	g := grant{req: req, auth: auth, reserved: true, user: true, nonce: nonce, form: form,
		key: cache.Key{Environment: c.env, ClientID: c.clientID, Tenant: auth.Tenant}}
	if g.req.ClientClaims, g.key.Ext, err = c.canonicalClientClaims(req.ClientClaims); err != nil {
		return entra.Token{}, err
	}
	// Nothing shares this request, but it is bounded like every other.
	ctx, cancel := budget.With(ctx, c.timeout)
	defer cancel()
	return c.fetch(ctx, g)
}

// AcquireTokenSilent returns a token for a signed-in user without user
// interaction: a cached access token, else one the cached refresh token
// (or the family's) is redeemed for. With none, or one the service
// refuses, it fails with entra.CodeInteractionRequired: sign the user in
// again. For a nil account it serves app tokens, as AcquireTokenForClient
// does.
func (c *Client) AcquireTokenSilent(ctx context.Context, account *entra.Account, req TokenRequest) (entra.Token, error) {
	if account == nil || account.HomeAccountID == "" {
		return c.AcquireTokenForClient(ctx, req)
	}
	if err := popUnsupported(req); err != nil {
		return entra.Token{}, err
	}
	auth, err := c.requestAuthority(req)
	if err != nil {
		return entra.Token{}, err
	}
	home := account.HomeAccountID
	key := cache.Key{Environment: c.env, ClientID: c.clientID, Tenant: c.accountRealm(auth, req.Tenant, home), Partition: home}
	if req.ClientClaims, key.Ext, err = c.canonicalClientClaims(req.ClientClaims); err != nil {
		return entra.Token{}, err
	}
	g := grant{req: req, auth: auth, key: key, reserved: true, user: true}
	fetch := func(ctx context.Context) (entra.Token, error) { return c.redeemCachedRefreshToken(ctx, g) }
	bypass := req.ForceRefresh || req.Claims != ""
	switch tok, status := c.fromCache(key, req.Scopes, bypass); status {
	case cache.Hit:
		tok.Account = c.account(home)
		return tok, nil
	case cache.HitRefresh:
		c.refreshInBackground(key, req, fetch)
		tok.Account = c.account(home)
		return tok, nil
	}
	tok, err := c.shared(ctx, key, req, fetch)
	if err == nil && tok.Account == nil {
		tok.Account = c.account(home)
	}
	return tok, err
}

// accountRealm is the tenant an account's tokens for auth are cached under:
// the authority's when it names a tenant by id, else the tenant the user
// signed in to (their only tenant profile, or their home tenant).
func (c *Client) accountRealm(auth authority.Authority, override, home string) string {
	if override != "" || auth.TenantIsID() {
		return auth.Tenant
	}
	a := c.account(home)
	if len(a.TenantProfiles) == 1 {
		return a.TenantProfiles[0].TenantID
	}
	if a.TenantID != "" {
		return strings.ToLower(a.TenantID)
	}
	return auth.Tenant
}

// redeemCachedRefreshToken redeems the account's refresh token, its own
// or its family's.
func (c *Client) redeemCachedRefreshToken(ctx context.Context, g grant) (entra.Token, error) {
	home := g.key.Partition
	candidates := []cache.RefreshKey{{Environment: c.env, ClientID: c.clientID, Partition: home}}
	// A family refresh token serves every client of the family, and a
	// client whose family is unknown may try it.
	if m, ok := c.cache.LookupAppMetadata(cache.AppKey{Environment: c.env, ClientID: c.clientID}); !ok || m.FamilyID != "" {
		candidates = append(candidates, cache.RefreshKey{Environment: c.env, FamilyID: "1", Partition: home})
	}
	var rejected error
	for _, rk := range candidates {
		tok, found, err := c.redeemCached(ctx, g, rk)
		if !found {
			continue
		}
		if entra.ErrorCode(err) != "invalid_grant" {
			return tok, err
		}
		rejected = err
	}
	if rejected != nil {
		return entra.Token{}, entra.WrapError(entra.CodeInteractionRequired, rejected,
			"the token service refused the cached refresh token (invalid_grant); sign the user in again")
	}
	return entra.Token{}, entra.Errorf(entra.CodeInteractionRequired,
		"no refresh token is cached for this account; sign the user in")
}

// Accounts lists the users signed in to this application whose tokens
// the cache holds (after reloading it from storage, if it has any).
func (c *Client) Accounts(ctx context.Context) ([]entra.Account, error) {
	if err := c.cache.Reload(ctx, ""); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []entra.Account
	for _, a := range c.cache.Accounts(c.env) {
		if seen[a.HomeAccountID] || !c.hasUserTokens(a.HomeAccountID) {
			continue
		}
		seen[a.HomeAccountID] = true
		out = append(out, *c.account(a.HomeAccountID))
	}
	slices.SortFunc(out, func(a, b entra.Account) int { return strings.Compare(a.Username, b.Username) })
	return out, nil
}

// Account finds a cached account by home account id or username
// (case-insensitive); entra.CodeInteractionRequired if there is none.
func (c *Client) Account(ctx context.Context, idOrUsername string) (entra.Account, error) {
	accounts, err := c.Accounts(ctx)
	if err != nil {
		return entra.Account{}, err
	}
	for _, a := range accounts {
		if a.HomeAccountID == idOrUsername || strings.EqualFold(a.Username, idOrUsername) {
			return a, nil
		}
	}
	return entra.Account{}, entra.Errorf(entra.CodeInteractionRequired, "no cached account matches; sign the user in")
}

// RemoveAccount signs a user out of the cache: their account, ID, access
// and refresh tokens for this application are deleted.
func (c *Client) RemoveAccount(ctx context.Context, account entra.Account) error {
	if account.HomeAccountID == "" {
		return entra.Errorf(entra.CodeInvalidRequest, "the account is empty")
	}
	return c.cache.RemoveAccount(ctx, c.env, c.clientID, account.HomeAccountID)
}

// hasUserTokens reports whether this client holds a refresh token or ID
// token for the account (the cache may be shared with other applications).
func (c *Client) hasUserTokens(home string) bool {
	for _, a := range c.cache.AccountsOf(c.env, home) {
		if _, ok := c.cache.LookupIDToken(cache.IDKey{HomeAccountID: home, Environment: c.env, ClientID: c.clientID, Realm: a.Realm}); ok {
			return true
		}
	}
	_, own := c.cache.LookupRefreshToken(cache.RefreshKey{Environment: c.env, ClientID: c.clientID, Partition: home})
	return own
}

// account assembles an Account from the cached per-tenant accounts.
func (c *Client) account(home string) *entra.Account {
	out := &entra.Account{HomeAccountID: home, Environment: c.env}
	homeTenant := ""
	if i := strings.LastIndexByte(home, '.'); i >= 0 {
		homeTenant = home[i+1:]
	}
	for _, a := range c.cache.AccountsOf(c.env, home) {
		p := entra.TenantProfile{TenantID: a.Realm, ObjectID: a.LocalAccountID, Home: a.Realm == homeTenant}
		out.TenantProfiles = append(out.TenantProfiles, p)
		if out.Username == "" || p.Home {
			out.Username, out.Name = a.Username, a.Name
		}
	}
	out.TenantID = homeTenant
	slices.SortFunc(out.TenantProfiles, func(a, b entra.TenantProfile) int { return strings.Compare(a.TenantID, b.TenantID) })
	return out
}

// userScope is the scope parameter of a user flow: the caller's scopes
// and the reserved ones, each once.
func userScope(scopes []string) string {
	out := slices.Clone(scopes)
	for _, r := range reservedScopes {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return strings.Join(out, " ")
}

// checkIDToken refuses an ID token that is not for this client, not from
// the authority, expired, or not the answer to the authorization request.
func (c *Client) checkIDToken(ctx context.Context, g grant, raw string) error {
	claims, err := oauth.ParseIDToken(raw)
	if err != nil {
		return err
	}
	issuer, err := c.resolver.Issuer(ctx, g.auth)
	if err != nil {
		return err
	}
	return claims.Check(oauth.IDCheck{ClientID: c.clientID, Issuer: issuer.Matches, Nonce: g.nonce, Now: time.Now()})
}

// userEntries turns a user flow's response into the account entries to
// cache, and the account to hand out.
func (c *Client) userEntries(g grant, tr oauth.TokenResponse) (cache.Entries, string, error) {
	var e cache.Entries
	var claims oauth.IDClaims
	if tr.IDToken != "" {
		var err error
		if claims, err = oauth.ParseIDToken(tr.IDToken); err != nil {
			return e, "", err
		}
	}
	home := ""
	if tr.ClientInfo != "" {
		var err error
		if home, err = oauth.ParseClientInfo(tr.ClientInfo); err != nil {
			return e, "", err
		}
	} else if claims.ObjectID != "" {
		home = claims.ObjectID + "." + claims.TenantID // AD FS and generic OIDC send no client_info
	}
	if home == "" {
		return e, "", entra.Errorf(entra.CodeInvalidResponse, "the user flow's response identifies no user (no client_info and no ID token)")
	}
	realm := strings.ToLower(claims.TenantID)
	if realm == "" {
		realm = g.auth.Tenant
	}
	if tr.IDToken != "" {
		e.IDToken = &cache.IDToken{IDKey: cache.IDKey{HomeAccountID: home, Environment: c.env, ClientID: c.clientID, Realm: realm}, Secret: tr.IDToken}
		e.Account = &cache.Account{
			AccountKey:     cache.AccountKey{HomeAccountID: home, Environment: c.env, Realm: realm},
			LocalAccountID: claims.ObjectID, Username: claims.PreferredUsername, Name: claims.Name,
			AuthorityType: authorityType(g.auth.Kind), ClientInfo: tr.ClientInfo,
		}
	}
	if tr.RefreshToken != "" {
		rk := cache.RefreshKey{Environment: c.env, ClientID: c.clientID, Partition: home}
		if tr.FamilyID != "" {
			rk.ClientID, rk.FamilyID = "", tr.FamilyID
		}
		e.RefreshToken = &cache.RefreshToken{RefreshKey: rk, IssuedTo: c.clientID, HomeAccountID: home, Target: tr.Scope, Secret: tr.RefreshToken}
	}
	e.AppMetadata = &cache.AppMetadata{AppKey: cache.AppKey{Environment: c.env, ClientID: c.clientID}, FamilyID: tr.FamilyID}
	return e, home, nil
}

func authorityType(k authority.Kind) string {
	switch k {
	case authority.KindADFS:
		return "ADFS"
	case authority.KindOIDC:
		return "Generic"
	}
	return "MSSTS"
}

// randomString is n random bytes in base64url: PKCE verifiers (43
// characters for 32 bytes, within RFC 7636's 43..128), states and nonces.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
