// Package confidential is a confidential client of Microsoft Entra ID: an
// application that can keep a secret or a private key and gets tokens for
// itself (client credentials), for the users who call it (on-behalf-of),
// and for the users who sign in to it (auth code with PKCE, then silent
// acquisition from the cache or with the user's refresh token).
//
// A request flows one way: the cache is read; on a miss, concurrent callers
// for the same token share one request (single-flight); the endpoint is
// resolved (aliases, instance discovery, region, mTLS host); the credential
// supplies its material (a secret, an assertion, a certificate to present);
// the transport sends the request with the token service's retry policy,
// over mutual TLS when a certificate is presented; and the answer is
// checked and cached.
//
// With Config.SendCertificateOverMTLS a certificate credential is
// presented in the TLS handshake of every flow, at the cloud's mTLS host;
// TokenRequest.MTLSPoP asks for a token bound to the certificate.
package confidential

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/authority"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/claims"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/internal/clock"
	"github.com/entra-go/entra/internal/flight"
	"github.com/entra-go/entra/internal/mtls"
	"github.com/entra-go/entra/internal/oauth"
	"github.com/entra-go/entra/internal/transport"
)

// DefaultRequestTimeout bounds one token acquisition shared by concurrent
// callers, whatever their own deadlines.
const DefaultRequestTimeout = 30 * time.Second

// Config configures a Client. Authority, ClientID and Credential are required.
type Config struct {
	// Authority is the authority URL, e.g.
	// https://login.microsoftonline.com/contoso.onmicrosoft.com (AAD, any cloud),
	// https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin (B2C),
	// https://adfs.contoso.com/adfs (AD FS), or an OIDC issuer with AuthorityKind KindOIDC.
	Authority string
	// AuthorityKind forces the kind of authority; the zero value detects it.
	AuthorityKind authority.Kind
	// ClientID is the application (client) id.
	ClientID string
	// Credential authenticates the client: a *credential.Secret,
	// *credential.Certificate or credential.AssertionFunc.
	Credential credential.Credential
	// Region is "" (global endpoint), an Azure region name such as "eastus",
	// or "auto" to detect it. Used by client credentials.
	Region string
	// DisableInstanceDiscovery trusts an unknown authority host as is.
	DisableInstanceDiscovery bool
	// Capabilities are client capabilities (e.g. "cp1") announced on every request.
	Capabilities []string
	// EnableClientClaims opts in to TokenRequest.ClientClaims, a preview
	// feature of the token service.
	EnableClientClaims bool
	// HTTPClient sends every request; nil uses a client with a 30 s timeout.
	HTTPClient *http.Client
	// Cache holds the tokens; nil gives the client a private in-memory cache.
	// Several clients may share one cache.
	Cache *cache.Cache
	// Logger receives debug records without secrets; nil disables logging.
	Logger *slog.Logger
	// RequestTimeout bounds one shared token request; zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// SendCertificateOverMTLS presents the certificate credential in the
	// TLS handshake of every token request (client credentials,
	// on-behalf-of, auth code, refresh token, silent) and sends them to the
	// cloud's mTLS token host; the client assertion still goes in the body,
	// with x5c. Tokens stay Bearer tokens. It needs a *credential.Certificate.
	SendCertificateOverMTLS bool
	// MTLSHTTPClient, if set, returns the HTTP client that presents a given
	// certificate. Nil clones HTTPClient's *http.Transport per certificate.
	// Clients are kept per certificate (by SHA-256), so connections, and
	// TLS sessions, are reused.
	MTLSHTTPClient func(cert *tls.Certificate) (*http.Client, error)

	// now is the clock; tests of expiry set it through an export_test.go hook.
	now func() time.Time
}

