package clientauth

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

// maxFileSize bounds what LoadCertificate reads: certificate files are a
// few kilobytes, and a wrong path (a device, a log) must not exhaust memory.
const maxFileSize = 1 << 20

// ParseCertificate returns a certificate credential from encoded data.
//
// certData is either PEM or PKCS#12 (PFX): data containing "-----BEGIN" is
// read as PEM, anything else as PKCS#12 decrypted with opts.Password
// (OpenSSL 3's default AES/PBKDF2 files and legacy 3DES/RC2 files alike).
//
// If keyData is empty, the private key is taken from certData. Otherwise
// keyData is PEM holding the key, and private keys in certData are ignored
// (so the same bundle may be passed twice). A PKCS#12 file always carries
// its own key and takes no keyData.
//
// PEM data may hold a chain: several CERTIFICATE blocks in any order. The
// leaf is the certificate whose public key matches the private key; the
// others follow it, ordered from the leaf's issuer upward as far as they
// link, the rest in their original order. Keys may be PKCS#1 ("RSA PRIVATE
// KEY"), PKCS#8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"). Encrypted PEM
// keys are not supported: use a password-protected PKCS#12 file instead.
//
// The result is then checked as by NewCertificate. Every failure is an
// *entra.Error with code entra.CodeInvalidCredentialMaterial; its message
// never contains the data, the key or the password.
func ParseCertificate(certData, keyData []byte, opts CertificateOptions) (*Certificate, error) {
	if len(bytes.TrimSpace(certData)) == 0 {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial, "the certificate data is empty")
	}
	separateKey := len(keyData) != 0
	var certs []*x509.Certificate
	var key crypto.PrivateKey
	if isPEM(certData) {
		p, err := parsePEM(certData, "certificate data", !separateKey)
		if err != nil {
			return nil, err
		}
		if len(p.certs) == 0 {
			return nil, errs.New(entra.CodeInvalidCredentialMaterial, "the certificate data contains no certificate")
		}
		certs, key = p.certs, p.key
	} else {
		if separateKey {
			return nil, errs.New(entra.CodeInvalidCredentialMaterial,
				"the certificate data is not PEM, so it is read as PKCS#12 (PFX), which carries its own private key: pass no separate key")
		}
		var err error
		if certs, key, err = parsePKCS12(certData, opts.Password); err != nil {
			return nil, err
		}
	}
	src := "certificate data"
	if separateKey {
		src = "key data"
		if !isPEM(keyData) {
			return nil, errs.New(entra.CodeInvalidCredentialMaterial, "the key data is not PEM")
		}
		p, err := parsePEM(keyData, src, true)
		if err != nil {
			return nil, err
		}
		key = p.key
	}
	if key == nil {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial, "the %s contains no private key", src)
	}

	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial,
			"unsupported key type %T: use an RSA (2048 bits or more) or ECDSA (P-256) key", key)
	}
	// Check the key first: "Ed25519 is not supported" says more than "no
	// certificate matches the key".
	if _, err := newKeyParams(signer.Public()); err != nil {
		return nil, err
	}
	chain, err := orderChain(certs, signer.Public())
	if err != nil {
		return nil, err
	}
	return NewCertificate(chain, signer, opts)
}

// LoadCertificate reads certPath and keyPath and calls ParseCertificate.
// An empty keyPath means the key is inside certPath (a PEM bundle or a
// PKCS#12 file). Errors name the files but never show their contents.
func LoadCertificate(certPath, keyPath string, opts CertificateOptions) (*Certificate, error) {
	certData, err := readFile(certPath, "certificate")
	if err != nil {
		return nil, err
	}
	var keyData []byte
	if keyPath != "" {
		if keyData, err = readFile(keyPath, "key"); err != nil {
			return nil, err
		}
	}
	c, err := ParseCertificate(certData, keyData, opts)
	if err != nil {
		// Say which files were meant; the message stays free of their contents.
		var e *entra.Error
		if errors.As(err, &e) {
			where := fmt.Sprintf("certificate file %q", certPath)
			if keyPath != "" {
				where += fmt.Sprintf(", key file %q", keyPath)
			}
			return nil, errs.Wrap(e.Code, e.Err, "%s (%s)", e.Message, where)
		}
		return nil, err
	}
	return c, nil
}

// readFile reads at most maxFileSize bytes of path; what names the file.
func readFile(path, what string) ([]byte, error) {
	if path == "" {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial, "the %s file path is empty", what)
	}
	f, err := os.Open(path)
	if err != nil {
		// The *fs.PathError names the path and the reason, never contents.
		return nil, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "cannot read the %s file", what)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "cannot read the %s file %q", what, path)
	}
	if len(data) > maxFileSize {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial,
			"the %s file %q is larger than %d bytes, too large for a certificate or key", what, path, maxFileSize)
	}
	return data, nil
}

func isPEM(data []byte) bool { return bytes.Contains(data, []byte("-----BEGIN")) }

