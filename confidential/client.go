// Package confidential is a confidential client of Microsoft Entra ID: an
// application that can keep a secret or a private key and gets tokens for
// itself (client credentials), for the users who call it (on-behalf-of),
// and for the users who sign in to it (auth code with PKCE, then silent
// acquisition from the cache or with the user's refresh token).
//
// Every acquisition runs the library's one pipeline: the cache is read;
// on a miss, concurrent callers of the same token share one request; the
// route (host, region, mutual TLS) is decided from the request and from
// what the credential declares; the credential supplies its material for
// that route; the request is sent, and the answer checked and cached.
//
// With Config.SendCertificateOverMTLS a certificate credential is
// presented in the TLS handshake of every flow, at the cloud's mTLS host;
// TokenRequest.MTLSPoP asks for a token bound to the certificate.
package confidential

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/internal/authority"
	"github.com/entra-go/entra/internal/claims"
	"github.com/entra-go/entra/internal/clientauth"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/mtls"
	"github.com/entra-go/entra/internal/pipeline"
	"github.com/entra-go/entra/internal/tokencache"
	"github.com/entra-go/entra/internal/transport"
)

// defaultRequestTimeout bounds one acquisition, retries included, whoever
// waits for it.
const defaultRequestTimeout = 30 * time.Second

// Config configures a Client. Authority, ClientID and Credential are required.
type Config struct {
	// Authority is the authority URL, e.g.
	// https://login.microsoftonline.com/contoso.onmicrosoft.com (Entra ID, any cloud),
	// https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin (B2C),
	// https://adfs.contoso.com/adfs (AD FS), or an OIDC issuer with AuthorityKind KindOIDC.
	Authority string
	// AuthorityKind forces the kind of authority; the zero value detects it.
	AuthorityKind AuthorityKind
	// ClientID is the application (client) id.
	ClientID string
	// Credential authenticates the client (see package credential).
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
	// SendCertificateOverMTLS presents the certificate credential in the
	// TLS handshake of every token request (client credentials,
	// on-behalf-of, auth code, refresh token, silent) and sends them to the
	// cloud's mTLS token host; the client assertion still goes in the body,
	// with x5c. Tokens stay Bearer tokens. It needs a certificate credential.
	SendCertificateOverMTLS bool
	// HTTPClient sends every request; nil uses a client with a 30 s timeout.
	// Its CheckRedirect is ignored: no request follows a redirect.
	HTTPClient *http.Client
	// MTLSHTTPClient, if set, returns the HTTP client that presents a given
	// certificate. Nil clones HTTPClient's *http.Transport per certificate.
	// Clients are kept per certificate, so connections are reused.
	MTLSHTTPClient func(cert *tls.Certificate) (*http.Client, error)
	// Cache persists the tokens (see cache.Storage and package filestore);
	// nil keeps them in this client's memory only.
	Cache cache.Storage
	// RequestTimeout is the time budget of one acquisition, retries
	// included; zero means 30 seconds. A caller's own deadline
	// ends its wait earlier (entra.CodeCanceled); the budget running out is
	// entra.CodeTimeout.
	RequestTimeout time.Duration
	// RetryPolicy decides which failed requests are retried; nil is the
	// token service's reference policy (see entra.RetryPolicy).
	RetryPolicy entra.RetryPolicy
	// Getenv reads REGION_NAME and MSAL_FORCE_REGION; nil means os.Getenv.
	Getenv func(string) string
	// Logger receives debug records without secrets; nil disables logging.
	Logger *slog.Logger
	// Observer, if not nil, is told of every acquisition and HTTP request
	// (see entra.Observer; module entraotel makes OpenTelemetry of it).
	Observer entra.Observer

	// now is the clock; the package's tests of expiry set it.
	now func() time.Time
}

// AuthorityKind says what kind of authority Config.Authority is, when its
// URL does not tell.
type AuthorityKind uint8

// The kinds of authority.
const (
	// AuthorityAuto detects the kind from the URL: Azure AD B2C on a
	// b2clogin.com host, AD FS on an /adfs path, else Microsoft Entra ID
	// (any cloud, or an unknown host through instance discovery).
	AuthorityAuto AuthorityKind = iota
	// AuthorityB2C is Azure AD B2C on a custom domain: https://{host}/{tenant}/{policy}.
	AuthorityB2C
	// AuthorityOIDC is any OpenID Connect issuer that publishes a discovery
	// document.
	AuthorityOIDC
	// AuthorityAAD is Microsoft Entra ID in any cloud, whatever the URL's
	// host or path suggest: https://{host}/{tenant}.
	AuthorityAAD
	// AuthorityADFS is Active Directory Federation Services: https://{host}/adfs.
	AuthorityADFS
)

func (k AuthorityKind) internal() authority.Kind {
	switch k {
	case AuthorityB2C:
		return authority.KindB2C
	case AuthorityOIDC:
		return authority.KindOIDC
	case AuthorityAAD:
		return authority.KindAAD
	case AuthorityADFS:
		return authority.KindADFS
	}
	return authority.KindAuto
}

// TokenRequest describes the token a caller wants.
type TokenRequest struct {
	// Scopes the token is for, e.g. "https://graph.microsoft.com/.default".
	Scopes []string
	// Tenant overrides the authority's tenant for this request (Entra ID only).
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
	// certificate credential (or a bound assertion) and a tenanted
	// authority. For a generic OIDC authority it is an RFC 8705
	// certificate-bound token request. Client credentials only.
	MTLSPoP bool
	// CachePartitionKey keeps the token apart from those of every other
	// partition key, in memory and in storage (a partitioned store writes
	// that partition only). Client credentials only.
	CachePartitionKey string
	// ReservedScopes are the OpenID scopes user flows add to Scopes; nil
	// means openid, profile and offline_access. Leave offline_access out
	// when no refresh token is wanted.
	ReservedScopes []string
}