// TokenRequest describes the token a caller wants.
type TokenRequest struct {
	// Scopes the token is for, e.g. "https://graph.microsoft.com/.default".
	Scopes []string
	// Tenant overrides the authority's tenant for this request (AAD only).
	Tenant string
	// Claims is a claims challenge received from a resource (the claims of
	// a WWW-Authenticate header or of an *entra.Error). It bypasses the
	// cache read; the new token is cached.
	Claims string
	// ClientClaims is a JSON claims request originated by this client, for
	// example {"xms_az_nwperimid":{"essential":true}} (network perimeter).
	// Unlike Claims it does not bypass the cache: tokens are cached per
	// claims value, compared in canonical form, so formatting differences
	// share one entry. Requires Config.EnableClientClaims; blank is no claims.
	ClientClaims string
	// ForceRefresh skips the cache read.
	ForceRefresh bool
	// CorrelationID is sent as client-request-id; empty means a random one.
	CorrelationID string
	// MTLSPoP asks for an mTLS proof-of-possession token (token_type
	// mtls_pop), bound to the client's certificate, which then authenticates
	// the client in the TLS handshake: no assertion is sent. It needs a
	// certificate (a *credential.Certificate, or an assertion callback that
	// returns a binding certificate) and a tenanted authority. For a generic
	// OIDC authority it is an RFC 8705 certificate-bound token request.
	// Client credentials only.
	MTLSPoP bool
}

// Client gets tokens for a confidential application. It is safe for
// concurrent use; create one per application and reuse it.
type Client struct {
	clientID     string
	auth         authority.Authority
	env          string
	cred         credential.Credential
	dialect      credential.Dialect
	capabilities []string
	capClaims    string // canonical capabilities claims, sent when no other claims are
	clientClaims bool   // the client-claims preview is enabled
	resolver     *authority.Resolver
	transport    *transport.Client
	cache        *cache.Cache
	flights      flight.Group[entra.Token]
	timeout      time.Duration
	logger       *slog.Logger
	now          func() time.Time

	sendOverMTLS bool
	mtlsClients  *mtls.Pool
	// binding is the certificate PoP tokens are keyed by: the certificate
	// credential's, or the one an assertion callback last returned.
	binding atomic.Pointer[bindingCert]
}

// bindingCert is a certificate and its x5t#S256.
type bindingCert struct {
	thumbprint string
	leaf       *x509.Certificate
}

// New validates cfg and returns a Client. It makes no network call.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, entra.Errorf(entra.CodeInvalidRequest, "a client id is required")
	}
	if cfg.Credential == nil {
		return nil, entra.Errorf(entra.CodeInvalidCredentialMaterial, "a credential is required")
	}
	auth, err := authority.Parse(cfg.Authority, cfg.AuthorityKind)
	if err != nil {
		return nil, err
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultRequestTimeout}
	}
	resolver, err := authority.NewResolver(authority.ResolverConfig{
		HTTPClient:               httpClient,
		DisableInstanceDiscovery: cfg.DisableInstanceDiscovery,
		Region:                   cfg.Region,
	})
	if err != nil {
		return nil, err
	}
	capClaims, err := claims.WithCapabilities("", cfg.Capabilities)
	if err != nil {
		return nil, err
	}
	c := &Client{
		clientID:     cfg.ClientID,
		auth:         auth,
		env:          auth.CacheEnvironment(),
		cred:         cfg.Credential,
		dialect:      dialectOf(auth.Kind),
		capabilities: append([]string(nil), cfg.Capabilities...),
		capClaims:    capClaims,
		clientClaims: cfg.EnableClientClaims,
		resolver:     resolver,
		transport:    &transport.Client{HTTP: httpClient, Logger: cfg.Logger},
		cache:        cfg.Cache,
		timeout:      cfg.RequestTimeout,
		logger:       cfg.Logger,
		now:          cfg.now,
	}
	if c.cache == nil {
		c.cache = cache.New()
	}
	if c.timeout <= 0 {
		c.timeout = DefaultRequestTimeout
	}
	if c.now == nil {
		c.now = clock.New().Now
	}
	cert, isCert := cfg.Credential.(*credential.Certificate)
	if cfg.SendCertificateOverMTLS && !isCert {
		return nil, entra.Errorf(entra.CodeInvalidCredentialMaterial,
			"SendCertificateOverMTLS needs a certificate credential; a %s has no certificate to present", credentialKind(cfg.Credential))
	}
	if isCert {
		c.binding.Store(&bindingCert{thumbprint: cert.Thumbprint(), leaf: cert.Leaf()})
	}
	c.sendOverMTLS = cfg.SendCertificateOverMTLS
	c.mtlsClients = mtls.NewPool(httpClient, cfg.MTLSHTTPClient, 0)
	return c, nil
}

func credentialKind(c credential.Credential) string {
	switch c.(type) {
	case *credential.Secret:
		return "client secret"
	case credential.AssertionFunc:
		return "client assertion callback (it returns its binding certificate itself)"
	}
	return fmt.Sprintf("%T", c)
}

