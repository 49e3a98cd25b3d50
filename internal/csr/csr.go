// Package csr builds and reads the PKCS#10 certificate request of the
// IMDSv2 managed identity protocol: subject CN={clientId}, DC={tenantId},
// one attribute 1.3.6.1.4.1.311.90.2.10 whose value is SET { UTF8String
// (compact JSON of the VM's cuId) }, signed with RSASSA-PSS (SHA-256,
// MGF1-SHA-256, salt 32).
//
// crypto/x509's CreateCertificateRequest cannot emit that attribute (it
// encodes attribute values as SET OF SEQUENCE of type and value), so the
// CertificationRequestInfo is built here with cryptobyte and signed
// through the crypto.Signer, which keeps hardware keys usable.
package csr

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers the request uses.
var (
	// OIDCuID is the attribute carrying the VM's compute unit id JSON.
	OIDCuID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 90, 2, 10}

	oidCommonName      = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidDomainComponent = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidRSAPSS          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidMGF1            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
)

// saltLength is the PSS salt length the protocol fixes (the hash's size).
const saltLength = sha256.Size

// Request is what a certificate request says.
type Request struct {
	ClientID, TenantID string
	// CuID is the compact JSON of the platform metadata's cuId.
	CuID string
}

// Build returns the DER of a certificate request for r, signed by key,
// which must be an RSA key (RSASSA-PSS).
func Build(key crypto.Signer, r Request) ([]byte, error) {
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("the key is a %T, not an RSA key", key.Public())
	}
	if pub.N.BitLen() < 2048 {
		return nil, fmt.Errorf("the RSA key has %d bits; at least 2048 are needed", pub.N.BitLen())
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var info cryptobyte.Builder
	info.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)                                        // version
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // subject: RDNSequence
			addRDN(b, oidCommonName, cbasn1.UTF8String, r.ClientID)
			addRDN(b, oidDomainComponent, cbasn1.IA5String, r.TenantID)
		})
		b.AddBytes(spki)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { // attributes
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(OIDCuID)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(r.CuID)) })
				})
			})
		})
	})
	tbs, err := info.Bytes()
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(tbs)
	sig, err := key.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: saltLength, Hash: crypto.SHA256})
	if err != nil {
		return nil, fmt.Errorf("signing the certificate request failed: %w", err)
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		addPSSAlgorithm(b)
		b.AddASN1BitString(sig)
	})
	return out.Bytes()
}

// addRDN adds a RelativeDistinguishedName of one attribute.
func addRDN(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, tag cbasn1.Tag, value string) {
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(value)) })
		})
	})
}

// addPSSAlgorithm adds the AlgorithmIdentifier of RSASSA-PSS with SHA-256,
// MGF1-SHA-256 and a 32-byte salt (RFC 4055), in the form crypto/x509
// and OpenSSL read; the trailer field is the default and left out.
func addPSSAlgorithm(b *cryptobyte.Builder) {
	sha256AI := func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSHA256)
		b.AddASN1NULL()
	}
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidRSAPSS)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, sha256AI)
			})
			b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidMGF1)
					b.AddASN1(cbasn1.SEQUENCE, sha256AI)
				})
			})
			b.AddASN1(cbasn1.Tag(2).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1Int64(saltLength)
			})
		})
	})
}

// Parsed is a certificate request read back and checked by Parse.
type Parsed struct {
	Request
	// CSR is the request as crypto/x509 reads it.
	CSR *x509.CertificateRequest
}

// Parse reads a certificate request of this protocol and checks what the
// real issuer checks: an RSA-2048 key, an RSASSA-PSS (SHA-256) signature
// that verifies, the subject's CN and DC, and exactly one attribute, the
// cuId one, holding one UTF8String of JSON. It is fed outside input (the
// emulator's requests), so it never panics.
func Parse(der []byte) (*Parsed, error) {
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS#10 request: %w", err)
	}
	if csr.SignatureAlgorithm != x509.SHA256WithRSAPSS {
		return nil, fmt.Errorf("the request is signed with %v, not RSASSA-PSS with SHA-256", csr.SignatureAlgorithm)
	}
	pub, ok := csr.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != 2048 {
		return nil, errors.New("the request's key is not RSA 2048")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the request's signature does not verify: %w", err)
	}
	p := &Parsed{CSR: csr}
	for _, atv := range csr.Subject.Names {
		v, _ := atv.Value.(string)
		switch {
		case atv.Type.Equal(oidCommonName) && p.ClientID == "":
			p.ClientID = v
		case atv.Type.Equal(oidDomainComponent) && p.TenantID == "":
			p.TenantID = v
		default:
			return nil, fmt.Errorf("unexpected subject attribute %v", atv.Type)
		}
	}
	if p.ClientID == "" || p.TenantID == "" {
		return nil, errors.New("the subject needs CN={clientId} and DC={tenantId}")
	}
	if p.CuID, err = cuIDAttribute(csr.RawTBSCertificateRequest); err != nil {
		return nil, err
	}
	return p, nil
}

// cuIDAttribute reads the attributes of a CertificationRequestInfo:
// exactly one, the cuId one, with one UTF8String value.
func cuIDAttribute(tbs []byte) (string, error) {
	in := cryptobyte.String(tbs)
	var info, subject, spki, attrs cryptobyte.String
	var version int64
	if !in.ReadASN1(&info, cbasn1.SEQUENCE) || !info.ReadASN1Integer(&version) ||
		!info.ReadASN1(&subject, cbasn1.SEQUENCE) || !info.ReadASN1(&spki, cbasn1.SEQUENCE) ||
		!info.ReadASN1(&attrs, cbasn1.Tag(0).ContextSpecific().Constructed()) || !info.Empty() {
		return "", errors.New("the request info is malformed or has no attributes")
	}
	var attr, values, value cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) || !attrs.Empty() {
		return "", errors.New("the request must have exactly one attribute")
	}
	if !attr.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(OIDCuID) {
		return "", fmt.Errorf("the request's attribute is not %v", OIDCuID)
	}
	if !attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() ||
		!values.ReadASN1(&value, cbasn1.UTF8String) || !values.Empty() {
		return "", errors.New("the cuId attribute's value is not SET { UTF8String }")
	}
	return string(value), nil
}
