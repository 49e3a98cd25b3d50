// Package httpauth calls resources with the tokens of this library. Its
// [Transport] is an http.RoundTripper that sets Authorization with the
// token's scheme, presents the binding certificate of an mTLS
// proof-of-possession token in the TLS handshake, and answers a
// continuous access evaluation (CAE) claims challenge once.
//
//	client := &http.Client{Transport: &httpauth.Transport{
//		Token: httpauth.ForClient(app, confidential.TokenRequest{Scopes: scopes}),
//	}}
package httpauth

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/mtls"
	"github.com/entra-go/entra/managedidentity"
)

// TokenFunc returns the token for a request. claims is a claims challenge
// a resource answered with ("" for none): the token must satisfy it, as a
// token request with that Claims does (it bypasses the cache).
type TokenFunc func(ctx context.Context, claims string) (entra.Token, error)

// ForClient gets client-credentials tokens of req from c; a claims
// challenge becomes req's Claims.
func ForClient(c *confidential.Client, req confidential.TokenRequest) TokenFunc {
	return func(ctx context.Context, claims string) (entra.Token, error) {
		r := req
		if claims != "" {
			r.Claims = claims
		}
		return c.AcquireTokenForClient(ctx, r)
	}
}

// ForManagedIdentity gets req's tokens from c; a claims challenge becomes
// req's Claims (the identity's endpoint takes none, but the cached token
// is not reused).
func ForManagedIdentity(c *managedidentity.Client, req managedidentity.TokenRequest) TokenFunc {
	return func(ctx context.Context, claims string) (entra.Token, error) {
		r := req
		if claims != "" {
			r.Claims = claims
		}
		return c.AcquireToken(ctx, r)
	}
}

// Transport authorizes requests with tokens. Token is required; the other
// fields are optional. A Transport is safe for concurrent use and must not
// be copied after first use.
type Transport struct {
	// Token gets the token for each request.
	Token TokenFunc
	// Base sends the requests; nil means http.DefaultTransport. For mTLS
	// proof-of-possession tokens a clone of it presents the binding
	// certificate (one per certificate, its connections reused).
	Base *http.Transport
	// KeyVault sends a PoP token as Azure Key Vault wants it: with the
	// header x-ms-tokenboundauth: true, over a connection that accepts the
	// TLS renegotiation in which Key Vault asks for the certificate.
	KeyVault bool

	once sync.Once
	pool *mtls.Pool
}

// RoundTrip sends req with a token. A 401 carrying a CAE claims challenge
// (error="insufficient_claims") is answered once: a token for the claims
// is asked for and the request sent again, its body replayed through
// GetBody; the second answer is returned whatever it is, and so is the
// first when the body cannot be replayed (see Challenge). The token only
// goes to the request's own host: a redirect to another host, or to plain
// http, is sent without it. req is not modified.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Token == nil {
		return nil, errs.New(entra.CodeInvalidArgument, "httpauth.Transport has no Token function")
	}
	if leavesOrigin(req) {
		return t.base().RoundTrip(req)
	}
	resp, err := t.send(req, "")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	claims, ok := Challenge(resp)
	if !ok || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	return t.send(req, claims)
}

// send authorizes a copy of req with a token for claims and sends it.
func (t *Transport) send(req *http.Request, claims string) (*http.Response, error) {
	tok, err := t.Token(req.Context(), claims)
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	if claims != "" && req.GetBody != nil {
		if out.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	out.Header.Set("Authorization", tok.AuthorizationHeader())
	rt := http.RoundTripper(t.base())
	if tok.BindingCertificate != nil {
		if rt, err = t.presenting(tok.BindingCertificate); err != nil {
			return nil, err
		}
		if t.KeyVault {
			out.Header.Set("x-ms-tokenboundauth", "true")
		}
	}
	return rt.RoundTrip(out)
}

// presenting is the transport that presents cert.
func (t *Transport) presenting(cert *tls.Certificate) (http.RoundTripper, error) {
	t.once.Do(func() {
		base := &http.Client{Transport: t.base()}
		t.pool = mtls.NewPool(base, mtls.CloneFactory(base, t.KeyVault), 0)
	})
	c, err := t.pool.Client(cert)
	if err != nil {
		return nil, err
	}
	return c.Transport, nil
}

func (t *Transport) base() *http.Transport {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport.(*http.Transport)
}

// leavesOrigin reports a redirected request that goes to another host, or
// down to plain http, than the request that got the redirect.
func leavesOrigin(req *http.Request) bool {
	if req.Response == nil || req.Response.Request == nil {
		return false
	}
	first := req.Response.Request // the first request of the redirect chain
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return !strings.EqualFold(req.URL.Host, first.URL.Host) || (first.URL.Scheme == "https" && req.URL.Scheme != "https")
}