// grant is one token request to make on a cache miss.
type grant struct {
	req      TokenRequest
	auth     authority.Authority
	key      cache.Key
	regional bool
	form     url.Values // grant-specific fields
	reserved bool       // add openid profile offline_access to scope
	user     bool       // a user flow: the response makes an account
	nonce    string     // the ID token's expected nonce, if any
}

// AcquireTokenForClient gets an app-only token (client credentials grant).
func (c *Client) AcquireTokenForClient(ctx context.Context, req TokenRequest) (entra.Token, error) {
	// A hit needs no validation: nothing invalid is ever cached, so an
	// invalid request can only miss, and the miss path validates it. The
	// fetch closure is built only off the hit path: a hit allocates nothing.
	key := cache.Key{Environment: c.env, ClientID: c.clientID, Tenant: c.tenantKey(req.Tenant)}
	if req.MTLSPoP {
		// PoP tokens are kept apart from bearer tokens, per certificate.
		key.TokenType = entra.TokenTypeMTLSPoP
		if b := c.binding.Load(); b != nil {
			key.KeyID = b.thumbprint
		}
	}
	if req.ClientClaims != "" {
		return c.acquireForClientWithClaims(ctx, req, key)
	}
	return c.acquireForClient(ctx, req, key)
}

// acquireForClientWithClaims keys the request by its canonical client claims.
func (c *Client) acquireForClientWithClaims(ctx context.Context, req TokenRequest, key cache.Key) (entra.Token, error) {
	canonical, ext, err := c.canonicalClientClaims(req.ClientClaims)
	if err != nil {
		return entra.Token{}, err
	}
	req.ClientClaims, key.Ext = canonical, ext
	return c.acquireForClient(ctx, req, key)
}

func (c *Client) acquireForClient(ctx context.Context, req TokenRequest, key cache.Key) (entra.Token, error) {
	tok, status := c.fromCache(key, req.Scopes, req.ForceRefresh || req.Claims != "")
	if status == cache.Hit {
		return tok, nil
	}
	auth, err := c.requestAuthority(req)
	if err != nil {
		return entra.Token{}, err
	}
	if req.MTLSPoP {
		if err := c.checkPoP(auth); err != nil {
			return entra.Token{}, err
		}
	}
	key.Tenant = auth.Tenant
	if status == cache.HitRefresh {
		c.refreshInBackground(key, req, c.clientCredentials(req, auth, key))
		return tok, nil
	}
	return c.shared(ctx, key, req, c.clientCredentials(req, auth, key))
}

// popUnsupported refuses MTLSPoP on the flows that do not take it yet.
func popUnsupported(req TokenRequest) error {
	if req.MTLSPoP {
		return entra.Errorf(entra.CodeInvalidRequest, "mTLS proof-of-possession tokens are available on client credentials only")
	}
	return nil
}

// checkPoP refuses a PoP request that cannot succeed, before any request:
// the credential first, then the tenant.
func (c *Client) checkPoP(auth authority.Authority) error {
	if _, ok := c.cred.(*credential.Secret); ok {
		return entra.Errorf(entra.CodeMTLSCertificateNotProvided,
			"an mTLS proof-of-possession token is bound to a certificate, and a client secret has none: use a certificate credential")
	}
	if auth.Kind == authority.KindAAD && (auth.Tenant == "common" || auth.Tenant == "organizations") {
		return entra.Errorf(entra.CodeMissingTenantedAuthority,
			"an mTLS proof-of-possession token needs a tenanted authority (a tenant id or domain), not %q", auth.Tenant)
	}
	return nil
}

// canonicalClientClaims returns client claims in canonical form and the
// cache-key component for them ("", "" for blank claims, which are none).
// Blank input is a no-op even without the opt-in.
func (c *Client) canonicalClientClaims(raw string) (canonical, ext string, err error) {
	if strings.TrimSpace(raw) == "" {
		return "", "", nil
	}
	if !c.clientClaims {
		return "", "", entra.Errorf(entra.CodeExperimentalFeature,
			"client claims are a preview feature: set Config.EnableClientClaims to use them")
	}
	if canonical, err = claims.Canonicalize(raw); err != nil {
		return "", "", err
	}
	return canonical, "client_claims:" + claims.KeyHash(canonical), nil
}

