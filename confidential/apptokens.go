package confidential

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/authority"
	"github.com/entra-go/entra/internal/clientauth"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/pipeline"
	"github.com/entra-go/entra/internal/tokencache"
)

// AcquireTokenForClient gets an app-only token (client credentials grant).
func (c *Client) AcquireTokenForClient(ctx context.Context, req TokenRequest) (entra.Token, error) {
	// A hit needs no validation: nothing invalid is ever cached, so an
	// invalid request can only miss, and the fetch validates it.
	g := grant{kind: grantClient, req: req,
		key: tokencache.Key{Environment: c.env, ClientID: c.clientID, Tenant: c.tenantKey(req.Tenant)}}
	if req.CachePartitionKey != "" {
		g.key.Partition = tokencache.CallerPartition(req.CachePartitionKey)
	}
	if req.ClientClaims != "" {
		var err error
		if g.req.ClientClaims, g.key.Ext, err = c.canonicalClientClaims(req.ClientClaims); err != nil {
			return entra.Token{}, err
		}
	}
	return c.acquire(ctx, g)
}

// AcquireTokenOnBehalfOf exchanges the token a user sent to this API for a
// token to call another API as that user. Tokens and refresh tokens are
// cached per user assertion.
func (c *Client) AcquireTokenOnBehalfOf(ctx context.Context, userAssertion string, req TokenRequest) (entra.Token, error) {
	if strings.TrimSpace(userAssertion) == "" {
		return entra.Token{}, errs.New(entra.CodeInvalidArgument, "the user assertion is empty")
	}
	if err := onlyForClientCredentials(req); err != nil {
		return entra.Token{}, err
	}
	g := grant{kind: grantOBO, req: req, secret: userAssertion,
		key: tokencache.Key{Environment: c.env, ClientID: c.clientID, Tenant: c.tenantKey(req.Tenant), Partition: assertionHash(userAssertion)}}
	var err error
	if g.req.ClientClaims, g.key.Ext, err = c.canonicalClientClaims(req.ClientClaims); err != nil {
		return entra.Token{}, err
	}
	return c.acquire(ctx, g)
}

// acquire keys g by the binding certificate when its tokens are bound to
// one, and runs it through the pipeline.
func (c *Client) acquire(ctx context.Context, g grant) (entra.Token, error) {
	if g.req.MTLSPoP {
		g.key.TokenType = entra.TokenTypeMTLSPoP // PoP tokens are kept apart from bearer tokens
	}
	if err := c.bind(ctx, &g); err != nil {
		return entra.Token{}, err
	}
	tok, err := c.pipe.Acquire(ctx, pipeline.Query{Key: g.key, Bypass: bypass(g.req)}, g.req.Scopes, g)
	if err != nil {
		return entra.Token{}, err
	}
	return c.decorate(tok, g), nil
}

// bind decides, before any look-up, the certificate a grant's tokens are
// bound to: PoP tokens, and every token a bound assertion gets, are keyed
// by its x5t#S256, so a rotated certificate never meets the old tokens.
func (c *Client) bind(ctx context.Context, g *grant) error {
	if c.certified == nil || !(g.req.MTLSPoP || c.certified.Bound()) {
		return nil // a PoP request without a certificate fails in the fetch, with its own code
	}
	b, err := c.certified.Certificate(ctx)
	if err != nil {
		return err
	}
	g.binding, g.key.KeyID = b, b.Thumbprint
	return nil
}

// decorate adds to a cache hit what the cache does not keep.
func (c *Client) decorate(tok entra.Token, g grant) entra.Token {
	if g.req.MTLSPoP && g.binding != nil {
		tok.BindingCertificate = g.binding.Leaf
		if c.auth.Kind == authority.KindOIDC {
			tok.TokenType = entra.TokenTypeBearer // RFC 8705 bound tokens are Bearer on the wire
		}
	}
	return tok
}

// bypass is why a request skips the cache read, for the pipeline.
func bypass(req TokenRequest) string {
	switch {
	case req.Claims != "":
		return req.Claims
	case req.ForceRefresh:
		return pipeline.Force
	}
	return ""
}

// onlyForClientCredentials refuses the options of client credentials on
// the other flows.
func onlyForClientCredentials(req TokenRequest) error {
	switch {
	case req.MTLSPoP:
		return errs.New(entra.CodeInvalidArgument, "mTLS proof-of-possession tokens are available on client credentials only")
	case req.CachePartitionKey != "":
		return errs.New(entra.CodeInvalidArgument, "a cache partition key is available on client credentials only: user and on-behalf-of tokens are partitioned by user")
	}
	return nil
}

// checkPoP refuses a PoP request that cannot succeed, before any request:
// the credential first, then the tenant.
func (c *Client) checkPoP(auth authority.Authority, binding *clientauth.Binding) error {
	if binding == nil {
		return errs.New(entra.CodeMTLSCertificateNotProvided,
			"an mTLS proof-of-possession token is bound to a certificate, and a %v has none: use a certificate credential", c.cred)
	}
	if auth.Kind == authority.KindAAD && (auth.Tenant == "common" || auth.Tenant == "organizations") {
		return errs.New(entra.CodeMissingTenantedAuthority,
			"an mTLS proof-of-possession token needs a tenanted authority (a tenant id or domain), not %q", auth.Tenant)
	}
	return nil
}

// assertionHash partitions on-behalf-of tokens by user without keeping the
// user's token as a key.
func assertionHash(assertion string) string {
	sum := sha256.Sum256([]byte(assertion))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
