// Package credential provides the ways a confidential client proves its
// identity to the token service: a client secret, a certificate (which
// signs client assertions and can be presented over mutual TLS), or a
// callback that supplies assertions, optionally bound to a certificate.
//
// No credential prints its secret, private key or assertion.
package credential

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"

	"github.com/entra-go/entra/internal/clientauth"
)

// Credential authenticates a confidential client. Make one with the
// functions of this package; it is safe for concurrent use.
type Credential = clientauth.Credential

// NewSecret returns a client-secret credential. An empty or blank secret
// is refused with entra.CodeInvalidCredentialMaterial.
func NewSecret(secret string) (Credential, error) { return clientauth.NewSecret(secret) }

// CertificateOptions configures a certificate credential. No fmt verb and
// no log/slog handler prints its password.
type CertificateOptions struct {
	// Password decrypts a PKCS#12 (PFX) file. It is used only while parsing
	// and is not kept by the credential.
	Password string
	// SendX5C puts the certificate chain in the x5c header of every assertion
	// (needed for apps registered by subject name and issuer).
	SendX5C bool
}

// Format prints the options without the password, for every verb.
func (o CertificateOptions) Format(f fmt.State, _ rune) {
	pw := "unset"
	if o.Password != "" {
		pw = "redacted"
	}
	fmt.Fprintf(f, "credential.CertificateOptions{Password:%s SendX5C:%t}", pw, o.SendX5C)
}

// LogValue keeps log/slog handlers from printing the password.
func (o CertificateOptions) LogValue() slog.Value { return slog.StringValue(fmt.Sprint(o)) }

func (o CertificateOptions) internal() clientauth.CertificateOptions {
	return clientauth.CertificateOptions{Password: o.Password, SendX5C: o.SendX5C}
}

// LoadCertificate reads a certificate credential from files: certPath holds
// PEM (a chain, and the key unless keyPath names a PEM key file) or PKCS#12
// (PFX, decrypted with opts.Password). See ParseCertificate.
func LoadCertificate(certPath, keyPath string, opts CertificateOptions) (Credential, error) {
	return clientauth.LoadCertificate(certPath, keyPath, opts.internal())
}

// ParseCertificate returns a certificate credential from encoded data.
//
// certData is either PEM or PKCS#12 (PFX): data containing "-----BEGIN" is
// read as PEM, anything else as PKCS#12 decrypted with opts.Password
// (OpenSSL 3's default files and legacy ones alike). If keyData is empty,
// the private key is taken from certData; otherwise keyData is PEM holding
// it. PEM keys may be PKCS#1, PKCS#8 or SEC 1, not encrypted. A PEM chain
// may list its certificates in any order: the leaf is the one matching the
// key.
//
// The result is checked as by NewCertificate. Every failure is an
// *entra.Error with code entra.CodeInvalidCredentialMaterial; its message
// never contains the data, the key or the password.
func ParseCertificate(certData, keyData []byte, opts CertificateOptions) (Credential, error) {
	return clientauth.ParseCertificate(certData, keyData, opts.internal())
}

// NewCertificate returns a certificate credential. chain[0] is the leaf,
// whose public key must be key's; further certificates follow it and are
// sent in the x5c header when asked for.
//
// key may be any crypto.Signer, so keys kept in an HSM or a key vault work.
// Supported keys are RSA of 2048 bits or more and ECDSA on P-256, P-384 or
// P-521. A leaf that has expired or is not valid yet is refused, naming its
// validity window. Every failure is an *entra.Error with code
// entra.CodeInvalidCredentialMaterial.
func NewCertificate(chain []*x509.Certificate, key crypto.Signer, opts CertificateOptions) (Credential, error) {
	return clientauth.NewCertificate(chain, key, opts.internal())
}

// AssertionRequest is what an assertion callback signs for.
type AssertionRequest struct {
	// ClientID is the application: the assertion's iss and sub.
	ClientID string
	// TokenEndpoint is where the request goes: the assertion's aud.
	TokenEndpoint string
	// Tenant, CorrelationID, Claims and Capabilities describe the token
	// request, for a callback that gets its assertion from another token
	// service (a federated credential) and passes them on.
	Tenant        string
	CorrelationID string
	Claims        string
	Capabilities  []string
}

// AssertionFunc returns a signed client assertion (a JWT) for req, for
// example a federated token or an assertion signed by a key vault. Errors
// that are not *entra.Error become entra.CodeInvalidCredentialMaterial.
type AssertionFunc func(ctx context.Context, req AssertionRequest) (string, error)

func (fn AssertionFunc) internal() clientauth.AssertionFunc {
	return func(ctx context.Context, r clientauth.AssertionRequest) (string, error) {
		return fn(ctx, AssertionRequest(r))
	}
}

// NewAssertion returns a credential whose assertions fn supplies.
func NewAssertion(fn AssertionFunc) Credential { return clientauth.NewAssertion(fn.internal()) }

// NewBoundAssertion returns a credential whose assertions fn supplies,
// bound to the certificate that certificate returns: every request
// presents it over mutual TLS and sends the assertion as jwt-pop, and the
// tokens are cached per certificate (x5t#S256), so that a rotated
// certificate never gets a token bound to the old one. certificate is
// called on every acquisition: return a kept *tls.Certificate, and a new
// one only when it changes.
func NewBoundAssertion(certificate func(ctx context.Context) (*tls.Certificate, error), fn AssertionFunc) Credential {
	return clientauth.NewBoundAssertion(certificate, fn.internal())
}