// tenantKey is the cache key's tenant for a request, lower-cased like the
// authority's (strings.ToLower copies nothing when there is nothing to lower).
func (c *Client) tenantKey(override string) string {
	if override == "" {
		return c.auth.Tenant
	}
	return strings.ToLower(override)
}

func (c *Client) clientCredentials(req TokenRequest, auth authority.Authority, key cache.Key) func(context.Context) (entra.Token, error) {
	return func(ctx context.Context) (entra.Token, error) { return c.fetchForClient(ctx, req, auth, key) }
}

// refreshInBackground renews a token due for refresh while callers keep
// being served the current one; it joins any flight for the same token.
func (c *Client) refreshInBackground(key cache.Key, req TokenRequest, fetch func(context.Context) (entra.Token, error)) {
	refresh := req
	refresh.ForceRefresh = true
	go func() {
		if _, err := c.shared(context.Background(), key, refresh, fetch); err != nil && c.logger != nil {
			c.logger.Debug("entra: proactive refresh failed; the cached token is still served", "error", string(entra.ErrorCode(err)))
		}
	}()
}

func (c *Client) fetchForClient(ctx context.Context, req TokenRequest, auth authority.Authority, key cache.Key) (entra.Token, error) {
	return c.fetch(ctx, grant{
		req: req, auth: auth, key: key, regional: true,
		form: url.Values{"grant_type": {"client_credentials"}},
	})
}

// AcquireTokenOnBehalfOf exchanges the token a user sent to this API for a
// token to call another API as that user. Tokens and refresh tokens are
// cached per user assertion.
func (c *Client) AcquireTokenOnBehalfOf(ctx context.Context, userAssertion string, req TokenRequest) (entra.Token, error) {
	if strings.TrimSpace(userAssertion) == "" {
		return entra.Token{}, entra.Errorf(entra.CodeInvalidRequest, "the user assertion is empty")
	}
	if err := popUnsupported(req); err != nil {
		return entra.Token{}, err
	}
	auth, err := c.requestAuthority(req)
	if err != nil {
		return entra.Token{}, err
	}
	key := cache.Key{Environment: c.env, ClientID: c.clientID, Tenant: auth.Tenant, Partition: assertionHash(userAssertion)}
	if req.ClientClaims != "" {
		if req.ClientClaims, key.Ext, err = c.canonicalClientClaims(req.ClientClaims); err != nil {
			return entra.Token{}, err
		}
	}
	g := grant{
		req: req, auth: auth, key: key, reserved: true,
		form: url.Values{
			"grant_type":          {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
			"requested_token_use": {"on_behalf_of"},
			"assertion":           {userAssertion},
		},
	}
	fetch := func(ctx context.Context) (entra.Token, error) { return c.fetchOnBehalfOf(ctx, g) }
	switch tok, status := c.fromCache(key, req.Scopes, req.ForceRefresh || req.Claims != ""); status {
	case cache.Hit:
		return tok, nil
	case cache.HitRefresh:
		c.refreshInBackground(key, req, fetch)
		return tok, nil
	}
	return c.shared(ctx, key, req, fetch)
}

// fetchOnBehalfOf redeems the refresh token cached for the assertion when
// there is one, and falls back to the assertion if the server refuses it.
func (c *Client) fetchOnBehalfOf(ctx context.Context, g grant) (entra.Token, error) {
	rk := cache.RefreshKey{Environment: c.env, ClientID: c.clientID, Partition: g.key.Partition}
	if tok, found, err := c.redeemCached(ctx, g, rk); found && entra.ErrorCode(err) != "invalid_grant" {
		return tok, err
	}
	return c.fetch(ctx, g)
}

// redeemCached redeems the refresh token cached under rk for g. found is
// false when there is none. A token the service refuses (invalid_grant) is
// removed from the cache, and the service's error returned.
func (c *Client) redeemCached(ctx context.Context, g grant, rk cache.RefreshKey) (tok entra.Token, found bool, err error) {
	rt, ok := c.cache.LookupRefreshToken(rk)
	if !ok {
		return entra.Token{}, false, nil
	}
	g.form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt.Secret}}
	tok, err = c.fetch(ctx, g)
	if entra.ErrorCode(err) == "invalid_grant" {
		if err := c.cache.RemoveRefreshToken(ctx, rk, rt.Secret); err != nil {
			c.warnStorage(err)
		}
	}
	return tok, true, err
}

