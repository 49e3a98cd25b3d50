// Package credential provides the ways a confidential client proves its
// identity to the token service: a client secret, a certificate (which signs
// a client assertion and can be presented over mutual TLS), or a callback
// that supplies an assertion.
//
// No value of this package prints its secret, private key or assertion.
package credential

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"

	"github.com/entra-go/entra"
)

// Assertion types for the client_assertion_type form field.
const (
	AssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	AssertionTypeJWTPoP    = "urn:ietf:params:oauth:client-assertion-type:jwt-pop"
)

// Dialect is the assertion format an authority accepts.
type Dialect uint8

const (
	// DialectAAD: Microsoft Entra ID. RSA keys sign PS256, EC keys ES256;
	// the header carries x5t#S256.
	DialectAAD Dialect = iota
	// DialectADFS: AD FS. RSA keys sign RS256; the header carries x5t (SHA-1).
	DialectADFS
	// DialectOIDC: a generic OpenID Connect provider. RSA keys sign RS256,
	// EC keys ES256; the header carries x5t#S256.
	DialectOIDC
)

// Request describes the token request a credential is asked to authenticate.
type Request struct {
	// ClientID is the application (client) id: the assertion's iss and sub.
	ClientID string
	// TokenEndpoint is the URL the request goes to: the assertion's aud.
	TokenEndpoint string
	// Dialect selects the assertion format.
	Dialect Dialect
	// IncludeX5C puts the certificate chain in the assertion header even if
	// the credential was not configured to (mTLS transport needs it).
	IncludeX5C bool
	// MTLS: the request goes over mutual TLS. A credential holding a
	// certificate returns it as BindingCertificate.
	MTLS bool
	// TLSClientAuth: the certificate presented over mutual TLS alone
	// authenticates the client (mTLS proof-of-possession, RFC 8705
	// tls_client_auth), so a certificate credential signs no assertion.
	TLSClientAuth bool
}

// Material is what a credential contributes to one token request. At most
// one of ClientSecret and Assertion is set.
type Material struct {
	// ClientSecret goes in the client_secret form field.
	ClientSecret string
	// Assertion is a signed JWT for the client_assertion form field.
	Assertion string
	// BindingCertificate is a certificate the request may present in the TLS
	// handshake (mTLS). Nil when the credential has none to offer.
	BindingCertificate *tls.Certificate
}

// String describes the material without revealing it.
func (m Material) String() string {
	switch {
	case m.ClientSecret != "":
		return "credential.Material{client_secret}"
	case m.Assertion != "":
		return "credential.Material{client_assertion}"
	}
	return "credential.Material{}"
}

// GoString is like String.
func (m Material) GoString() string { return m.String() }

// Format prints String for every verb, so that no verb (%d, %x, ...) can
// reach the secret or the assertion.
func (m Material) Format(f fmt.State, _ rune) { io.WriteString(f, m.String()) }

// LogValue is String, so that log/slog handlers (JSON ones included) do not
// reach the secret or the assertion.
func (m Material) LogValue() slog.Value { return slog.StringValue(m.String()) }

// Credential authenticates a confidential client. Implementations are safe
// for concurrent use and return *entra.Error on failure.
type Credential interface {
	Material(ctx context.Context, req Request) (Material, error)
}

// Secret is a client secret.
type Secret struct{ value string }

// NewSecret returns a client-secret credential. An empty or all-blank secret
// is refused with entra.CodeInvalidCredentialMaterial.
func NewSecret(secret string) (*Secret, error) {
	if isBlank(secret) {
		return nil, entra.Errorf(entra.CodeInvalidCredentialMaterial, "the client secret is empty")
	}
	return &Secret{value: secret}, nil
}

// Material returns the secret for the client_secret field.
func (s *Secret) Material(context.Context, Request) (Material, error) {
	return Material{ClientSecret: s.value}, nil
}

// String never reveals the secret.
func (s Secret) String() string { return "credential.Secret{redacted}" }

// GoString never reveals the secret.
func (s Secret) GoString() string { return s.String() }

// Format prints String for every verb, so that no verb (%d, %x, ...) can
// reach the secret.
func (s Secret) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue is String, so that log/slog handlers do not reach the secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// AssertionRequest is what an AssertionFunc is asked to sign for.
type AssertionRequest struct {
	ClientID      string
	TokenEndpoint string
}

// Assertion is what an AssertionFunc returns.
type Assertion struct {
	// JWT is the signed client assertion.
	JWT string
	// BindingCertificate, if set, is the certificate the assertion is bound
	// to; the request is then sent over mutual TLS with it.
	BindingCertificate *tls.Certificate
}

// String never reveals the assertion.
func (a Assertion) String() string { return "credential.Assertion{redacted}" }

// GoString never reveals the assertion.
func (a Assertion) GoString() string { return a.String() }

// Format prints String for every verb, so that no verb (%d, %x, ...) can
// reach the assertion.
func (a Assertion) Format(f fmt.State, _ rune) { io.WriteString(f, a.String()) }

// LogValue is String, so that log/slog handlers (JSON ones included) do not
// reach the assertion.
func (a Assertion) LogValue() slog.Value { return slog.StringValue(a.String()) }

// AssertionFunc is a credential whose assertion comes from the caller, for
// example a federated token or an assertion signed by a key vault.
type AssertionFunc func(ctx context.Context, req AssertionRequest) (Assertion, error)

// Material calls the function and checks it returned an assertion.
func (f AssertionFunc) Material(ctx context.Context, req Request) (Material, error) {
	a, err := f(ctx, AssertionRequest{ClientID: req.ClientID, TokenEndpoint: req.TokenEndpoint})
	if err != nil {
		if entra.ErrorCode(err) != "" {
			return Material{}, err
		}
		return Material{}, entra.WrapError(entra.CodeInvalidCredentialMaterial, err, "the assertion callback failed")
	}
	if isBlank(a.JWT) {
		return Material{}, entra.Errorf(entra.CodeInvalidCredentialMaterial, "the assertion callback returned an empty assertion")
	}
	return Material{Assertion: a.JWT, BindingCertificate: a.BindingCertificate}, nil
}

func isBlank(s string) bool {
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}
