package clientauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

// minRSABits is the smallest RSA modulus accepted; Entra ID refuses smaller keys.
const minRSABits = 2048

// CertificateOptions configures a certificate credential.
//
// Its String, GoString and Format methods never print the password.
type CertificateOptions struct {
	// Password decrypts a PKCS#12 (PFX) file. It is used only while parsing
	// and is not kept by the credential.
	Password string
	// SendX5C puts the certificate chain in the x5c header of every assertion
	// (needed for apps registered by subject name and issuer).
	SendX5C bool
}

// String describes the options without the password.
func (o CertificateOptions) String() string {
	pw := "unset"
	if o.Password != "" {
		pw = "redacted"
	}
	return fmt.Sprintf("credential.CertificateOptions{Password:%s SendX5C:%t}", pw, o.SendX5C)
}

// GoString is like String.
func (o CertificateOptions) GoString() string { return o.String() }

// Format prints String for every verb, so that no verb (%d, %x, ...) can
// reach the password.
func (o CertificateOptions) Format(f fmt.State, _ rune) { io.WriteString(f, o.String()) }

// LogValue is String, so that log/slog handlers (JSON ones included) do not
// reach the password.
func (o CertificateOptions) LogValue() slog.Value { return slog.StringValue(o.String()) }

// Certificate is a credential that proves the client's identity with a
// certificate's private key: Material signs client assertions (JWTs) with
// it, and sends each to Entra ID again for up to 5 minutes.
//
// A Certificate's chain and key never change (a rotated certificate is a
// new Certificate), and it is safe for concurrent use. Its String,
// GoString and Format methods show only the leaf's subject and thumbprint.
type Certificate struct {
	chain []*x509.Certificate // leaf first; never modified after construction
	key   crypto.Signer
	keyParams
	x5tS256 string   // base64url SHA-256 of the leaf DER
	x5tSHA1 string   // base64url SHA-1 of the leaf DER, for AD FS
	x5c     []string // std base64 DER of each chain certificate, leaf first
	sendX5C bool
	binding Binding      // the chain and key for mTLS handshakes; never modified
	checked *signerCheck // which algorithms the key was seen to sign right
	reuse   *assertionCache
	now     func() time.Time // the clock; tests set it
}

// keyParams describes a supported public key and how it signs.
type keyParams struct {
	rsaPub *rsa.PublicKey   // set for RSA keys
	ecPub  *ecdsa.PublicKey // set for ECDSA keys
	ecAlg  string           // ES256, ES384 or ES512
	ecHash crypto.Hash      // the hash ecAlg uses
	ecSize int              // bytes per coordinate in a raw ECDSA signature
}

// newKeyParams accepts RSA keys of minRSABits or more and ECDSA keys on
// P-256, P-384 and P-521.
func newKeyParams(pub crypto.PublicKey) (keyParams, error) {
	var k keyParams
	switch p := pub.(type) {
	case *rsa.PublicKey:
		bits := 0
		if p.N != nil {
			bits = p.N.BitLen()
		}
		if bits < minRSABits {
			return k, errs.New(entra.CodeInvalidCredentialMaterial,
				"the RSA key has %d bits; at least %d are required", bits, minRSABits)
		}
		k.rsaPub = p
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			k.ecAlg, k.ecHash = "ES256", crypto.SHA256
		case elliptic.P384():
			k.ecAlg, k.ecHash = "ES384", crypto.SHA384
		case elliptic.P521():
			k.ecAlg, k.ecHash = "ES512", crypto.SHA512
		default:
			return k, errs.New(entra.CodeInvalidCredentialMaterial,
				"the ECDSA key's curve is not supported: use P-256, P-384 or P-521")
		}
		k.ecPub = p
		k.ecSize = (p.Curve.Params().BitSize + 7) / 8
	case ed25519.PublicKey:
		return k, errs.New(entra.CodeInvalidCredentialMaterial,
			"Ed25519 keys are not supported: use an RSA (2048 bits or more) or ECDSA (P-256) key")
	default:
		return k, errs.New(entra.CodeInvalidCredentialMaterial,
			"unsupported key type %T: use an RSA (2048 bits or more) or ECDSA (P-256) key", pub)
	}
	return k, nil
}