// TokenSource returns a source of client-credentials tokens for req.
func (c *Client) TokenSource(req TokenRequest) entra.TokenSource {
	return entra.TokenSourceFunc(func(ctx context.Context) (entra.Token, error) { return c.AcquireTokenForClient(ctx, req) })
}

func (c *Client) requestAuthority(req TokenRequest) (authority.Authority, error) {
	if len(req.Scopes) == 0 {
		return authority.Authority{}, entra.Errorf(entra.CodeInvalidRequest, "at least one scope is required")
	}
	for _, s := range req.Scopes {
		if !validScope(s) {
			return authority.Authority{}, entra.Errorf(entra.CodeInvalidRequest, "a scope is empty or contains white space")
		}
	}
	if req.Tenant == "" {
		return c.auth, nil
	}
	return c.auth.WithTenant(req.Tenant)
}

// fromCache looks the token up unless the request bypasses the cache.
// HitRefresh goes to one caller at a time: it starts the refresh.
func (c *Client) fromCache(key cache.Key, scopes []string, bypass bool) (entra.Token, cache.Status) {
	if bypass {
		return entra.Token{}, cache.Miss
	}
	at, status := c.cache.Lookup(key, scopes, c.now())
	if status == cache.Miss {
		return entra.Token{}, cache.Miss
	}
	tokenType := tokenTypeOf(at.TokenType)
	if c.auth.Kind == authority.KindOIDC {
		tokenType = entra.TokenTypeBearer // RFC 8705 bound tokens are Bearer on the wire
	}
	tok := entra.Token{
		AccessToken: at.Secret,
		TokenType:   tokenType,
		ExpiresOn:   at.ExpiresOn,
		RefreshOn:   at.RefreshOn,
		Scopes:      scopes,
		Source:      entra.SourceCache,
	}
	if key.KeyID != "" {
		if b := c.binding.Load(); b != nil && b.thumbprint == key.KeyID {
			tok.BindingCertificate = b.leaf
		}
	}
	return tok, status
}

// shared makes concurrent callers for the same token share one request.
func (c *Client) shared(ctx context.Context, key cache.Key, req TokenRequest, fetch func(context.Context) (entra.Token, error)) (entra.Token, error) {
	return c.flights.Do(ctx, flightKey(key, req), c.timeout, func(ctx context.Context) (entra.Token, error) {
		// A flight that finished just before this one started, or another
		// process sharing the cache's storage, may have stored it already.
		bypass := req.ForceRefresh || req.Claims != ""
		if !bypass {
			if err := c.cache.Reload(ctx, key.Partition); err != nil {
				c.warnStorage(err)
			}
		}
		if tok, status := c.fromCache(key, req.Scopes, bypass); status != cache.Miss {
			return tok, nil
		}
		return fetch(ctx)
	})
}

