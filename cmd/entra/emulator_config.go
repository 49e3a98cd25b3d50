package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/entra-go/entra/entratest"
)

// emulatorConfig is the file of --config: the emulator's registrations.
// Relative paths are relative to the file's folder.
type emulatorConfig struct {
	// TenantID is the emulator's tenant; "" means a new one.
	TenantID string `json:"tenant_id"`
	// Domains name tenants: domain → tenant id ("" means TenantID).
	Domains map[string]string `json:"domains"`
	Clients []struct {
		ClientID string `json:"client_id"`
		Secret   string `json:"secret"`
		// CertificateFiles are PEM files of certificates registered for
		// the client (assertions and mTLS).
		CertificateFiles []string `json:"certificate_files"`
		RedirectURIs     []string `json:"redirect_uris"`
		FamilyID         string   `json:"family_id"`
	} `json:"clients"`
	Users []struct {
		Username string `json:"username"`
		Name     string `json:"name"`
		ObjectID string `json:"object_id"`
		TenantID string `json:"tenant_id"`
	} `json:"users"`
}

// readEmulatorConfig reads and checks a --config file.
func readEmulatorConfig(path string) (*emulatorConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: --config: %v", errUsage, err)
	}
	var c emulatorConfig
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: --config %s: %v", errUsage, path, err)
	}
	base := filepath.Dir(path)
	for i, cl := range c.Clients {
		if cl.ClientID == "" {
			return nil, fmt.Errorf("%w: --config %s: client %d has no client_id", errUsage, path, i+1)
		}
		for j, f := range cl.CertificateFiles {
			if !filepath.IsAbs(f) {
				c.Clients[i].CertificateFiles[j] = filepath.Join(base, f)
			}
		}
	}
	for i, u := range c.Users {
		if u.Username == "" {
			return nil, fmt.Errorf("%w: --config %s: user %d has no username", errUsage, path, i+1)
		}
	}
	return &c, nil
}

// register registers the configuration's clients, users and domains.
func (c *emulatorConfig) register(em *entratest.Emulator) error {
	for domain, id := range c.Domains {
		if id == "" {
			id = em.TenantID()
		}
		em.RegisterDomain(domain, id)
	}
	for _, cl := range c.Clients {
		reg := entratest.Client{ID: cl.ClientID, Secret: cl.Secret, RedirectURIs: cl.RedirectURIs, FamilyID: cl.FamilyID}
		for _, f := range cl.CertificateFiles {
			certs, err := readCertificates(f)
			if err != nil {
				return fmt.Errorf("%w: --config: client %s: %v", errUsage, cl.ClientID, err)
			}
			reg.Certificates = append(reg.Certificates, certs...)
		}
		em.RegisterClient(reg)
	}
	for _, u := range c.Users {
		em.RegisterUser(entratest.User{Username: u.Username, Name: u.Name, ObjectID: u.ObjectID, TenantID: u.TenantID})
	}
	return nil
}

// readCertificates reads the certificates of a PEM file (a key in it is
// skipped).
func readCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return certs, nil
}

// emulatorKeys are the keys an emulator keeps in --dir across restarts:
// its CA (which a test suite trusts once) and its token signing key.
type emulatorKeys struct {
	ca      *tls.Certificate
	signing *rsa.PrivateKey
}

// File names in --dir.
const (
	caCertFile     = "ca.pem"
	caKeyFile      = "ca-key.pem"
	signingKeyFile = "signing-key.pem"
)

// loadOrMakeKeys reads the keys of dir, making and writing (0600) those
// missing. keep false makes new keys and writes only the CA certificate.
func loadOrMakeKeys(dir string, keep bool) (*emulatorKeys, error) {
	if keep {
		k, err := loadKeys(dir)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return k, err
		}
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "entra emulator CA", Organization: []string{"entra emulator"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	signing, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	k := &emulatorKeys{ca: &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: caKey}, signing: signing}
	if keep {
		caKeyDER, _ := x509.MarshalPKCS8PrivateKey(caKey)
		sigDER, _ := x509.MarshalPKCS8PrivateKey(signing)
		for name, b := range map[string]*pem.Block{
			caKeyFile:      {Type: "PRIVATE KEY", Bytes: caKeyDER},
			signingKeyFile: {Type: "PRIVATE KEY", Bytes: sigDER},
			caCertFile:     {Type: "CERTIFICATE", Bytes: der},
		} {
			if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(b), 0o600); err != nil {
				return nil, err
			}
		}
	}
	return k, nil
}

// loadKeys reads the keys an earlier emulator wrote to dir; an error
// matching fs.ErrNotExist if there are none.
func loadKeys(dir string) (*emulatorKeys, error) {
	read := func(name string) ([]byte, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		b, _ := pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%s: not PEM", filepath.Join(dir, name))
		}
		return b.Bytes, nil
	}
	certDER, err := read(caCertFile)
	if err != nil {
		return nil, err
	}
	caKeyDER, err := read(caKeyFile)
	if err != nil {
		return nil, err
	}
	sigDER, err := read(signingKeyFile)
	if err != nil {
		return nil, err
	}
	caKey, err := x509.ParsePKCS8PrivateKey(caKeyDER)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", caKeyFile, err)
	}
	sig, err := x509.ParsePKCS8PrivateKey(sigDER)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", signingKeyFile, err)
	}
	rsaKey, ok := sig.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA key", signingKeyFile)
	}
	return &emulatorKeys{ca: &tls.Certificate{Certificate: [][]byte{certDER}, PrivateKey: caKey}, signing: rsaKey}, nil
}
