package credential

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/jws"
)

// assertionLifetime is the life of a client assertion: the token service
// refuses longer ones.
const assertionLifetime = 10 * time.Minute

// CertificateOptions configures a certificate credential.
type CertificateOptions struct {
	// Password decrypts a PKCS#12 (PFX) file.
	Password string
	// SendX5C puts the certificate chain in the x5c header of every
	// assertion (needed for apps registered by subject name and issuer).
	SendX5C bool
}

// Certificate is a certificate credential: it signs client assertions with
// its private key.
type Certificate struct {
	chain      []*x509.Certificate
	key        crypto.Signer
	opts       CertificateOptions
	thumbprint string // x5t#S256
	sha1       string // x5t, for AD FS
}

// NewCertificate returns a certificate credential. The key must match the
// first certificate of chain (the leaf). RSA keys must have at least 2048
// bits; ECDSA keys must be on P-256, P-384 or P-521. Any crypto.Signer works,
// so keys in an HSM or a key vault can be used.
//
// A leaf that is expired or not yet valid is refused: the token service
// rejects assertions signed with it, and failing here says why.
func NewCertificate(chain []*x509.Certificate, key crypto.Signer, opts CertificateOptions) (*Certificate, error) {
	if len(chain) == 0 || chain[0] == nil {
		return nil, badMaterial("no certificate was given")
	}
	if key == nil {
		return nil, badMaterial("no private key was given")
	}
	leaf := chain[0]
	if !publicKeysEqual(leaf.PublicKey, key.Public()) {
		return nil, badMaterial("the private key does not match the certificate %q", leaf.Subject.CommonName)
	}
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, badMaterial("the RSA key has %d bits; at least 2048 are required", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if _, err := jws.Algorithm(k, false); err != nil {
			return nil, badMaterial("the ECDSA key must be on P-256, P-384 or P-521")
		}
	default:
		return nil, badMaterial("unsupported key type %T: RSA or ECDSA keys are required", k)
	}
	now := time.Now()
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return nil, badMaterial("the certificate %q is valid from %s to %s, not now",
			leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	s256 := sha256.Sum256(leaf.Raw)
	s1 := sha1.Sum(leaf.Raw)
	return &Certificate{
		chain:      append([]*x509.Certificate(nil), chain...),
		key:        key,
		opts:       opts,
		thumbprint: base64.RawURLEncoding.EncodeToString(s256[:]),
		sha1:       base64.RawURLEncoding.EncodeToString(s1[:]),
	}, nil
}

// ParseCertificate reads a certificate credential. certData is PEM (one or
// more CERTIFICATE blocks, in any order, and, unless keyData is given, the
// private key in PKCS#1, PKCS#8 or SEC 1 form) or PKCS#12 decrypted with
// opts.Password. keyData, if not empty, is a PEM private key.
func ParseCertificate(certData, keyData []byte, opts CertificateOptions) (*Certificate, error) {
	if len(bytes.TrimSpace(certData)) == 0 {
		return nil, badMaterial("the certificate data is empty")
	}
	if !bytes.Contains(certData, []byte("-----BEGIN")) {
		key, leaf, cas, err := pkcs12.DecodeChain(certData, opts.Password)
		if err != nil {
			if errors.Is(err, pkcs12.ErrIncorrectPassword) {
				return nil, badMaterial("the PKCS#12 password is wrong")
			}
			return nil, badMaterial("the data is neither PEM nor a readable PKCS#12 file")
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, badMaterial("the PKCS#12 file holds an unsupported key type")
		}
		return NewCertificate(append([]*x509.Certificate{leaf}, cas...), signer, opts)
	}
	certs, key, err := parsePEM(certData)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(keyData)) > 0 {
		if _, key, err = parsePEM(keyData); err != nil {
			return nil, err
		}
	}
	if len(certs) == 0 {
		return nil, badMaterial("the PEM data holds no certificate")
	}
	if key == nil {
		return nil, badMaterial("the PEM data holds no private key")
	}
	// The leaf is the certificate of the key; the rest of the chain follows it.
	for i, c := range certs {
		if publicKeysEqual(c.PublicKey, key.Public()) {
			chain := append([]*x509.Certificate{c}, certs[:i]...)
			return NewCertificate(append(chain, certs[i+1:]...), key, opts)
		}
	}
	return nil, badMaterial("the private key does not match any certificate in the PEM data")
}

