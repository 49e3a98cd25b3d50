package mtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/entra-go/entra"
)

func certificate(t *testing.T, serial int64) *tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "pool"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestPoolReusesAndBounds(t *testing.T) {
	t.Parallel()
	made := 0
	p := NewPool(nil, func(*tls.Certificate) (*http.Client, error) { made++; return &http.Client{}, nil }, 2)
	a, b, c := certificate(t, 1), certificate(t, 2), certificate(t, 3)
	ca, _ := p.Client(a)
	if again, _ := p.Client(a); again != ca || made != 1 {
		t.Fatalf("a second request for one certificate made another client (%d made)", made)
	}
	p.Client(b)
	p.Client(a) // a is now more recently used than b
	p.Client(c) // evicts b, the least recently used
	if p.Len() != 2 {
		t.Fatalf("%d clients, want the bound 2", p.Len())
	}
	if again, _ := p.Client(a); again != ca {
		t.Error("the recently used client was evicted")
	}
	before := made
	p.Client(b)
	if made != before+1 {
		t.Error("the evicted certificate's client was not made again")
	}
}

func TestCloneFactory(t *testing.T) {
	t.Parallel()
	cert := certificate(t, 1)
	base := &http.Client{Timeout: 7 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "kept"}}}
	c, err := NewPool(base, nil, 0).Client(cert)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.Transport.(*http.Transport).TLSClientConfig
	got, _ := cfg.GetClientCertificate(&tls.CertificateRequestInfo{})
	if got != cert || cfg.MinVersion != tls.VersionTLS12 || cfg.ServerName != "kept" || c.Timeout != 7*time.Second {
		t.Fatalf("cloned client: min %x, server name %q, timeout %s", cfg.MinVersion, cfg.ServerName, c.Timeout)
	}
	if base.Transport.(*http.Transport).TLSClientConfig.GetClientCertificate != nil {
		t.Error("the base client was changed")
	}
	other := &http.Client{Transport: roundTripper{}}
	if _, err := NewPool(other, nil, 0).Client(cert); entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Errorf("a transport that cannot present a certificate: %v", err)
	}
	if _, err := NewPool(base, nil, 0).Client(&tls.Certificate{}); entra.ErrorCode(err) != entra.CodeMTLSCertificateNotProvided {
		t.Errorf("a certificate without key: %v", err)
	}
}

type roundTripper struct{}

func (roundTripper) RoundTrip(*http.Request) (*http.Response, error) { return nil, nil }