// fetch makes one token request and caches its answer.
func (c *Client) fetch(ctx context.Context, g grant) (entra.Token, error) {
	pop := g.req.MTLSPoP
	overMTLS := c.sendOverMTLS || pop
	// Regions apply to client credentials, and to user flows over mTLS.
	opts := authority.ResolveOptions{Regional: g.regional || overMTLS, MTLS: overMTLS}
	endpoints, err := c.resolver.Resolve(ctx, g.auth, opts)
	if err != nil {
		return entra.Token{}, err
	}
	material, err := c.cred.Material(ctx, credential.Request{
		ClientID: c.clientID, TokenEndpoint: endpoints.Token, Dialect: c.dialect,
		IncludeX5C: overMTLS && !pop, MTLS: overMTLS, TLSClientAuth: pop,
	})
	if err != nil {
		return entra.Token{}, err
	}
	bound := material.BindingCertificate
	if pop && bound == nil {
		return entra.Token{}, entra.Errorf(entra.CodeMTLSCertificateNotProvided,
			"an mTLS proof-of-possession token was asked for, but the credential supplied no binding certificate")
	}
	// An assertion callback that returns a binding certificate routes the
	// request over mTLS by itself (its assertion becomes jwt-pop).
	if bound != nil && !overMTLS {
		opts.MTLS, opts.Regional = true, true
		if endpoints, err = c.resolver.Resolve(ctx, g.auth, opts); err != nil {
			return entra.Token{}, err
		}
	}
	form, err := c.buildForm(g, material)
	if err != nil {
		return entra.Token{}, err
	}
	wantType := entra.TokenTypeBearer
	if pop {
		if g.key.KeyID, err = c.rememberBinding(bound); err != nil {
			return entra.Token{}, err
		}
		if g.auth.Kind == authority.KindOIDC {
			// RFC 8705 binds the token to the certificate without a token
			// type of its own; the token stays a Bearer token on the wire.
			form.Del("token_type")
		} else {
			wantType = entra.TokenTypeMTLSPoP
		}
	}
	tc := c.transport
	if bound != nil {
		httpClient, err := c.mtlsClients.Client(bound)
		if err != nil {
			return entra.Token{}, err
		}
		tc = &transport.Client{HTTP: httpClient, Logger: c.logger}
	}
	correlationID := g.req.CorrelationID
	if correlationID == "" {
		correlationID = transport.NewCorrelationID()
	}
	requested := c.now()
	resp, err := tc.PostForm(ctx, endpoints.Token, form, correlationID)
	if err != nil {
		return entra.Token{}, err
	}
	tr, err := oauth.ParseToken(resp, wantType)
	if err != nil {
		return entra.Token{}, err
	}
	if g.user && tr.IDToken != "" {
		if err := c.checkIDToken(ctx, g, tr.IDToken); err != nil {
			return entra.Token{}, err
		}
	}
	tok, err := c.store(ctx, g, tr, requested)
	if err != nil {
		return entra.Token{}, err
	}
	tok.TokenEndpoint = endpoints.Token
	tok.Region = endpoints.Region
	if pop {
		tok.BindingCertificate = c.binding.Load().leaf
	}
	return tok, nil
}

// rememberBinding records the certificate PoP tokens are bound to and
// returns its x5t#S256.
func (c *Client) rememberBinding(cert *tls.Certificate) (string, error) {
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return "", entra.WrapError(entra.CodeInvalidCredentialMaterial, err, "the binding certificate is not a valid X.509 certificate")
		}
	}
	b := &bindingCert{thumbprint: credential.ThumbprintOf(leaf), leaf: leaf}
	if cur := c.binding.Load(); cur == nil || cur.thumbprint != b.thumbprint {
		c.binding.Store(b)
	}
	return b.thumbprint, nil
}

func (c *Client) buildForm(g grant, m credential.Material) (url.Values, error) {
	form := url.Values{}
	for k, v := range g.form {
		form[k] = v
	}
	form.Set("client_id", c.clientID)
	form.Set("client_info", "1")
	scope := strings.Join(g.req.Scopes, " ")
	if g.reserved {
		scope = userScope(g.req.Scopes)
	}
	form.Set("scope", scope)
	_, isCert := c.cred.(*credential.Certificate)
	switch {
	case m.ClientSecret != "":
		form.Set("client_secret", m.ClientSecret)
	case m.Assertion != "" && m.BindingCertificate != nil && !isCert:
		// An assertion bound to the certificate the request presents.
		form.Set("client_assertion_type", credential.AssertionTypeJWTPoP)
		form.Set("client_assertion", m.Assertion)
	case m.Assertion != "":
		form.Set("client_assertion_type", credential.AssertionTypeJWTBearer)
		form.Set("client_assertion", m.Assertion)
	case g.req.MTLSPoP && m.BindingCertificate != nil:
		// The certificate in the TLS handshake authenticates the client.
	default:
		return nil, entra.Errorf(entra.CodeInvalidCredentialMaterial, "the credential supplied neither a secret nor an assertion")
	}
	if g.req.MTLSPoP {
		form.Set("token_type", entra.TokenTypeMTLSPoP)
	}
	requestClaims, err := c.requestClaims(g.req.Claims, g.req.ClientClaims)
	if err != nil {
		return nil, err
	}
	if requestClaims != "" {
		form.Set("claims", requestClaims)
	}
	return form, nil
}

// requestClaims merges a claims challenge, client claims and capabilities.
// The client's claims win over the server's challenge; capabilities are
// merged last, under access_token.xms_cc.
func (c *Client) requestClaims(challenge, client string) (string, error) {
	if challenge == "" && client == "" {
		return c.capClaims, nil
	}
	merged, err := claims.Merge(challenge, client)
	if err != nil {
		return "", err
	}
	return claims.WithCapabilities(merged, c.capabilities)
}

