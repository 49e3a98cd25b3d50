package confidential

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/authority"
	"github.com/entra-go/entra/internal/clientauth"
	"github.com/entra-go/entra/internal/oauth"
	"github.com/entra-go/entra/internal/pipeline"
	"github.com/entra-go/entra/internal/tokencache"
	"github.com/entra-go/entra/internal/transport"
)

// grantType is the OAuth grant a request uses.
type grantType uint8

const (
	grantClient grantType = iota
	grantOBO
	grantAuthCode
	grantRefreshToken
	grantSilent
)

// flow names the grant for observers (entra.Acquisition.Flow).
func (k grantType) flow() string {
	return [...]string{"client_credentials", "on_behalf_of", "authorization_code", "refresh_token", "silent"}[k]
}

// grant is one acquisition, as the pipeline carries it from the caller to
// the fetch. It holds plain values only: the form is built on a miss.
type grant struct {
	kind grantType
	req  TokenRequest // ClientClaims in canonical form
	key  tokencache.Key
	// secret is the on-behalf-of user assertion, or the refresh token a
	// caller redeems.
	secret string
	// code is the authorization code to redeem.
	code *AuthCode
	// binding is the certificate the tokens are keyed by (PoP, bound
	// assertions), decided before the look-up.
	binding *clientauth.Binding
}

// user reports a user flow, whose answer makes an account.
func (g grant) user() bool { return g.kind >= grantAuthCode }

// fetcher is the pipeline's view of a Client.
type fetcher Client

// Fetch gets a token for g from the token service.
func (f *fetcher) Fetch(ctx context.Context, g grant, requested time.Time) (pipeline.Answer, error) {
	c := (*Client)(f)
	switch g.kind {
	case grantOBO:
		return c.fetchOnBehalfOf(ctx, g, requested)
	case grantSilent:
		return c.redeemAccountRefreshToken(ctx, g, requested)
	}
	return c.request(ctx, g, grantForm(g), requested)
}

// grantForm is the grant's own part of the form.
func grantForm(g grant) url.Values {
	switch g.kind {
	case grantOBO:
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
			"requested_token_use": {"on_behalf_of"}, "assertion": {g.secret}}
	case grantAuthCode:
		form := url.Values{"grant_type": {"authorization_code"}, "code": {g.code.Code}, "redirect_uri": {g.code.RedirectURI}}
		if g.code.CodeVerifier != "" {
			form.Set("code_verifier", g.code.CodeVerifier)
		}
		return form
	case grantRefreshToken:
		return refreshForm(g.secret)
	}
	return url.Values{"grant_type": {"client_credentials"}}
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
}

// route is where a request goes and what it presents, decided before the
// credential is asked for anything.
type route struct {
	endpoints authority.Endpoints
	binding   *clientauth.Binding // presented in the TLS handshake; nil for none
	proxy     *clientauth.Proxy   // where the request goes instead; nil for none
	pop       bool
}

// route decides the host, region and mutual TLS of g from the request and
// from what the credential declares.
func (c *Client) route(ctx context.Context, g grant, auth authority.Authority) (route, error) {
	r := route{pop: g.req.MTLSPoP, binding: g.binding}
	bound := c.certified != nil && c.certified.Bound()
	overMTLS := c.sendOverMTLS || r.pop || bound
	if r.pop {
		if err := c.checkPoP(auth, r.binding); err != nil {
			return route{}, err
		}
	}
	if overMTLS && r.binding == nil {
		var err error
		if r.binding, err = c.certified.Certificate(ctx); err != nil {
			return route{}, err
		}
	}
	// Regions apply to client credentials, and to every flow over mTLS.
	opts := authority.ResolveOptions{Regional: g.kind == grantClient || overMTLS, MTLS: overMTLS}
	var err error
	r.endpoints, err = c.resolver.Resolve(ctx, auth, opts)
	if p, ok := c.cred.(clientauth.Proxied); ok && err == nil {
		r.proxy = p.Proxy()
	}
	return r, err
}

