// Package clientauth is how a confidential client proves its identity: the
// credentials behind package credential (a client secret, a certificate, an
// assertion callback with or without a certificate it is bound to) and the
// material each contributes to one token request.
//
// A credential declares what it can do before any request: Certified says
// it holds a certificate it can present over mutual TLS, and whether every
// request must present it. The client decides the route from that, and
// only then asks for Material, for that route.
//
// No value of this package prints a secret, private key or assertion.
package clientauth

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
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

// Credential authenticates a confidential client. Implementations are
// safe for concurrent use and return *entra.Error on failure.
type Credential interface {
	// Material authenticates one token request.
	Material(ctx context.Context, req Request) (Material, error)
}

// Certified is a credential holding a certificate it can present in the
// TLS handshake (mTLS) and bind proof-of-possession tokens to.
type Certified interface {
	Credential
	// Certificate is the certificate to present now. It is called on
	// cache look-ups that key by it, so it is cheap once warm.
	Certificate(ctx context.Context) (*Binding, error)
	// Bound reports that the credential's assertions are bound to the
	// certificate: every request must present it (assertion type jwt-pop),
	// and the tokens it gets are bound to it too.
	Bound() bool
}

// Binding is a certificate a request presents.
type Binding struct {
	TLS  *tls.Certificate
	Leaf *x509.Certificate
	// Thumbprint is the leaf's x5t#S256, which keys bound tokens.
	Thumbprint string
}

// Request describes the token request a credential authenticates.
type Request struct {
	// ClientID is the application (client) id: the assertion's iss and sub.
	ClientID string
	// TokenEndpoint is the URL the request goes to: the assertion's aud.
	TokenEndpoint string
	// Dialect selects the assertion format.
	Dialect Dialect
	// IncludeX5C puts the certificate chain in the assertion header even if
	// the credential was not configured to (an mTLS request needs it).
	IncludeX5C bool
	// CertificateOnly: the certificate presented in the TLS handshake alone
	// authenticates the client (mTLS proof-of-possession, RFC 8705
	// tls_client_auth); a certificate credential signs no assertion.
	CertificateOnly bool
	// Tenant, CorrelationID, the claims challenge (Claims) and the client
	// Capabilities describe the request for assertion callbacks (a
	// federated credential passes them on).
	Tenant        string
	CorrelationID string
	Claims        string
	Capabilities  []string
}

// Material is what a credential contributes to one token request: a
// client secret, an assertion, or nothing (the certificate authenticates).
type Material struct {
	// ClientSecret goes in the client_secret form field.
	ClientSecret string
	// Assertion is a signed JWT for the client_assertion form field, of
	// AssertionType.
	Assertion     string
	AssertionType string
}

// String describes the material without revealing it.
func (m Material) String() string {
	switch {
	case m.ClientSecret != "":
		return "clientauth.Material{client_secret}"
	case m.Assertion != "":
		return "clientauth.Material{client_assertion}"
	}
	return "clientauth.Material{}"
}

// Format prints String for every verb, so that no verb can reach the
// secret or the assertion.
func (m Material) Format(f fmt.State, _ rune) { io.WriteString(f, m.String()) }

// LogValue is String, so that log/slog handlers do not marshal the fields.
func (m Material) LogValue() slog.Value { return slog.StringValue(m.String()) }

// secret is a client secret.
type secret struct{ value string }

// NewSecret returns a client-secret credential. An empty or all-blank secret
// is refused with entra.CodeInvalidCredentialMaterial.
func NewSecret(value string) (Credential, error) {
	if isBlank(value) {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial, "the client secret is empty")
	}
	return &secret{value: value}, nil
}

func (s *secret) Material(_ context.Context, req Request) (Material, error) {
	if req.CertificateOnly {
		return Material{}, errs.New(entra.CodeMTLSCertificateNotProvided,
			"the request must be authenticated by a certificate, and a client secret has none: use a certificate credential")
	}
	return Material{ClientSecret: s.value}, nil
}

// String never reveals the secret.
func (s *secret) String() string { return "client secret" }

// Format prints String for every verb.
func (s *secret) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue is String, so that log/slog handlers do not reach the secret.
func (s *secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// ThumbprintOf returns a certificate's x5t#S256: the unpadded base64url
// SHA-256 hash of its DER encoding.
func ThumbprintOf(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func isBlank(s string) bool {
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}
