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
	"github.com/entra-go/entra/internal/authority"
	"github.com/entra-go/entra/internal/budget"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/oauth"
	"github.com/entra-go/entra/internal/pipeline"
	"github.com/entra-go/entra/internal/tokencache"
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
	// ReservedScopes are the OpenID scopes added to Scopes; nil means
	// openid, profile and offline_access.
	ReservedScopes []string
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
		return Authorization{}, errs.New(entra.CodeInvalidArgument,
			"client claims are not sent on the authorization URL, which passes through the browser; give them to the token request instead")
	}
	if req.RedirectURI == "" {
		return Authorization{}, errs.New(entra.CodeInvalidArgument, "a redirect URI is required")
	}
	auth, err := c.requestAuthority(TokenRequest{Scopes: append(slices.Clone(req.Scopes), "openid"), Tenant: req.Tenant})
	if err != nil {
		return Authorization{}, err
	}
	ctx, cancel := budget.With(ctx, c.pipe.Timeout())
	defer cancel()
	endpoints, err := c.resolver.Resolve(ctx, auth, authority.ResolveOptions{})
	if err != nil {
		return Authorization{}, err
	}
	if endpoints.Authorization == "" {
		return Authorization{}, errs.New(entra.CodeInvalidAuthority, "the authority has no authorization endpoint")
	}
	u, err := url.Parse(endpoints.Authorization)
	if err != nil {
		return Authorization{}, errs.Wrap(entra.CodeInvalidAuthority, err, "the authorization endpoint is not a URL")
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
		"scope": userScope(req.Scopes, req.ReservedScopes), "state": a.State, "nonce": a.Nonce,
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
		return "", errs.New(entra.CodeStateMismatch, "the redirect's state does not match the authorization request's; refuse it")
	}
	if code := query.Get("error"); code != "" {
		return "", &entra.Error{Code: entra.Code(code), Message: "the sign-in failed", Description: query.Get("error_description")}
	}
	code := query.Get("code")
	if code == "" {
		return "", errs.New(entra.CodeInvalidArgument, "the redirect carries no code")
	}
	return code, nil
}

// AcquireTokenByAuthCode redeems an authorization code for the user's
// tokens and caches them with the user's account.
func (c *Client) AcquireTokenByAuthCode(ctx context.Context, code AuthCode, req TokenRequest) (entra.Token, error) {
	if code.Code == "" || code.RedirectURI == "" {
		return entra.Token{}, errs.New(entra.CodeInvalidArgument, "the code and the redirect URI are required")
	}
	return c.redeem(ctx, grant{kind: grantAuthCode, req: req, code: &code})
}

// AcquireTokenByRefreshToken redeems a refresh token the caller holds
// (obtained elsewhere, e.g. migrated from another library) and caches the
// result with the user's account.
func (c *Client) AcquireTokenByRefreshToken(ctx context.Context, refreshToken string, req TokenRequest) (entra.Token, error) {
	if strings.TrimSpace(refreshToken) == "" {
		return entra.Token{}, errs.New(entra.CodeInvalidArgument, "the refresh token is empty")
	}
	return c.redeem(ctx, grant{kind: grantRefreshToken, req: req, secret: refreshToken})
}

