package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuthorityTypeOIDCWithRFC8705Server: --authority-type oidc reaches a
// standards RFC 8705 server (panva/oidc-provider, interop/oidcprovider):
// the built CLI's mTLS PoP request goes to mtls_endpoint_aliases and
// comes back bound to its certificate. Without node or the server's
// node_modules the test is skipped, unless ENTRA_REQUIRE_OIDC_PROVIDER
// (set by scripts/test.sh, which installs them) demands it.
func TestAuthorityTypeOIDCWithRFC8705Server(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "interop", "oidcprovider")
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider"))
	if nodeErr != nil || modErr != nil {
		if os.Getenv("ENTRA_REQUIRE_OIDC_PROVIDER") != "" {
			t.Fatalf("node or oidc-provider is missing (npm ci in interop/oidcprovider): %v %v", nodeErr, modErr)
		}
		t.Skip("node or interop/oidcprovider/node_modules is missing; scripts/test.sh installs them")
	}
	tmp := t.TempDir()
	write := func(name string, data ...[]byte) string {
		p := filepath.Join(tmp, name)
		var all []byte
		for _, d := range data {
			all = append(all, d...)
		}
		if err := os.WriteFile(p, all, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caCert, caKey, _ := testCertificate(t, "rfc8705 CA", nil, nil)
	serverCert, _, serverKey := testCertificate(t, "localhost", caCert, caKey)
	clientCert, _, clientKey := testCertificate(t, "go-client", nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	server := exec.CommandContext(ctx, "node", "server.mjs")
	server.Dir = dir
	server.Env = append(os.Environ(), "SERVER_CERT="+write("server.pem", pemOf("CERTIFICATE", serverCert.Raw)),
		"SERVER_KEY="+write("server-key.pem", serverKey), "CLIENT_CERT="+write("client-only.pem", pemOf("CERTIFICATE", clientCert.Raw)))
	server.Stderr = os.Stderr
	out, err := server.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); server.Wait() })
	var urls struct{ Issuer, MTLS string }
	started := make(chan error, 1)
	go func() {
		s := bufio.NewScanner(out)
		if !s.Scan() {
			started <- s.Err()
			return
		}
		started <- json.Unmarshal(s.Bytes(), &urls)
	}()
	select {
	case err := <-started:
		if err != nil || urls.Issuer == "" {
			t.Fatalf("oidc-provider did not start: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("oidc-provider did not start within 30 s")
	}

	c := cli{bin: binary(t), env: []string{"SSL_CERT_FILE=" + write("ca.pem", pemOf("CERTIFICATE", caCert.Raw))}}
	certFile := write("client.pem", pemOf("CERTIFICATE", clientCert.Raw), clientKey)
	args := []string{"token", "client-credentials", "--authority", urls.Issuer, "--authority-type", "oidc", "--client-id", "go-client",
		"--cert", certFile, "--mtls-pop", "--scope", "api:read"}
	stdout, stderr, status := c.run(t, args...)
	var tok tokenOutput
	if status != 0 || json.Unmarshal([]byte(stdout), &tok) != nil {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", status, stdout, stderr)
	}
	if tok.TokenEndpoint != urls.MTLS+"/token" || tok.TokenType != "Bearer" || tok.BindingCertificateSHA256 != thumbprint(clientCert) {
		t.Fatalf("token %+v, want one from %s/token bound to %s", tok, urls.MTLS, thumbprint(clientCert))
	}
	// The server holds the token as bound to the client's certificate.
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := client.Get(urls.Issuer + "/test/binding?token=" + url.QueryEscape(tok.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var binding struct {
		Found bool
		X5t   string `json:"x5t#S256"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&binding); err != nil || !binding.Found || binding.X5t != thumbprint(clientCert) {
		t.Fatalf("the server's binding %+v (%v), want %s", binding, err, thumbprint(clientCert))
	}
	// Without the kind, the issuer (no tenant in its path) is not an Entra ID authority.
	_, stderr, status = c.run(t, args[:4]...)
	if status == 0 {
		t.Fatal("an issuer without --authority-type oidc was taken")
	}
	stdout, stderr, status = c.run(t, "token", "client-credentials", "--authority", urls.Issuer, "--client-id", "go-client", "--cert", certFile)
	if status != 1 || stderr != "entra: invalid_authority: authority has no tenant: use https://{host}/{tenant}, where tenant is a tenant ID, a domain, \"common\", \"organizations\" or \"consumers\"\n" {
		t.Fatalf("an issuer as an Entra ID authority: exit %d: %s", status, stderr)
	}
}

// testCertificate makes a P-256 certificate for name, signed by ca (nil:
// self-signed, and a CA when name ends in "CA"), and its key, also as PEM.
func testCertificate(t *testing.T, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	switch {
	case ca == nil && strings.HasSuffix(name, "CA"):
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage, tmpl.ExtKeyUsage = true, true, x509.KeyUsageCertSign, nil
	case ca != nil:
		tmpl.DNSNames, tmpl.IPAddresses = []string{name}, []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key, pemOf("PRIVATE KEY", keyDER)
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
