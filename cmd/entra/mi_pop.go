package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/managedidentity"
)

// Managed identity mTLS proof of possession (IMDSv2): the CLI's part.

// withPoP lets the managed identity config reach the mTLS token host
// through the in-process tests' client (the emulator under real host
// names); elsewhere the library's default, which clones
// http.DefaultTransport, applies.
func withPoP(cfg *managedidentity.Config, e env) {
	if e.httpClient == nil {
		return
	}
	base := e.httpClient
	cfg.MTLSHTTPClient = func(cert *tls.Certificate) (*http.Client, error) {
		t, ok := base.Transport.(*http.Transport)
		if !ok {
			return nil, fmt.Errorf("the HTTP client's transport is a %T, not an *http.Transport", base.Transport)
		}
		t = t.Clone()
		t.TLSClientConfig = t.TLSClientConfig.Clone()
		t.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		return &http.Client{Transport: t, Timeout: base.Timeout}, nil
	}
}

// resourceBase is the transport resource calls clone: the in-process
// tests' (which trusts the emulator), else nil, http.DefaultTransport.
func resourceBase(e env) *http.Transport {
	if e.httpClient != nil {
		if t, ok := e.httpClient.Transport.(*http.Transport); ok {
			return t
		}
	}
	return nil
}

// managedIdentityPoPRows show IMDSv2: the first PoP token mints a
// certificate, the second comes from the cache, and a token for another
// resource reuses the cached certificate.
func (d *demo) managedIdentityPoPRows(ctx context.Context) ([]demoRow, error) {
	c, err := managedidentity.New(managedidentity.Config{Getenv: d.em.Getenv("imds"),
		MTLSHTTPClient: func(cert *tls.Certificate) (*http.Client, error) {
			return &http.Client{Transport: d.em.TransportWithCertificate(cert), Timeout: 30 * time.Second}, nil
		}})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var rows []demoRow
	for _, resource := range []string{"https://management.azure.com", "https://management.azure.com", "https://vault.azure.net"} {
		before := len(d.em.IssuedCredentials())
		start := time.Now()
		tok, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource, MTLSPoP: true})
		if err != nil {
			return nil, fmt.Errorf("managed identity mTLS PoP: %w", err)
		}
		took := time.Since(start)
		note := "cached certificate, no new mint; token over mTLS"
		switch {
		case len(d.em.IssuedCredentials()) > before:
			note = "certificate minted (RSA-2048 key, PSS-signed request); token over mTLS"
		case tok.FromCache:
			note = "PoP token from the cache (keyed by the certificate)"
		}
		rows = append(rows, demoRow{flow: "managed identity, imds, mTLS PoP", auth: "IMDS certificate", tok: tok, took: took, note: note})
	}
	return rows, nil
}

// popOutput adds what an mTLS PoP token of a managed identity was got with.
func popOutput(out *tokenOutput, tok entra.Token) {
	if tok.TokenType == entra.TokenTypeMTLSPoP {
		out.MTLSEndpoint = tok.TokenEndpoint
	}
}