// redeem runs a user grant that reads no cache and is shared with no one.
func (c *Client) redeem(ctx context.Context, g grant) (entra.Token, error) {
	if err := onlyForClientCredentials(g.req); err != nil {
		return entra.Token{}, err
	}
	g.key = tokencache.Key{Environment: c.env, ClientID: c.clientID, Tenant: c.tenantKey(g.req.Tenant)}
	var err error
	if g.req.ClientClaims, g.key.Ext, err = c.canonicalClientClaims(g.req.ClientClaims); err != nil {
		return entra.Token{}, err
	}
	if g.binding, err = c.binding(ctx, false); err != nil {
		return entra.Token{}, err
	}
	if g.binding != nil {
		g.key.KeyID = g.binding.Thumbprint
	}
	tok, err := c.pipe.Redeem(ctx, g.kind.flow(), g)
	if err != nil {
		return entra.Token{}, err
	}
	tok.Account = c.account(tok.Account.HomeAccountID) // with the tenant profile just stored
	return tok, nil
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
	if err := onlyForClientCredentials(req); err != nil {
		return entra.Token{}, err
	}
	// As for client credentials, a hit needs no validation: nothing
	// invalid is cached, and the fetch validates the request.
	home := account.HomeAccountID
	q := pipeline.Query{Key: tokencache.Key{Environment: c.env, ClientID: c.clientID, Tenant: c.accountRealm(req.Tenant, home), Partition: home}}
	var err error
	if req.ClientClaims, q.Key.Ext, err = c.canonicalClientClaims(req.ClientClaims); err != nil {
		return entra.Token{}, err
	}
	tok, err := c.acquire(ctx, grantSilent, &req, &q, "")
	if err != nil {
		return entra.Token{}, err
	}
	tok.Account = c.sharedAccount(home)
	return tok, nil
}

// accountRealm is the tenant an account's tokens are cached under: the
// request's tenant, or the authority's when it names a tenant by id, else
// the tenant the user signed in to (their only tenant profile, or their
// home tenant).
func (c *Client) accountRealm(override, home string) string {
	switch {
	case override != "":
		return c.tenantKey(override)
	case c.tenantIsID:
		return c.auth.Tenant
	}
	a := c.account(home)
	if len(a.TenantProfiles) == 1 {
		return a.TenantProfiles[0].TenantID
	}
	if a.TenantID != "" {
		return strings.ToLower(a.TenantID)
	}
	return c.auth.Tenant
}

// redeemAccountRefreshToken redeems the account's refresh token, its own
// or its family's.
func (c *Client) redeemAccountRefreshToken(ctx context.Context, g grant, requested time.Time) (pipeline.Answer, error) {
	home := g.key.Partition
	candidates := []tokencache.RefreshKey{{Environment: c.env, ClientID: c.clientID, Partition: home}}
	// A family refresh token serves every client of the family, and a
	// client whose family is unknown may try it.
	if m, ok := c.pipe.Cache().LookupAppMetadata(tokencache.AppKey{Environment: c.env, ClientID: c.clientID}); !ok || m.FamilyID != "" {
		candidates = append(candidates, tokencache.RefreshKey{Environment: c.env, FamilyID: "1", Partition: home})
	}
	var rejected error
	for _, rk := range candidates {
		a, found, err := c.redeemCached(ctx, g, rk, requested)
		if !found {
			continue
		}
		if entra.ErrorCode(err) != "invalid_grant" {
			return a, err
		}
		rejected = err
	}
	if rejected != nil {
		return pipeline.Answer{}, errs.Wrap(entra.CodeInteractionRequired, rejected,
			"the token service refused the cached refresh token (invalid_grant); sign the user in again")
	}
	return pipeline.Answer{}, errs.New(entra.CodeInteractionRequired,
		"no refresh token is cached for this account; sign the user in")
}

// userScope is the scope parameter of a user flow: the caller's scopes
// and the reserved ones (nil: openid, profile, offline_access), each once.
func userScope(scopes, reserved []string) string {
	if reserved == nil {
		reserved = reservedScopes[:]
	}
	out := slices.Clone(scopes)
	for _, r := range reserved {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return strings.Join(out, " ")
}

// checkIDToken refuses an ID token that is not for this client, not from
// the authority, expired, or not the answer to the authorization request.
func (c *Client) checkIDToken(ctx context.Context, g grant, auth authority.Authority, raw string) error {
	claims, err := oauth.ParseIDToken(raw)
	if err != nil {
		return err
	}
	issuer, err := c.resolver.Issuer(ctx, auth)
	if err != nil {
		return err
	}
	nonce := ""
	if g.code != nil {
		nonce = g.code.Nonce
	}
	return claims.Check(oauth.IDCheck{ClientID: c.clientID, Issuer: issuer.Matches, Nonce: nonce, Now: time.Now()})
}

// randomString is n random bytes in base64url: PKCE verifiers (43
// characters for 32 bytes, within RFC 7636's 43..128), states and nonces.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
