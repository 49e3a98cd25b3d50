package managedidentity

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/budget"
	"github.com/entra-go/entra/internal/claims"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/mtls"
	"github.com/entra-go/entra/internal/oauth"
	"github.com/entra-go/entra/internal/pipeline"
	"github.com/entra-go/entra/internal/tokencache"
	"github.com/entra-go/entra/internal/transport"
)

// capabilityTimeout bounds a capability probe on a host without IMDS.
const capabilityTimeout = 2 * time.Second

// Capability is what a host's IMDS can do.
type Capability int

// Capabilities. The zero value is not one.
const (
	// CapabilityNone: no IMDS answered; this is not an Azure VM (or IMDS
	// is blocked).
	CapabilityNone Capability = iota + 1
	// CapabilityIMDSv1: IMDS issues Bearer tokens only.
	CapabilityIMDSv1
	// CapabilityIMDSv2: IMDS also issues certificates, so
	// TokenRequest.MTLSPoP works.
	CapabilityIMDSv2
)

func (c Capability) String() string {
	switch c {
	case CapabilityNone:
		return "no IMDS"
	case CapabilityIMDSv1:
		return "IMDS v1 only"
	case CapabilityIMDSv2:
		return "IMDS v2 with mTLS PoP"
	}
	return "unknown"
}

// Capability probes the host's IMDS once per Client and remembers a
// definite answer: IMDS v2 (platform metadata answered), v1 only
// (platform metadata is 404) or none (no answer within about 2 s, the
// bound on a host without IMDS). Nothing is retried. An answer that says
// neither (a 5xx) is returned as an error and not remembered. Clients of
// other sources than IMDS get entra.CodeMTLSNotSupportedForEnvironment.
func (c *Client) Capability(ctx context.Context) (Capability, error) {
	if c.v2 == nil {
		return 0, c.notIMDS()
	}
	v := c.v2
	v.mu.Lock()
	known := v.capability
	v.mu.Unlock()
	if known != 0 {
		return known, nil
	}
	probe, cancel := context.WithTimeout(ctx, capabilityTimeout)
	defer cancel()
	_, err := v.platformMetadata(probe, transport.NoRetry)
	var got Capability
	switch code := entra.ErrorCode(err); {
	case err == nil:
		got = CapabilityIMDSv2
	case code == entra.CodeMTLSPoPNotSupportedInIMDSv1:
		got = CapabilityIMDSv1
	case ctx.Err() != nil:
		return 0, budget.Err(ctx)
	case code == entra.CodeTransport || code == entra.CodeTimeout || code == entra.CodeCanceled || code == entra.CodeInvalidResponse:
		got = CapabilityNone // nothing, or something that is not IMDS, answered
	default:
		return 0, err
	}
	v.mu.Lock()
	v.capability = got
	v.mu.Unlock()
	return got, nil
}

func (c *Client) notIMDS() error {
	return errs.New(entra.CodeMTLSNotSupportedForEnvironment,
		"mTLS proof-of-possession tokens come from IMDS only; this client uses the %s source", c.ep.source)
}

// newIMDSv2 prepares the certificate state of an IMDS client.
func newIMDSv2(c *Client, cfg Config) *imdsV2 {
	base := *c.ep.url
	base.Path = strings.TrimSuffix(base.Path, imdsTokenPath)
	base.RawQuery = ""
	v := &imdsV2{base: &base, keySource: cfg.KeySource, attest: cfg.Attestation, transport: c.transport,
		retry: c.retry, timeout: c.pipe.Timeout(), now: c.pipe.Now, logger: c.logger}
	if c.id.kind != kindSystem {
		// IMDSv2 names a resource id mi_res_id, where IMDS v1 says msi_res_id.
		v.idParam = [4]string{kindClientID: "client_id", kindResourceID: "mi_res_id", kindObjectID: "object_id"}[c.id.kind]
		v.idValue = c.id.value
	}
	factory := cfg.MTLSHTTPClient
	if factory == nil {
		// The mTLS host is a public one: proxies from the environment apply.
		factory = mtls.CloneFactory(&http.Client{Timeout: defaultTimeout}, false)
	}
	c.mtlsClients = mtls.NewPool(nil, factory, 0)
	return v
}

