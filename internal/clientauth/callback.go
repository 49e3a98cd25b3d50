package clientauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

// AssertionRequest is what an assertion callback signs for.
type AssertionRequest struct {
	ClientID      string
	TokenEndpoint string
	Tenant        string
	CorrelationID string
	Claims        string
	Capabilities  []string
}

// AssertionFunc returns a signed client assertion for a request.
type AssertionFunc func(ctx context.Context, req AssertionRequest) (string, error)

// callback is a credential whose assertion comes from the caller.
type callback struct{ fn AssertionFunc }

// NewAssertion returns a credential whose assertions fn supplies.
func NewAssertion(fn AssertionFunc) Credential { return &callback{fn: fn} }

func (c *callback) Material(ctx context.Context, req Request) (Material, error) {
	if req.CertificateOnly {
		return Material{}, errs.New(entra.CodeMTLSCertificateNotProvided,
			"the request must be authenticated by a certificate, and this assertion callback declares none")
	}
	return c.assertion(ctx, req, AssertionTypeJWTBearer)
}

func (c *callback) assertion(ctx context.Context, req Request, kind string) (Material, error) {
	jwt, err := c.fn(ctx, AssertionRequest{ClientID: req.ClientID, TokenEndpoint: req.TokenEndpoint, Tenant: req.Tenant,
		CorrelationID: req.CorrelationID, Claims: req.Claims, Capabilities: req.Capabilities})
	switch {
	case err != nil && entra.ErrorCode(err) != "":
		return Material{}, err
	case err != nil:
		return Material{}, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "the assertion callback failed")
	case isBlank(jwt):
		return Material{}, errs.New(entra.CodeInvalidCredentialMaterial, "the assertion callback returned an empty assertion")
	}
	return Material{Assertion: jwt, AssertionType: kind}, nil
}

// String never reveals an assertion.
func (c *callback) String() string { return "client assertion callback" }

// Format prints String for every verb.
func (c *callback) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// LogValue is String.
func (c *callback) LogValue() slog.Value { return slog.StringValue(c.String()) }

// boundCallback is an assertion callback whose assertions are bound to a
// certificate that every request presents.
type boundCallback struct {
	callback
	cert func(context.Context) (*tls.Certificate, error)
	// last is the binding of the certificate cert returned last, so that a
	// look-up keyed by it costs a pointer comparison.
	last atomic.Pointer[lastBinding]
}

type lastBinding struct {
	returned *tls.Certificate // what cert returned
	binding  *Binding         // its binding, with Leaf set
}

// NewBoundAssertion returns a credential whose assertions fn supplies,
// bound to the certificate that cert returns (it may change over time: a
// rotated certificate). Requests present that certificate over mutual TLS
// and send the assertion as jwt-pop.
func NewBoundAssertion(cert func(context.Context) (*tls.Certificate, error), fn AssertionFunc) Credential {
	return &boundCallback{callback: callback{fn: fn}, cert: cert}
}

func (b *boundCallback) Bound() bool { return true }

func (b *boundCallback) Certificate(ctx context.Context) (*Binding, error) {
	cert, err := b.cert(ctx)
	switch {
	case err != nil && entra.ErrorCode(err) != "":
		return nil, err
	case err != nil:
		return nil, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "the binding certificate callback failed")
	case cert == nil || len(cert.Certificate) == 0:
		return nil, errs.New(entra.CodeMTLSCertificateNotProvided, "the binding certificate callback returned no certificate")
	}
	if last := b.last.Load(); last != nil && last.returned == cert {
		return last.binding, nil
	}
	withLeaf := *cert // the caller's value stays as it is
	if withLeaf.Leaf == nil {
		if withLeaf.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "the binding certificate is not a valid X.509 certificate")
		}
	}
	binding := &Binding{TLS: &withLeaf, Leaf: withLeaf.Leaf, Thumbprint: ThumbprintOf(withLeaf.Leaf)}
	b.last.Store(&lastBinding{returned: cert, binding: binding})
	return binding, nil
}

func (b *boundCallback) Material(ctx context.Context, req Request) (Material, error) {
	if req.CertificateOnly {
		return Material{}, nil // the certificate in the handshake authenticates the client
	}
	return b.assertion(ctx, req, AssertionTypeJWTPoP)
}

// String never reveals an assertion.
func (b *boundCallback) String() string { return "client assertion callback bound to a certificate" }

// Format prints String for every verb.
func (b *boundCallback) Format(f fmt.State, _ rune) { io.WriteString(f, b.String()) }

// LogValue is String.
func (b *boundCallback) LogValue() slog.Value { return slog.StringValue(b.String()) }
