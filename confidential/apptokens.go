package confidential

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"unsafe"

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
	q := pipeline.Query{Key: tokencache.Key{Environment: c.env, ClientID: c.clientID, Tenant: c.tenantKey(req.Tenant)}}
	if req.CachePartitionKey != "" {
		q.Key.Partition = tokencache.CallerPartition(req.CachePartitionKey)
	}
	if req.ClientClaims != "" {
		var err error
		if req.ClientClaims, q.Key.Ext, err = c.canonicalClientClaims(req.ClientClaims); err != nil {
			return entra.Token{}, err
		}
	}
	return c.acquire(ctx, grantClient, &req, &q, "")
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
	q := pipeline.Query{Key: tokencache.Key{Environment: c.env, ClientID: c.clientID, Tenant: c.tenantKey(req.Tenant),
		Partition: c.assertionPartition(userAssertion)}}
	var err error
	if req.ClientClaims, q.Key.Ext, err = c.canonicalClientClaims(req.ClientClaims); err != nil {
		return entra.Token{}, err
	}
	return c.acquire(ctx, grantOBO, &req, &q, userAssertion)
}

// acquire keys the request by the binding certificate when its tokens are
// bound to one, and runs it through the pipeline. The grant a fetch needs
// is only made on a miss: a hit copies nothing.
func (c *Client) acquire(ctx context.Context, kind grantType, req *TokenRequest, q *pipeline.Query, secret string) (tok entra.Token, err error) {
	if req.MTLSPoP {
		q.Key.TokenType = entra.TokenTypeMTLSPoP // PoP tokens are kept apart from bearer tokens
	}
	binding, err := c.binding(ctx, req.MTLSPoP)
	if err != nil {
		return entra.Token{}, err
	}
	if binding != nil {
		q.Key.KeyID = binding.Thumbprint
	}
	q.Flow, q.Bypass = kind.flow(), bypass(req)
	err = c.pipe.Acquire(ctx, q, req.Scopes, func() grant {
		return grant{kind: kind, req: *req, key: q.Key, secret: secret, binding: binding}
	}, &tok)
	if err == nil && req.MTLSPoP && binding != nil {
		tok.BindingCertificate = binding.TLS // the cache does not keep it
		if c.auth.Kind == authority.KindOIDC {
			tok.TokenType = entra.TokenTypeBearer // RFC 8705 bound tokens are Bearer on the wire
		}
	}
	return tok, err
}

// binding decides, before any look-up, the certificate tokens are bound
// to: PoP tokens, and every token a bound assertion gets, are keyed by its
// x5t#S256, so a rotated certificate never meets the old tokens. It is nil
// for unbound tokens, and for a PoP request without a certificate, which
// fails in the fetch with its own code.
func (c *Client) binding(ctx context.Context, pop bool) (*clientauth.Binding, error) {
	if c.certified == nil || !(pop || c.certified.Bound()) {
		return nil, nil
	}
	return c.certified.Certificate(ctx)
}

// bypass is why a request skips the cache read, for the pipeline.
func bypass(req *TokenRequest) string {
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

// maxInternedAssertions bounds the interned on-behalf-of partitions
// (about 100 bytes each): past it they are dropped and interned again.
const maxInternedAssertions = 1 << 16

// assertionPartition partitions on-behalf-of tokens by user without
// keeping the user's token as a key: the SHA-256 of the assertion, in
// base64url (every MSAL's user_assertion_hash).
func (c *Client) assertionPartition(assertion string) string {
	// Hashed in place: Sum256 neither keeps nor changes its input, and a
	// copy of a user assertion (a JWT of a kilobyte or two) on every
	// on-behalf-of hit would cost more than the lookup.
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(assertion), len(assertion)))
	if p, ok := c.assertionPartitions.Load(sum); ok {
		return p.(string)
	}
	var b64 [43]byte // RawURLEncoding.EncodedLen(sha256.Size)
	base64.RawURLEncoding.Encode(b64[:], sum[:])
	p := string(b64[:])
	if c.interned.Add(1) > maxInternedAssertions {
		c.assertionPartitions.Clear()
		c.interned.Store(1)
	}
	c.assertionPartitions.Store(sum, p)
	return p
}