// NewCertificate returns a certificate credential. chain[0] is the leaf
// certificate, whose public key must be key's; any further certificates
// (intermediates, root) follow it and are sent in the x5c header when asked.
//
// key may be any crypto.Signer, so keys kept in an HSM or a key vault work:
// signing goes through key.Sign only. The first signature key makes with
// each algorithm is verified with the leaf's public key, so that a faulty
// signer is an entra.CodeInvalidCredentialMaterial error rather than a
// refusal by the token service; later ones are not, to save the
// verification's cost. Supported keys are RSA of 2048 bits or
// more and ECDSA on P-256, P-384 or P-521; Ed25519 and other kinds are
// refused, since Entra ID does not accept them.
//
// A leaf certificate that has expired or is not valid yet is refused, with
// a message naming its validity window: the token service would refuse the
// assertions anyway, with a less telling error, and such a certificate is a
// mistake best caught at start-up. The check uses the local clock and
// happens only here; a long-running process should replace its credential
// before the certificate expires.
//
// Every failure is an *entra.Error with code entra.CodeInvalidCredentialMaterial.
func NewCertificate(chain []*x509.Certificate, key crypto.Signer, opts CertificateOptions) (*Certificate, error) {
	if len(chain) == 0 {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial, "the certificate chain is empty")
	}
	for i, c := range chain {
		if c == nil {
			return nil, errs.New(entra.CodeInvalidCredentialMaterial, "certificate %d of the chain is nil", i)
		}
	}
	if key == nil {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial, "the private key is nil")
	}
	leaf := chain[0]
	c := &Certificate{
		chain:   append([]*x509.Certificate(nil), chain...), // the caller's slice may change later
		key:     key,
		sendX5C: opts.SendX5C,
		checked: &signerCheck{},
		reuse:   newAssertionCache(),
		now:     time.Now,
	}

	pub := key.Public()
	kp, err := newKeyParams(pub)
	if err != nil {
		return nil, err
	}
	c.keyParams = kp

	if !publicKeysEqual(pub, leaf.PublicKey) {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial,
			"the private key does not match the leaf certificate %q (the first of the chain)", leaf.Subject.String())
	}

	now := time.Now()
	window := fmt.Sprintf("%s to %s", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	switch {
	case now.Before(leaf.NotBefore):
		return nil, errs.New(entra.CodeInvalidCredentialMaterial,
			"the certificate %q is not valid yet: it is valid from %s", leaf.Subject.String(), window)
	case now.After(leaf.NotAfter):
		return nil, errs.New(entra.CodeInvalidCredentialMaterial,
			"the certificate %q has expired: it was valid from %s", leaf.Subject.String(), window)
	}

	c.x5tS256 = ThumbprintOf(leaf)
	s1 := sha1.Sum(leaf.Raw) // AD FS identifies certificates by SHA-1 only
	c.x5tSHA1 = base64.RawURLEncoding.EncodeToString(s1[:])
	tc := c.TLSCertificate()
	c.binding = Binding{TLS: &tc, Leaf: leaf, Thumbprint: c.x5tS256}
	c.x5c = make([]string, len(c.chain))
	for i, cert := range c.chain {
		c.x5c[i] = base64.StdEncoding.EncodeToString(cert.Raw)
	}
	return c, nil
}

// Material returns a client assertion for req: a JWT with aud =
// req.TokenEndpoint, iss = sub = req.ClientID, a random jti, and a lifetime
// of 10 minutes; none when the certificate alone authenticates the
// request. For Entra ID (DialectAAD), which allows it, an assertion is
// sent again for the first half of its life (5 minutes) to requests that
// would get the same one but for its times and jti; then a new one is
// signed. AD FS and other OpenID Connect providers get a new one each time. An empty ClientID
// or TokenEndpoint is an entra.CodeInvalidArgument error; a context that
// has ended is entra.CodeCanceled.
func (c *Certificate) Material(ctx context.Context, req Request) (Material, error) {
	if err := ctx.Err(); err != nil {
		return Material{}, errs.Wrap(entra.CodeCanceled, err, "signing the client assertion was canceled")
	}
	if req.CertificateOnly {
		return Material{}, nil
	}
	jwt, err := c.reusedAssertion(req)
	if err != nil {
		return Material{}, err
	}
	return Material{Assertion: jwt, AssertionType: AssertionTypeJWTBearer}, nil
}

// Certificate returns the certificate to present in TLS handshakes.
func (c *Certificate) Certificate(context.Context) (*Binding, error) { return &c.binding, nil }

// Bound is false: a certificate credential presents its certificate only
// when a request goes over mutual TLS.
func (c *Certificate) Bound() bool { return false }

// Leaf returns the leaf certificate, whose key signs. It must not be modified.
func (c *Certificate) Leaf() *x509.Certificate { return c.chain[0] }

// Chain returns the certificate chain, leaf first. The slice is a copy; the
// certificates must not be modified.
func (c *Certificate) Chain() []*x509.Certificate {
	return append([]*x509.Certificate(nil), c.chain...)
}

// Thumbprint returns the leaf's x5t#S256 thumbprint: the unpadded base64url
// SHA-256 hash of its DER encoding. It identifies the certificate in
// assertions, mTLS proof-of-possession tokens and caches.
func (c *Certificate) Thumbprint() string { return c.x5tS256 }

// TLSCertificate returns the chain and key as a tls.Certificate with Leaf
// set, for presenting the certificate in a TLS handshake. Each call returns
// a fresh value.
func (c *Certificate) TLSCertificate() tls.Certificate {
	der := make([][]byte, len(c.chain))
	for i, cert := range c.chain {
		der[i] = cert.Raw
	}
	return tls.Certificate{Certificate: der, PrivateKey: c.key, Leaf: c.chain[0]}
}

// String shows the leaf's subject and thumbprint, never the key.
func (c Certificate) String() string {
	if len(c.chain) == 0 {
		return "credential.Certificate{}"
	}
	return fmt.Sprintf("credential.Certificate{subject=%q x5t#S256=%s}", c.chain[0].Subject.String(), c.x5tS256)
}

// GoString is like String.
func (c Certificate) GoString() string { return c.String() }

// Format prints String for every verb, so that no verb (%d, %x, ...) can
// reach the private key.
func (c Certificate) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// LogValue is String, so that log/slog handlers show the subject and
// thumbprint rather than an empty object.
func (c Certificate) LogValue() slog.Value { return slog.StringValue(c.String()) }

// publicKeysEqual reports whether a and b are the same key. Every key type
// of the standard library has an Equal method.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}