// LoadCertificate reads ParseCertificate's input from files; keyPath "" means
// the key is in certPath.
func LoadCertificate(certPath, keyPath string, opts CertificateOptions) (*Certificate, error) {
	certData, err := os.ReadFile(certPath)
	if err != nil {
		return nil, entra.WrapError(entra.CodeInvalidCredentialMaterial, pathError(err), "cannot read the certificate file %s", certPath)
	}
	var keyData []byte
	if keyPath != "" {
		if keyData, err = os.ReadFile(keyPath); err != nil {
			return nil, entra.WrapError(entra.CodeInvalidCredentialMaterial, pathError(err), "cannot read the key file %s", keyPath)
		}
	}
	return ParseCertificate(certData, keyData, opts)
}

func parsePEM(data []byte) ([]*x509.Certificate, crypto.Signer, error) {
	var certs []*x509.Certificate
	var key crypto.Signer
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, badMaterial("a CERTIFICATE block is malformed")
			}
			certs = append(certs, c)
		case "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY":
			if block.Headers["Proc-Type"] != "" {
				return nil, nil, badMaterial("encrypted PEM keys are not supported; use a PKCS#12 file with a password")
			}
			k, err := parseKey(block)
			if err != nil {
				return nil, nil, err
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, nil, badMaterial("encrypted PEM keys are not supported; use a PKCS#12 file with a password")
		}
	}
	if len(certs) == 0 && key == nil {
		return nil, nil, badMaterial("no PEM certificate or key could be read (malformed or truncated data)")
	}
	return certs, key, nil
}

func parseKey(block *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, badMaterial("the %s block is malformed", block.Type)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
		return k.(crypto.Signer), nil
	}
	return nil, badMaterial("unsupported private key type %T: RSA or ECDSA keys are required", k)
}

// Material signs a fresh client assertion for the request.
func (c *Certificate) Material(_ context.Context, req Request) (Material, error) {
	if req.ClientID == "" || req.TokenEndpoint == "" {
		return Material{}, entra.Errorf(entra.CodeInvalidRequest, "a client assertion needs a client id and a token endpoint")
	}
	alg, err := jws.Algorithm(c.key.Public(), req.Dialect == DialectAAD)
	if err != nil {
		return Material{}, badMaterial("%v", err)
	}
	header := map[string]any{"typ": "JWT"}
	if req.Dialect == DialectADFS {
		header["x5t"] = c.sha1
	} else {
		header["x5t#S256"] = c.thumbprint
	}
	if c.opts.SendX5C || req.IncludeX5C {
		x5c := make([]string, len(c.chain))
		for i, cert := range c.chain {
			x5c[i] = base64.StdEncoding.EncodeToString(cert.Raw)
		}
		header["x5c"] = x5c
	}
	now := time.Now().Unix()
	claims := map[string]any{
		"aud": req.TokenEndpoint,
		"iss": req.ClientID,
		"sub": req.ClientID,
		"jti": newJTI(),
		"nbf": now,
		"iat": now,
		"exp": now + int64(assertionLifetime/time.Second),
	}
	jwt, err := jws.Sign(c.key, alg, header, claims)
	if err != nil {
		return Material{}, entra.WrapError(entra.CodeInvalidCredentialMaterial, err, "cannot sign the client assertion")
	}
	// BindingCertificate stays nil until the mTLS transport opt-in exists.
	return Material{Assertion: jwt}, nil
}

// Leaf is the certificate whose key signs.
func (c *Certificate) Leaf() *x509.Certificate { return c.chain[0] }

// Chain is the leaf followed by the rest of the chain.
func (c *Certificate) Chain() []*x509.Certificate { return append([]*x509.Certificate(nil), c.chain...) }

// Thumbprint is x5t#S256: the unpadded base64url SHA-256 of the leaf's DER.
func (c *Certificate) Thumbprint() string { return c.thumbprint }

// TLSCertificate is the chain and key for a TLS handshake.
func (c *Certificate) TLSCertificate() tls.Certificate {
	raw := make([][]byte, len(c.chain))
	for i, cert := range c.chain {
		raw[i] = cert.Raw
	}
	return tls.Certificate{Certificate: raw, PrivateKey: c.key, Leaf: c.chain[0]}
}

// String names the certificate, never its key.
func (c *Certificate) String() string {
	return fmt.Sprintf("credential.Certificate{subject=%q x5t#S256=%s}", c.chain[0].Subject.CommonName, c.thumbprint)
}

// GoString is like String.
func (c *Certificate) GoString() string { return c.String() }

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func badMaterial(format string, args ...any) error {
	return entra.Errorf(entra.CodeInvalidCredentialMaterial, format, args...)
}

// pathError keeps the operating system's reason without repeating the path.
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func newJTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
