// Package mtls keeps one HTTP client per client certificate, so requests
// that present the same certificate reuse its connections (one TLS
// handshake for many token requests) while other requests never present it.
package mtls

import (
	"crypto/sha256"
	"crypto/tls"
	"net/http"
	"sync"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

// DefaultMaxClients bounds the clients a Pool keeps. Certificates are few
// (one per application, a second while one is rotated), so the bound only
// guards against a caller minting certificates per request.
const DefaultMaxClients = 16

// Factory returns the HTTP client that presents cert.
type Factory func(cert *tls.Certificate) (*http.Client, error)

// Pool is safe for concurrent use.
type Pool struct {
	factory Factory
	max     int

	mu      sync.Mutex
	clients map[[sha256.Size]byte]*entry
	tick    uint64
}

type entry struct {
	client   *http.Client
	lastUsed uint64
}

// NewPool returns a pool that makes clients with factory, or, when it is
// nil, by cloning base's *http.Transport (proxy, dialer, root CAs, timeouts)
// with the certificate added.
func NewPool(base *http.Client, factory Factory, max int) *Pool {
	if factory == nil {
		factory = CloneFactory(base, false)
	}
	if max <= 0 {
		max = DefaultMaxClients
	}
	return &Pool{factory: factory, max: max, clients: map[[sha256.Size]byte]*entry{}}
}

// Client returns the client for cert, making it on first use. Clients are
// keyed by the SHA-256 of the leaf certificate; the least recently used one
// is dropped (its idle connections closed) beyond the bound.
func (p *Pool) Client(cert *tls.Certificate) (*http.Client, error) {
	if cert == nil || len(cert.Certificate) == 0 || cert.PrivateKey == nil {
		return nil, errs.New(entra.CodeMTLSCertificateNotProvided, "mutual TLS needs a certificate with its private key")
	}
	key := sha256.Sum256(cert.Certificate[0])
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tick++
	if e, ok := p.clients[key]; ok {
		e.lastUsed = p.tick
		return e.client, nil
	}
	c, err := p.factory(cert)
	if err != nil {
		return nil, err
	}
	if len(p.clients) >= p.max {
		p.evictOldest()
	}
	p.clients[key] = &entry{client: c, lastUsed: p.tick}
	return c, nil
}

// Len is the number of clients held.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.clients)
}

// CloseIdleConnections closes the idle connections of every client held,
// for an owner that is done with them.
func (p *Pool) CloseIdleConnections() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.clients {
		e.client.CloseIdleConnections()
	}
}

func (p *Pool) evictOldest() {
	var oldest [sha256.Size]byte
	var min uint64
	first := true
	for k, e := range p.clients {
		if first || e.lastUsed < min {
			oldest, min, first = k, e.lastUsed, false
		}
	}
	if e, ok := p.clients[oldest]; ok {
		e.client.CloseIdleConnections()
		delete(p.clients, oldest)
	}
}

// CloneFactory makes clients that clone base's *http.Transport (proxy,
// dialer, root CAs, timeouts) and present the certificate. renegotiate
// accepts one TLS renegotiation, in which some servers (Azure Key Vault)
// ask for the client certificate; Go renegotiates under TLS 1.2 only, so
// it also caps the version at 1.2.
func CloneFactory(base *http.Client, renegotiate bool) Factory {
	return func(cert *tls.Certificate) (*http.Client, error) {
		var t *http.Transport
		switch rt := base.Transport.(type) {
		case nil:
			t = http.DefaultTransport.(*http.Transport).Clone()
		case *http.Transport:
			t = rt.Clone()
		default:
			return nil, errs.New(entra.CodeInvalidArgument,
				"the HTTP client's transport is a %T, not an *http.Transport, so it cannot present a client certificate; supply an mTLS HTTP client factory", base.Transport)
		}
		cfg := t.TLSClientConfig
		if cfg == nil {
			cfg = &tls.Config{}
		} else {
			cfg = cfg.Clone()
		}
		if cfg.MinVersion < tls.VersionTLS12 {
			cfg.MinVersion = tls.VersionTLS12
		}
		// GetClientCertificate presents the certificate whatever CAs the
		// server names as acceptable; Certificates would be withheld from
		// a server whose list does not include our issuer.
		cfg.Certificates = nil
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		if renegotiate {
			cfg.MaxVersion, cfg.Renegotiation = tls.VersionTLS12, tls.RenegotiateOnceAsClient
		}
		t.TLSClientConfig = cfg
		return &http.Client{Transport: t, Timeout: base.Timeout, CheckRedirect: base.CheckRedirect, Jar: base.Jar}, nil
	}
}
