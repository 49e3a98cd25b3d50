package interop

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
)

// oidcProvider is a running panva/oidc-provider RFC 8705 server.
type oidcProvider struct {
	Issuer, MTLS string
	roots        *x509.CertPool
}

// startOIDCProvider runs interop/oidcprovider/server.mjs. Without node or
// its node_modules the test is skipped, unless the project's test command
// (which installs them) demands it through ENTRA_REQUIRE_OIDC_PROVIDER.
func startOIDCProvider(t *testing.T, clientCertPEM []byte) *oidcProvider {
	t.Helper()
	dir := "oidcprovider"
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider"))
	if nodeErr != nil || modErr != nil {
		if os.Getenv("ENTRA_REQUIRE_OIDC_PROVIDER") != "" {
			t.Fatalf("node or oidc-provider is missing (run npm ci in interop/oidcprovider): %v %v", nodeErr, modErr)
		}
		t.Skip("node or interop/oidcprovider/node_modules is missing; scripts/test.sh installs them")
	}
	tmp := t.TempDir()
	caCert, caKey := newCA(t)
	serverCert, serverKey := issue(t, caCert, caKey, "localhost")
	write := func(name string, data []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SERVER_CERT="+write("server.pem", serverCert), "SERVER_KEY="+write("server-key.pem", serverKey),
		"CLIENT_CERT="+write("client.pem", clientCertPEM))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	var p oidcProvider
	select {
	case line, ok := <-lines:
		if !ok || json.Unmarshal([]byte(line), &p) != nil {
			t.Fatalf("oidc-provider did not start: %q", line)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("oidc-provider did not start within 30 s")
	}
	p.roots = x509.NewCertPool()
	p.roots.AddCert(caCert)
	return &p
}

func (p *oidcProvider) httpClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.roots}}}
}

// boundTo asks the server which certificate thumbprint token is bound to.
func (p *oidcProvider) boundTo(t *testing.T, token string) string {
	t.Helper()
	resp, err := p.httpClient().Get(p.Issuer + "/test/binding?token=" + url.QueryEscape(token))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Found bool
		X5t   *string `json:"x5t#S256"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !out.Found || out.X5t == nil {
		t.Fatalf("the server does not know the token as certificate-bound: %+v %v", out, err)
	}
	return *out.X5t
}

// TestRFC8705WithOIDCProvider: against a standards-conforming RFC 8705
// server, an mTLS PoP request goes to mtls_endpoint_aliases.token_endpoint,
// authenticates with the certificate alone (self_signed_tls_client_auth)
// and gets a Bearer token bound to the certificate.
func TestRFC8705WithOIDCProvider(t *testing.T) {
	certPEM, keyPEM := selfSigned(t)
	p := startOIDCProvider(t, certPEM)
	cert, err := credential.ParseCertificate(certPEM, keyPEM, credential.CertificateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := confidential.New(confidential.Config{Authority: p.Issuer, AuthorityKind: confidential.AuthorityOIDC, ClientID: "go-client",
		Credential: cert, HTTPClient: p.httpClient()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := confidential.TokenRequest{Scopes: []string{"api:read"}, MTLSPoP: true}
	tok, err := client.AcquireTokenForClient(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenEndpoint != p.MTLS+"/token" || tok.TokenType != entra.TokenTypeBearer || tok.BindingCertificate == nil {
		t.Fatalf("token %v from %s (want the mTLS alias %s/token)", tok, tok.TokenEndpoint, p.MTLS)
	}
	block, _ := pem.Decode(certPEM)
	sum := sha256.Sum256(block.Bytes)
	if got, want := p.boundTo(t, tok.AccessToken), base64.RawURLEncoding.EncodeToString(sum[:]); got != want {
		t.Fatalf("bound to %s, want the client certificate's %s", got, want)
	}
	again, err := client.AcquireTokenForClient(ctx, req)
	if err != nil || !again.FromCache || again.AccessToken != tok.AccessToken {
		t.Fatalf("second call: %v %v", again, err)
	}

	// The server refuses a certificate it does not know, and says so.
	otherPEM, otherKey := selfSigned(t)
	other, _ := credential.ParseCertificate(otherPEM, otherKey, credential.CertificateOptions{})
	stranger, err := confidential.New(confidential.Config{Authority: p.Issuer, AuthorityKind: confidential.AuthorityOIDC, ClientID: "go-client",
		Credential: other, HTTPClient: p.httpClient()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = stranger.AcquireTokenForClient(ctx, req)
	if entra.ErrorCode(err) != "invalid_client" {
		t.Fatalf("unregistered certificate: %v", err)
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "interop CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func issue(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, host string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("CERTIFICATE", der), pemOfKey(t, key)
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "go-client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("CERTIFICATE", der), pemOfKey(t, key)
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pemOfKey(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("PRIVATE KEY", der)
}