// Client gets tokens for a confidential application. It is safe for
// concurrent use; create one per application, reuse it, and Close it when
// done.
type Client struct {
	clientID     string
	auth         authority.Authority
	tenantIsID   bool   // auth names its tenant by id; asked on every silent hit
	env          string // the authority's cache environment
	cred         clientauth.Credential
	certified    clientauth.Certified // nil when the credential holds no certificate
	dialect      clientauth.Dialect
	capabilities []string
	capClaims    string // canonical capabilities claims, sent when no other claims are
	clientClaims bool   // the client-claims preview is enabled
	sendOverMTLS bool
	resolver     *authority.Resolver
	transport    *transport.Client
	mtlsClients  *mtls.Pool
	retry        entra.RetryPolicy
	logger       *slog.Logger
	pipe         *pipeline.Pipeline[grant]
	accountMemos sync.Map // home account id → *accountMemo
	// assertionPartitions interns on-behalf-of partitions by their
	// assertion's hash ([sha256.Size]byte → string), so a hit allocates
	// nothing; interned counts them, to bound them.
	assertionPartitions sync.Map
	interned            atomic.Int64
}

// New validates cfg and returns a Client. It makes no network call.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, errs.New(entra.CodeInvalidArgument, "a client id is required")
	}
	if cfg.Credential == nil {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial, "a credential is required")
	}
	auth, err := authority.Parse(cfg.Authority, cfg.AuthorityKind.internal())
	if err != nil {
		return nil, err
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: defaultRequestTimeout}
	}
	resolver, err := authority.NewResolver(authority.ResolverConfig{
		HTTPClient: httpClient, DisableInstanceDiscovery: cfg.DisableInstanceDiscovery, Region: cfg.Region, Getenv: cfg.Getenv,
		Observer: cfg.Observer,
	})
	if err != nil {
		return nil, err
	}
	capClaims, err := claims.WithCapabilities("", cfg.Capabilities)
	if err != nil {
		return nil, err
	}
	certified, _ := cfg.Credential.(clientauth.Certified)
	if cfg.SendCertificateOverMTLS && (certified == nil || certified.Bound()) {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial,
			"SendCertificateOverMTLS needs a certificate credential; a %v has no certificate to present (a bound assertion presents its own)", cfg.Credential)
	}
	c := &Client{
		clientID:     cfg.ClientID,
		auth:         auth,
		tenantIsID:   auth.TenantIsID(),
		env:          auth.CacheEnvironment(),
		cred:         cfg.Credential,
		certified:    certified,
		dialect:      dialectOf(auth.Kind),
		capabilities: append([]string(nil), cfg.Capabilities...),
		capClaims:    capClaims,
		clientClaims: cfg.EnableClientClaims,
		sendOverMTLS: cfg.SendCertificateOverMTLS,
		resolver:     resolver,
		transport:    &transport.Client{HTTP: httpClient, Logger: cfg.Logger, Observer: cfg.Observer},
		mtlsClients:  mtls.NewPool(httpClient, cfg.MTLSHTTPClient, 0),
		retry:        cfg.RetryPolicy,
		logger:       cfg.Logger,
	}
	if c.retry == nil {
		c.retry = transport.ServicePolicy
	}
	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = defaultRequestTimeout
	}
	c.pipe = pipeline.New(pipeline.Config{Cache: tokencache.Backed(cfg.Cache), Timeout: timeout, Now: cfg.now, Logger: cfg.Logger,
		Observer: cfg.Observer}, (*fetcher)(c))
	return c, nil
}

// Close stops the client's background refreshes and waits for them to end.
// The client keeps serving callers afterwards, without refreshing tokens
// before they are due.
func (c *Client) Close() error {
	c.pipe.Close()
	return nil
}

// requestAuthority validates the request and returns its authority.
func (c *Client) requestAuthority(req TokenRequest) (authority.Authority, error) {
	if len(req.Scopes) == 0 {
		return authority.Authority{}, errs.New(entra.CodeInvalidArgument, "at least one scope is required")
	}
	for _, s := range req.Scopes {
		if !validScope(s) {
			return authority.Authority{}, errs.New(entra.CodeInvalidArgument, "a scope is empty or contains white space")
		}
	}
	if req.Tenant == "" {
		return c.auth, nil
	}
	return c.auth.WithTenant(req.Tenant)
}

// tenantKey is the cache key's tenant for a request, lower-cased like the
// authority's (strings.ToLower copies nothing when there is nothing to lower).
func (c *Client) tenantKey(override string) string {
	if override == "" {
		return c.auth.Tenant
	}
	return tokencache.Lower(override)
}

// validScope refuses empty scopes and white space, which would split one
// scope into several on the wire.
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

// canonicalClientClaims returns client claims in canonical form and the
// cache-key component for them ("", "" for blank claims, which are none).
// Blank input is a no-op even without the opt-in.
func (c *Client) canonicalClientClaims(raw string) (canonical, ext string, err error) {
	if strings.TrimSpace(raw) == "" {
		return "", "", nil
	}
	if !c.clientClaims {
		return "", "", errs.New(entra.CodeExperimentalFeature,
			"client claims are a preview feature: set Config.EnableClientClaims to use them")
	}
	if canonical, err = claims.Canonicalize(raw); err != nil {
		return "", "", err
	}
	return canonical, "client_claims:" + claims.KeyHash(canonical), nil
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

func dialectOf(k authority.Kind) clientauth.Dialect {
	switch k {
	case authority.KindADFS:
		return clientauth.DialectADFS
	case authority.KindOIDC:
		return clientauth.DialectOIDC
	}
	return clientauth.DialectAAD
}