// request sends one token request with form as the grant's part and turns
// the answer into what the pipeline stores.
func (c *Client) request(ctx context.Context, g grant, form url.Values, requested time.Time) (pipeline.Answer, error) {
	auth, err := c.requestAuthority(g.req)
	if err != nil {
		return pipeline.Answer{}, err
	}
	r, err := c.route(ctx, g, auth)
	if err != nil {
		return pipeline.Answer{}, err
	}
	correlationID := g.req.CorrelationID
	if correlationID == "" {
		correlationID = transport.NewCorrelationID()
	}
	requestClaims, err := c.requestClaims(g.req.Claims, g.req.ClientClaims)
	if err != nil {
		return pipeline.Answer{}, err
	}
	material, err := c.cred.Material(ctx, clientauth.Request{
		ClientID: c.clientID, TokenEndpoint: r.endpoints.Token, Dialect: c.dialect,
		IncludeX5C: r.binding != nil && !r.pop, CertificateOnly: r.pop,
		Tenant: auth.Tenant, CorrelationID: correlationID, Claims: g.req.Claims, Capabilities: c.capabilities,
	})
	if err != nil {
		return pipeline.Answer{}, err
	}
	c.completeForm(form, g, auth, r, material, requestClaims)
	tc, endpoint := c.transport, r.endpoints.Token
	if r.proxy != nil {
		tc, endpoint = c.transport.With(r.proxy.HTTP), r.proxy.Rewrite(endpoint)
	}
	if r.binding != nil {
		hc, err := c.mtlsClients.Client(r.binding.TLS)
		if err != nil {
			return pipeline.Answer{}, err
		}
		tc = c.transport.With(hc)
	}
	resp, err := tc.PostForm(ctx, endpoint, form, correlationID, c.retry)
	if err != nil {
		return pipeline.Answer{}, err
	}
	wantType := entra.TokenTypeBearer
	if r.pop && auth.Kind != authority.KindOIDC {
		wantType = entra.TokenTypeMTLSPoP
	}
	tr, err := oauth.ParseToken(resp, wantType)
	if err != nil {
		return pipeline.Answer{}, err
	}
	if g.user() && tr.IDToken != "" {
		if err := c.checkIDToken(ctx, g, auth, tr.IDToken); err != nil {
			return pipeline.Answer{}, err
		}
	}
	a, err := c.answer(g, auth, tr, requested)
	if err != nil {
		return pipeline.Answer{}, err
	}
	a.Token.TokenEndpoint, a.Token.Region = endpoint, r.endpoints.Region
	if r.pop {
		a.Token.BindingCertificate = r.binding.TLS
	}
	return a, nil
}

// completeForm adds what every grant sends: the client, the scopes, the
// client authentication, the token type and the claims.
func (c *Client) completeForm(form url.Values, g grant, auth authority.Authority, r route, m clientauth.Material, requestClaims string) {
	form.Set("client_id", c.clientID)
	form.Set("client_info", "1")
	scope := strings.Join(g.req.Scopes, " ")
	if g.kind != grantClient {
		scope = userScope(g.req.Scopes, g.req.ReservedScopes)
	}
	form.Set("scope", scope)
	switch {
	case m.ClientSecret != "":
		form.Set("client_secret", m.ClientSecret)
	case m.Assertion != "":
		form.Set("client_assertion_type", m.AssertionType)
		form.Set("client_assertion", m.Assertion)
	}
	// RFC 8705 binds a token to the certificate without a token type of
	// its own: on a generic OIDC authority it stays a Bearer token.
	if r.pop && auth.Kind != authority.KindOIDC {
		form.Set("token_type", entra.TokenTypeMTLSPoP)
	}
	if requestClaims != "" {
		form.Set("claims", requestClaims)
	}
}

// fetchOnBehalfOf redeems the refresh token cached for the assertion when
// there is one, and falls back to the assertion if the server refuses it.
func (c *Client) fetchOnBehalfOf(ctx context.Context, g grant, requested time.Time) (pipeline.Answer, error) {
	rk := tokencache.RefreshKey{Environment: c.env, ClientID: c.clientID, Partition: g.key.Partition}
	if a, found, err := c.redeemCached(ctx, g, rk, requested); found && entra.ErrorCode(err) != "invalid_grant" {
		return a, err
	}
	return c.request(ctx, g, grantForm(g), requested)
}

// redeemCached redeems the refresh token cached under rk for g. found is
// false when there is none. A token the service refuses (invalid_grant) is
// removed from the cache, and the service's error returned.
func (c *Client) redeemCached(ctx context.Context, g grant, rk tokencache.RefreshKey, requested time.Time) (a pipeline.Answer, found bool, err error) {
	store := c.pipe.Cache()
	rt, ok := store.LookupRefreshToken(rk)
	if !ok {
		return pipeline.Answer{}, false, nil
	}
	a, err = c.request(ctx, g, refreshForm(rt.Secret), requested)
	if entra.ErrorCode(err) == "invalid_grant" {
		if err := store.RemoveRefreshToken(ctx, rk, rt.Secret); err != nil && c.logger != nil {
			c.logger.Warn("entra: the cache storage failed; tokens are kept in memory", "error", err)
		}
	}
	return a, true, err
}
