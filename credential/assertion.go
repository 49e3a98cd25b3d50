package credential

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/uuid"
)

// assertionLifetime is exp - nbf. Entra ID accepts at most 10 minutes.
const assertionLifetime = 10 * time.Minute

// jwsHeader is the protected header of a client assertion. Field order is
// the order of the JSON members.
type jwsHeader struct {
	Alg     string   `json:"alg"`
	Typ     string   `json:"typ"`
	X5t     string   `json:"x5t,omitempty"`
	X5tS256 string   `json:"x5t#S256,omitempty"`
	X5c     []string `json:"x5c,omitempty"`
}

// assertionClaims are the claims of a client assertion.
type assertionClaims struct {
	Aud string `json:"aud"`
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Jti string `json:"jti"`
	Nbf int64  `json:"nbf"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

// assertion builds and signs a compact JWS for req, valid from now.
func (c *Certificate) assertion(req Request, now time.Time) (string, error) {
	if isBlank(req.ClientID) {
		return "", entra.Errorf(entra.CodeInvalidRequest, "a client assertion needs a client id")
	}
	if isBlank(req.TokenEndpoint) {
		return "", entra.Errorf(entra.CodeInvalidRequest, "a client assertion needs a token endpoint")
	}

	h := jwsHeader{Typ: "JWT"}
	switch req.Dialect {
	case DialectAAD, DialectOIDC:
		h.X5tS256 = c.x5tS256
	case DialectADFS:
		h.X5t = c.x5tSHA1
	default:
		return "", entra.Errorf(entra.CodeInvalidRequest, "unknown assertion dialect %d", req.Dialect)
	}
	var hash crypto.Hash
	var opts crypto.SignerOpts
	if c.rsaPub != nil {
		hash = crypto.SHA256
		if req.Dialect == DialectAAD {
			// JWA (RFC 7518 §3.5) fixes the PSS salt length to the hash length.
			h.Alg, opts = "PS256", &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: hash}
		} else {
			h.Alg, opts = "RS256", hash
		}
	} else {
		h.Alg, hash, opts = c.ecAlg, c.ecHash, c.ecHash
	}
	if c.sendX5C || req.IncludeX5C {
		h.X5c = c.x5c
	}

	jti := uuid.New()
	nbf := now.Unix()
	claims := assertionClaims{
		Aud: req.TokenEndpoint,
		Iss: req.ClientID,
		Sub: req.ClientID,
		Jti: jti,
		Nbf: nbf,
		Iat: nbf,
		Exp: nbf + int64(assertionLifetime/time.Second),
	}

	// Marshalling these flat structs of strings and numbers cannot fail.
	hj, _ := json.Marshal(h)
	cj, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	input := enc.AppendEncode(nil, hj)
	input = append(input, '.')
	input = enc.AppendEncode(input, cj)

	sig, err := c.sign(input, hash, opts)
	if err != nil {
		return "", err
	}
	out := append(input, '.')
	out = enc.AppendEncode(out, sig)
	return string(out), nil
}

// sign signs the JWS signing input through crypto.Signer and returns the
// signature in JWS form. It checks the signature against the certificate's
// public key, so that a faulty external signer (HSM, key vault) is reported
// here rather than as an opaque invalid_client from the token service.
func (c *Certificate) sign(input []byte, hash crypto.Hash, opts crypto.SignerOpts) ([]byte, error) {
	hh := hash.New()
	hh.Write(input)
	digest := hh.Sum(nil)

	sig, err := c.key.Sign(rand.Reader, digest, opts)
	if err != nil {
		// The cause comes from the signer (possibly remote); it never holds the key.
		return nil, entra.WrapError(entra.CodeInvalidCredentialMaterial, err, "signing the client assertion failed")
	}
	bad := entra.Errorf(entra.CodeInvalidCredentialMaterial, "the private key produced an invalid signature")
	if c.rsaPub != nil {
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			err = rsa.VerifyPSS(c.rsaPub, hash, digest, sig, pss)
		} else {
			err = rsa.VerifyPKCS1v15(c.rsaPub, hash, digest, sig)
		}
		if err != nil {
			return nil, bad
		}
		return sig, nil
	}
	// crypto.Signer returns ASN.1 DER for ECDSA; JWS wants the fixed-size R||S form.
	if !ecdsa.VerifyASN1(c.ecPub, digest, sig) {
		return nil, bad
	}
	raw, err := ecdsaRawSignature(sig, c.ecSize)
	if err != nil {
		return nil, bad
	}
	return raw, nil
}

// ecdsaRawSignature converts an ASN.1 ECDSA signature to R||S, each
// left-padded to size bytes (RFC 7518 §3.4).
func ecdsaRawSignature(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("malformed ECDSA signature")
	}
	// FillBytes panics on a value that does not fit, so check first.
	if sig.R.Sign() <= 0 || sig.S.Sign() <= 0 || sig.R.BitLen() > 8*size || sig.S.BitLen() > 8*size {
		return nil, errors.New("ECDSA signature out of range")
	}
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}

// newUUID returns a random (version 4) UUID in its canonical text form.
