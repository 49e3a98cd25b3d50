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
	"net/url"

	"github.com/entra-go/entra/internal/clientauth"
	"github.com/entra-go/entra/internal/cloud"
	"github.com/entra-go/entra/managedidentity"
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
	// Logger receives WatchCertificate's warning about a file that could not
	// be reloaded; nil discards it.
	Logger *slog.Logger
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

// WatchCertificate is LoadCertificate for a certificate that rotates on
// disk: the files are looked at, at most every five seconds, by the
// acquisitions that use the certificate, and a changed certificate is
// loaded without a new client. Requests then present it, and
// proof-of-possession tokens are bound (and cached) by it; bearer tokens
// obtained before stay served until they expire. A file that fails to
// parse (half-written, wrong password) leaves the previous certificate in
// use, with a warning on opts.Logger. The password is kept in memory, to
// read a rotated PFX.
func WatchCertificate(certPath, keyPath string, opts CertificateOptions) (Credential, error) {
	return clientauth.WatchCertificate(certPath, keyPath, opts.internal(), opts.Logger, clientauth.CheckInterval)
}

// NewWorkloadIdentity returns the credential of a workload identity
// federation: the token another issuer writes to tokenFile (on Kubernetes,
// the service-account token at AZURE_FEDERATED_TOKEN_FILE) is the client
// assertion. The file is read again when the copy in memory is older than
// five minutes or its exp is less than five minutes away, so the token the
// kubelet rotates is always picked up, and an expired one never sent. A
// missing or empty file, or one without a JWT, is
// entra.CodeInvalidCredentialMaterial naming the file.
func NewWorkloadIdentity(tokenFile string) Credential {
	return clientauth.NewTokenFile(tokenFile, "", nil)
}

// NewManagedIdentityAssertion returns the credential of an application
// that trusts a managed identity as a federated credential: the identity's
// token for the token-exchange audience of the authority's cloud
// (api://AzureADTokenExchange, or the US Gov, China, France or Germany
// one) is the client assertion. mi caches that token; a claims challenge
// of the application's request reaches it (it then skips its cache), and
// so does the correlation id.
func NewManagedIdentityAssertion(mi *managedidentity.Client) Credential {
	return clientauth.NewAssertion(func(ctx context.Context, req clientauth.AssertionRequest) (string, error) {
		tok, err := mi.AcquireToken(ctx, managedidentity.TokenRequest{Resource: exchangeAudience(req.TokenEndpoint),
			Claims: req.Claims, CorrelationID: req.CorrelationID})
		return tok.AccessToken, err
	})
}

func exchangeAudience(tokenEndpoint string) string {
	u, err := url.Parse(tokenEndpoint)
	if err != nil {
		return cloud.ExchangeAudience("")
	}
	return cloud.ExchangeAudience(u.Hostname())
}

// NewCertificate returns a certificate credential. chain[0] is the leaf,
// whose public key must be key's; further certificates follow it and are
// sent in the x5c header when asked for.
//
// key may be any crypto.Signer, so keys kept in an HSM or a key vault work;
// its first signature with each algorithm is verified, so that a faulty
// signer is reported here rather than refused by the token service.
// An assertion it signs for Entra ID is sent again, to the same token
// endpoint, for 5 minutes (half its life), as Entra ID allows; AD FS and
// other OpenID Connect providers get a new one per request.
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