// warnStorage reports a cache storage failure that does not fail the
// call: the token is good and kept in memory.
func (c *Client) warnStorage(err error) {
	if c.logger != nil {
		c.logger.Warn("entra: the cache storage failed; tokens are kept in memory", "error", err)
	}
}

// store caches the answer and returns the token to hand out.
func (c *Client) store(ctx context.Context, g grant, tr oauth.TokenResponse, requested time.Time) (entra.Token, error) {
	expires := requested.Add(tr.ExpiresIn)
	refreshIn := tr.RefreshIn
	if refreshIn == 0 && tr.ExpiresIn > 2*time.Hour {
		refreshIn = tr.ExpiresIn / 2 // long-lived tokens are refreshed at half-life
	}
	var refreshOn time.Time
	if refreshIn > 0 && refreshIn < tr.ExpiresIn {
		refreshOn = requested.Add(refreshIn)
	}
	scopes := append([]string(nil), g.req.Scopes...)
	at := cache.AccessToken{
		Key:               g.key,
		Target:            strings.Join(scopes, " "),
		Scopes:            scopes,
		Secret:            tr.AccessToken,
		CachedAt:          requested,
		ExpiresOn:         expires,
		ExtendedExpiresOn: requested.Add(max(tr.ExtExpiresIn, tr.ExpiresIn)),
		RefreshOn:         refreshOn,
	}
	entries := cache.Entries{AccessToken: &at}
	var home string
	switch {
	case g.user:
		var err error
		if entries, home, err = c.userEntries(g, tr); err != nil {
			return entra.Token{}, err
		}
		at.Partition, at.HomeAccountID = home, home
		if entries.Account != nil {
			// Like every MSAL, user tokens are cached under the tenant the
			// ID token names, whatever alias the authority used for it.
			at.Tenant = entries.Account.Realm
		}
		at.Target = userScope(scopes) // other MSALs look for the reserved scopes too
		entries.AccessToken = &at
	case g.key.Partition != "": // on-behalf-of: the refresh token belongs to the assertion
		if tr.ClientInfo != "" {
			at.HomeAccountID, _ = oauth.ParseClientInfo(tr.ClientInfo)
		}
		if tr.RefreshToken != "" {
			entries.RefreshToken = &cache.RefreshToken{
				RefreshKey:    cache.RefreshKey{Environment: c.env, ClientID: c.clientID, Partition: g.key.Partition},
				IssuedTo:      c.clientID,
				HomeAccountID: at.HomeAccountID,
				Target:        tr.Scope,
				Secret:        tr.RefreshToken,
			}
		}
	}
	if err := c.cache.Save(ctx, entries, requested); err != nil {
		c.warnStorage(err)
	}
	tok := entra.Token{
		AccessToken:  tr.AccessToken,
		TokenType:    tr.TokenType,
		ExpiresOn:    expires,
		RefreshOn:    refreshOn,
		Scopes:       scopes,
		Source:       entra.SourceIdentityProvider,
		IDToken:      tr.IDToken,
		RefreshToken: tr.RefreshToken,
	}
	if g.user {
		tok.Account = c.account(home)
	}
	return tok, nil
}

// validScope refuses empty scopes and white space, which would split one
// scope into several on the wire. It runs on every call, hits included.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n', '\v', '\f':
			return false
		}
	}
	return true
}

func flightKey(k cache.Key, req TokenRequest) string {
	var b strings.Builder
	for _, part := range []string{k.Environment, k.ClientID, k.Tenant, k.Partition, k.TokenType, k.KeyID, k.Ext, req.Claims} {
		b.WriteString(part)
		b.WriteByte(0)
	}
	for _, s := range req.Scopes {
		b.WriteString(strings.ToLower(s))
		b.WriteByte(' ')
	}
	return b.String()
}

// assertionHash partitions on-behalf-of tokens by user without keeping the
// user's token as a key.
func assertionHash(assertion string) string {
	sum := sha256.Sum256([]byte(assertion))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func dialectOf(k authority.Kind) credential.Dialect {
	switch k {
	case authority.KindADFS:
		return credential.DialectADFS
	case authority.KindOIDC:
		return credential.DialectOIDC
	}
	return credential.DialectAAD
}

func tokenTypeOf(cached string) string {
	if cached == "" {
		return entra.TokenTypeBearer
	}
	return cached
}
