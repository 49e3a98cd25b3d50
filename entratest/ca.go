package entratest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"strings"
	"time"
)

// tokenServiceHosts are the names the token service's certificate covers:
// every Entra ID host of the reference, regional and mTLS hosts, and B2C.
func tokenServiceHosts() []string {
	return []string{
		"localhost",
		"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net",
		"*.login.microsoft.com",
		"login.microsoftonline.us", "login.usgovcloudapi.net", "*.login.microsoftonline.us",
		"login.partner.microsoftonline.cn", "login.chinacloudapi.cn", "*.login.partner.microsoftonline.cn",
		"login.sovcloud-identity.fr", "login.sovcloud-identity.de", "login.sovcloud-identity.sg",
		"mtlsauth.microsoft.com", "*.mtlsauth.microsoft.com",
		"mtlsauth.microsoftonline.us", "*.mtlsauth.microsoftonline.us",
		"mtlsauth.partner.microsoftonline.cn", "*.mtlsauth.partner.microsoftonline.cn",
		"mtlsauth.sovcloud-identity.fr", "*.mtlsauth.sovcloud-identity.fr",
		"mtlsauth.sovcloud-identity.de", "*.mtlsauth.sovcloud-identity.de",
		"mtlsauth.sovcloud-identity.sg", "*.mtlsauth.sovcloud-identity.sg",
		"*.b2clogin.com",
	}
}

// authorityCA is the emulator's certificate authority. Its key and the
// TLS servers' keys are ECDSA P-256, which every TLS client accepts and
// which takes microseconds to make, where RSA takes a tenth of a second.
type authorityCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

// givenCA is the CA of Options.CA.
func givenCA(c *tls.Certificate) (*authorityCA, error) {
	if c == nil || len(c.Certificate) == 0 {
		return nil, errors.New("entratest: Options.CA has no certificate")
	}
	cert, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil, err
	}
	key, ok := c.PrivateKey.(crypto.Signer)
	if !ok || !cert.IsCA {
		return nil, errors.New("entratest: Options.CA must be a CA certificate with its private key")
	}
	return &authorityCA{cert: cert, key: key, pem: pemCertificate(cert)}, nil
}

func newCA(now time.Time) (*authorityCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "entra emulator CA", Organization: []string{"entratest"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	cert, err := createCertificate(now, tmpl, nil, key)
	if err != nil {
		return nil, err
	}
	return &authorityCA{cert: cert, key: key, pem: pemCertificate(cert)}, nil
}

// serverCertificate issues the token service's TLS certificate for hosts.
func (ca *authorityCA) serverCertificate(now time.Time, hosts []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := serverTemplate("entra emulator", hosts)
	leaf, err := createCertificate(now, tmpl, &issuer{ca.cert, ca.key}, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{leaf.Raw, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// selfSignedServerCertificate is the Service Fabric listener's
// certificate: clients trust it by its thumbprint, not through a CA.
func selfSignedServerCertificate(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := createCertificate(now, serverTemplate("entratest Service Fabric managed identity", []string{"localhost"}), nil, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// clientCertificate issues a client certificate for key. The CA signs it
// (ECDSA, microseconds) rather than key itself (RSA, a millisecond).
func (ca *authorityCA) clientCertificate(now time.Time, cn string, key crypto.Signer) (*x509.Certificate, error) {
	return createCertificate(now, &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, &issuer{ca.cert, ca.key}, key)
}

func serverTemplate(cn string, hosts []string) *x509.Certificate {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return tmpl
}

// issuer signs a certificate; nil means the certificate signs itself.
type issuer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// createCertificate signs tmpl for key, valid from an hour before now
// (clocks of clients differ) for a year.
func createCertificate(now time.Time, tmpl *x509.Certificate, by *issuer, key crypto.Signer) (*x509.Certificate, error) {
	tmpl.SerialNumber = serial()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(365*24*time.Hour)
	parent, signer := tmpl, key
	if by != nil {
		parent, signer = by.cert, by.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func pemCertificate(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// thumbprint is the upper-case hex SHA-1 of a certificate, as
// IDENTITY_SERVER_THUMBPRINT carries it.
func thumbprint(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}