// acquirePoP runs an mTLS PoP request through the pipeline. The token is
// keyed by the current certificate's x5t#S256; with none usable the key
// has none, which no token is stored under, so the request misses. The
// fetch picks the certificate, so concurrent callers share one flight
// whichever certificate they looked up under (one mint, one token request).
func (c *Client) acquirePoP(ctx context.Context, req TokenRequest, resource string, q *pipeline.Query) (entra.Token, error) {
	if c.v2 == nil {
		return entra.Token{}, c.notIMDS()
	}
	if strings.TrimSpace(req.ClientClaims) != "" {
		return entra.Token{}, errs.New(entra.CodeInvalidArgument, "client claims go to IMDS v1 only; an mTLS PoP request carries claims in Claims")
	}
	q.Key.TokenType = entra.TokenTypeMTLSPoP
	q.FetchPicksKey = true
	cred := c.v2.cached()
	if cred != nil {
		q.Key.KeyID = cred.thumbprint
	}
	scopes := [1]string{resource}
	var tok entra.Token
	err := c.pipe.Acquire(ctx, q, scopes[:], func() request {
		return request{key: q.Key, resource: resource, correlationID: req.CorrelationID, pop: true, claims: req.Claims}
	}, &tok)
	if err == nil && tok.BindingCertificate == nil && cred != nil {
		tok.BindingCertificate = cred.tls // a hit: the cache does not keep it
	}
	return tok, err
}

// fetchPoP gets the certificate and an mtls_pop token with it. A refusal
// of the certificate (invalid_client, AADSTS 1000610 to 1000614 or no
// code) or a failed connection to the mTLS host drops the certificate;
// one new one is minted and the request tried once more.
func (c *Client) fetchPoP(ctx context.Context, r request, requested time.Time) (pipeline.Answer, error) {
	cred, err := c.v2.credential(ctx, nil)
	if err != nil {
		return pipeline.Answer{}, err
	}
	tr, err := c.popToken(ctx, cred, r)
	if err != nil && certificateRefused(err) && ctx.Err() == nil {
		if c.logger != nil {
			c.logger.Debug("entra: the mTLS host refused the IMDS certificate; minting a new one", "error", string(entra.ErrorCode(err)))
		}
		if cred, err = c.v2.credential(ctx, cred); err != nil {
			return pipeline.Answer{}, err
		}
		tr, err = c.popToken(ctx, cred, r)
	}
	if err != nil {
		return pipeline.Answer{}, err
	}
	expires := requested.Add(tr.ExpiresIn)
	key := r.key
	key.KeyID = cred.thumbprint
	scopes := []string{r.resource}
	return pipeline.Answer{
		Token: entra.Token{AccessToken: tr.AccessToken, TokenType: entra.TokenTypeMTLSPoP, ExpiresOn: expires, Scopes: scopes,
			TokenEndpoint: cred.tokenURL, BindingCertificate: cred.tls},
		RefreshIn: tr.RefreshIn,
		Entries: tokencache.Entries{AccessToken: &tokencache.AccessToken{Key: key, Target: r.resource, Scopes: scopes,
			Secret: tr.AccessToken, ExpiresOn: expires, ExtendedExpiresOn: requested.Add(max(tr.ExtExpiresIn, tr.ExpiresIn))}},
	}, nil
}

// popToken asks the mTLS host for the token once (the token service's 5xx
// retry aside).
func (c *Client) popToken(ctx context.Context, cred *credential, r request) (oauth.TokenResponse, error) {
	hc, err := c.mtlsClients.Client(cred.tls)
	if err != nil {
		return oauth.TokenResponse{}, err
	}
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {cred.clientID},
		"scope": {r.resource + "/.default"}, "token_type": {entra.TokenTypeMTLSPoP},
	}
	cl, err := claims.WithCapabilities(r.claims, c.capabilities)
	if err != nil {
		return oauth.TokenResponse{}, err
	}
	if cl != "" {
		form.Set("claims", cl)
	}
	resp, err := c.transport.With(hc).PostForm(ctx, cred.tokenURL, form, r.correlationID, tokenHostPolicy)
	if err != nil {
		return oauth.TokenResponse{}, err
	}
	return oauth.ParseToken(resp, entra.TokenTypeMTLSPoP)
}

// tokenHostPolicy is the token service's, without the retry of a failed
// connection: that one is answered with a new certificate instead.
func tokenHostPolicy(a entra.Attempt) (time.Duration, bool) {
	if a.Err != nil {
		return 0, false
	}
	return transport.ServicePolicy(a)
}

// certificateRefused reports an answer that means the certificate is no
// longer good: invalid_client with AADSTS 1000610 to 1000614 or no code,
// or a connection to the mTLS host that failed (a TLS failure).
func certificateRefused(err error) bool {
	var e *entra.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case entra.CodeTransport:
		return true
	case "invalid_client":
		if len(e.ErrorCodes) == 0 {
			return true
		}
		for _, n := range e.ErrorCodes {
			if n >= 1000610 && n <= 1000614 {
				return true
			}
		}
	}
	return false
}
