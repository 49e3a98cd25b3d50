// Package jws signs and verifies compact JSON Web Signatures (RFC 7515)
// through crypto.Signer, so keys held in an HSM or a key vault can sign.
// It supports exactly the algorithms Entra ID uses: PS256, RS256, ES256,
// ES384 and ES512.
package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // registers SHA-256
	_ "crypto/sha512" // registers SHA-384 and SHA-512
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

var b64 = base64.RawURLEncoding

// Algorithm returns the JWS algorithm a key signs with: PS256 or RS256 for
// RSA (pss selects PS256), ES256/384/512 for ECDSA by curve size.
func Algorithm(pub crypto.PublicKey, pss bool) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if pss {
			return "PS256", nil
		}
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return "ES256", nil
		case 384:
			return "ES384", nil
		case 521:
			return "ES512", nil
		}
	}
	return "", errors.New("unsupported key type: RSA or ECDSA P-256/P-384/P-521 keys are required")
}

func hashOf(alg string) (crypto.Hash, error) {
	switch alg {
	case "PS256", "RS256", "ES256":
		return crypto.SHA256, nil
	case "ES384":
		return crypto.SHA384, nil
	case "ES512":
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unsupported algorithm %q", alg)
}

// Sign returns header.claims.signature. header gets "alg" set to alg.
//
// Sign does not verify the signature it made: that would cost 40-80 µs on
// every token. A caller whose signer may be faulty (an HSM, a key vault)
// runs CheckSignature on what it signs first. An ECDSA signature that is
// not well-formed ASN.1 of the key's size is ErrInvalidSignature.
func Sign(key crypto.Signer, alg string, header map[string]any, claims any) (string, error) {
	h, err := hashOf(alg)
	if err != nil {
		return "", err
	}
	hdr := make(map[string]any, len(header)+1)
	for k, v := range header {
		hdr[k] = v
	}
	hdr["alg"] = alg
	hj, err := json.Marshal(hdr)
	if err != nil {
		return "", err
	}
	cj, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(hj) + "." + b64.EncodeToString(cj)
	d := h.New()
	d.Write([]byte(input))
	digest := d.Sum(nil)
	var opts crypto.SignerOpts = h
	if alg == "PS256" {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
	}
	sig, err := key.Sign(rand.Reader, digest, opts)
	if err != nil {
		return "", fmt.Errorf("signing failed: %w", err)
	}
	if strings.HasPrefix(alg, "ES") {
		pub, ok := key.Public().(*ecdsa.PublicKey)
		if !ok {
			return "", ErrInvalidSignature
		}
		if sig, err = RawECDSA(sig, (pub.Curve.Params().BitSize+7)/8); err != nil {
			return "", ErrInvalidSignature
		}
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// CheckSignature returns ErrInvalidSignature unless token is a compact JWS
// whose signature verifies with pub under alg. Run on a signer's own
// output, it catches a faulty external signer here rather than later, as
// an opaque refusal by the token service.
func CheckSignature(token string, pub crypto.PublicKey, alg string) error {
	t, err := Parse(token)
	if err != nil || t.Verify(pub, alg) != nil {
		return ErrInvalidSignature
	}
	return nil
}

// ErrInvalidSignature reports a signer whose signature does not verify
// with its own public key.
var ErrInvalidSignature = errors.New("the private key produced an invalid signature")

// Token is a parsed, not yet verified, compact JWS.
type Token struct {
	Header  map[string]any
	Payload []byte
	input   string
	sig     []byte
}

// Parse splits and decodes a compact JWS without verifying it.
func Parse(token string) (*Token, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	hj, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, errors.New("malformed JWS header")
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("malformed JWS payload")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("malformed JWS signature")
	}
	t := &Token{Payload: payload, input: parts[0] + "." + parts[1], sig: sig}
	if err := json.Unmarshal(hj, &t.Header); err != nil {
		return nil, errors.New("malformed JWS header")
	}
	return t, nil
}

// Alg is the header's algorithm.
func (t *Token) Alg() string { s, _ := t.Header["alg"].(string); return s }

// HeaderString returns a string header field.
func (t *Token) HeaderString(name string) string { s, _ := t.Header[name].(string); return s }

// Verify checks the signature with pub, accepting only the listed algorithms.
func (t *Token) Verify(pub crypto.PublicKey, allowed ...string) error {
	alg := t.Alg()
	ok := false
	for _, a := range allowed {
		ok = ok || a == alg
	}
	if !ok {
		return fmt.Errorf("algorithm %q not allowed", alg)
	}
	h, err := hashOf(alg)
	if err != nil {
		return err
	}
	d := h.New()
	d.Write([]byte(t.input))
	digest := d.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "PS256":
			return rsa.VerifyPSS(k, h, digest, t.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h})
		case "RS256":
			return rsa.VerifyPKCS1v15(k, h, digest, t.sig)
		}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if strings.HasPrefix(alg, "ES") && len(t.sig) == 2*size {
			r := new(big.Int).SetBytes(t.sig[:size])
			s := new(big.Int).SetBytes(t.sig[size:])
			if ecdsa.Verify(k, digest, r, s) {
				return nil
			}
			return errors.New("bad signature")
		}
	}
	return fmt.Errorf("algorithm %q does not fit the key", alg)
}

// RawECDSA turns an ASN.1 ECDSA signature into JWS's R||S form, each
// left-padded to size bytes (RFC 7518 §3.4).
func RawECDSA(der []byte, size int) ([]byte, error) {
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