// pemContents is what parsePEM found.
type pemContents struct {
	certs []*x509.Certificate
	key   crypto.PrivateKey
}

// parsePEM decodes every block of data; what names the data in messages.
// Certificates are always collected, private keys only if wantKey.
func parsePEM(data []byte, what string, wantKey bool) (pemContents, error) {
	var out pemContents
	blocks := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks++
		switch {
		case b.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return out, errs.Wrap(entra.CodeInvalidCredentialMaterial, err,
					"certificate %d in the %s cannot be parsed", len(out.certs)+1, what)
			}
			out.certs = append(out.certs, c)
		case wantKey && strings.HasSuffix(b.Type, "PRIVATE KEY"):
			if out.key != nil {
				return out, errs.New(entra.CodeInvalidCredentialMaterial, "the %s contains more than one private key", what)
			}
			k, err := parsePEMKey(b, what)
			if err != nil {
				return out, err
			}
			out.key = k
		}
		// Other blocks (EC PARAMETERS, PUBLIC KEY, ...) do not matter here.
	}
	// pem.Decode silently skips a block it cannot decode (no END line,
	// corrupt base64), so count the BEGIN lines to notice one.
	if n := bytes.Count(data, []byte("-----BEGIN")); n != blocks {
		return out, errs.New(entra.CodeInvalidCredentialMaterial,
			"the %s is malformed or truncated: %d of its %d PEM blocks cannot be decoded", what, n-blocks, n)
	}
	return out, nil
}

// parsePEMKey parses one PEM private-key block; what names the data in messages.
func parsePEMKey(b *pem.Block, what string) (crypto.PrivateKey, error) {
	if b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial,
			"the private key in the %s is encrypted, which is not supported for PEM: "+
				"use a password-protected PKCS#12 (PFX) file instead, or decrypt the key", what)
	}
	var k crypto.PrivateKey
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		return nil, errs.New(entra.CodeInvalidCredentialMaterial,
			"the private key in the %s has an unsupported format %q: use PKCS#1, PKCS#8 or SEC 1 PEM, or PKCS#12",
			what, truncate(b.Type, 40))
	}
	if err != nil {
		// x509 errors describe the structure, never the key bytes.
		return nil, errs.Wrap(entra.CodeInvalidCredentialMaterial, err,
			"the private key in the %s (%s) cannot be parsed", what, b.Type)
	}
	return k, nil
}

// parsePKCS12 decodes a PFX file, mapping the library's errors to distinct messages.
func parsePKCS12(data []byte, password string) ([]*x509.Certificate, crypto.PrivateKey, error) {
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err == nil {
		return append([]*x509.Certificate{leaf}, cas...), key, nil
	}
	var notImpl pkcs12.NotImplementedError
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword) && password == "":
		return nil, nil, errs.New(entra.CodeInvalidCredentialMaterial,
			"the PKCS#12 (PFX) file is password-protected and no password was given")
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return nil, nil, errs.New(entra.CodeInvalidCredentialMaterial, "the PKCS#12 (PFX) password is wrong")
	case errors.Is(err, pkcs12.ErrDecryption):
		return nil, nil, errs.New(entra.CodeInvalidCredentialMaterial,
			"the PKCS#12 (PFX) file cannot be decrypted: the password is wrong or the file is corrupt")
	case errors.As(err, &notImpl):
		return nil, nil, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "the PKCS#12 (PFX) file uses an unsupported format")
	case data[0] == 0x30:
		// It starts like a DER SEQUENCE: most likely a damaged or cut-off PFX.
		return nil, nil, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "the PKCS#12 (PFX) data is malformed or truncated")
	}
	return nil, nil, errs.New(entra.CodeInvalidCredentialMaterial, "the certificate data is neither PEM nor PKCS#12 (PFX)")
}

// orderChain puts the certificate whose public key is pub first, then the
// certificates that link from it issuer by issuer, then any others in
// their original order.
func orderChain(certs []*x509.Certificate, pub crypto.PublicKey) ([]*x509.Certificate, error) {
	leaf := -1
	for i, c := range certs {
		if publicKeysEqual(pub, c.PublicKey) {
			leaf = i
			break
		}
	}
	if leaf < 0 {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial,
			"the private key does not match any of the %d certificate(s) given", len(certs))
	}
	chain := make([]*x509.Certificate, 0, len(certs))
	used := make([]bool, len(certs))
	chain, used[leaf] = append(chain, certs[leaf]), true
	for cur := certs[leaf]; !bytes.Equal(cur.RawIssuer, cur.RawSubject); { // stop at a self-signed root
		next := -1
		for i, c := range certs {
			if !used[i] && bytes.Equal(c.RawSubject, cur.RawIssuer) {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		chain, used[next] = append(chain, certs[next]), true
		cur = certs[next]
	}
	for i, c := range certs {
		if !used[i] {
			chain = append(chain, c)
		}
	}
	return chain, nil
}

// truncate shortens s to at most n bytes for a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
