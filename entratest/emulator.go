// Package entratest is an emulator of the Microsoft Entra ID token service
// for tests and demos: a real HTTPS server with a generated CA that answers
// for the Entra host names (global, regional, sovereign and mTLS hosts),
// serves instance and OpenID Connect discovery, and issues signed JWT access
// tokens after authenticating clients for real (secrets, and assertions
// verified against registered certificates). It records every request and
// can inject faults.
//
// A separate plain-HTTP listener plays the Azure Instance Metadata Service.
package entratest

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure an Emulator. The zero value is usable.
type Options struct {
	// Addr is the HTTPS listen address; "" means 127.0.0.1:0.
	Addr string
	// IMDSAddr is the plain-HTTP IMDS listen address; "" means 127.0.0.1:0.
	IMDSAddr string
	// ExtraHosts are more names for the server certificate.
	ExtraHosts []string
	// TokenLifetime is the expires_in of issued access tokens; default 1 h.
	TokenLifetime time.Duration
	// RefreshIn, if set, is sent as refresh_in.
	RefreshIn time.Duration
	// Region is the location IMDS reports; default "eastus".
	Region string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Client is a registered application.
type Client struct {
	ID string
	// Secret, if not empty, authenticates the client.
	Secret string
	// Certificates whose keys may sign the client's assertions, and that
	// authenticate it in the TLS handshake on the mTLS hosts.
	Certificates []*x509.Certificate
	// RedirectURIs are the addresses an authorization may return to.
	RedirectURIs []string
	// FamilyID, if not empty ("1"), puts the client in a family whose
	// members redeem each other's refresh tokens.
	FamilyID string
}

// DefaultClient is the client every emulator registers at start.
type DefaultClient struct {
	ID, Secret      string
	CertPEM, KeyPEM []byte
}

// User describes a user: one who signs in, or the user of a token made by
// IssueUserToken.
type User struct {
	Audience, Subject, ObjectID, TenantID, Username string
	Name                                            string
}

// defaultUsername is the username of DefaultUser.
const defaultUsername = "ada@contoso.example"

// DefaultRedirectURI is registered for the default client; any port of it
// is accepted (a loopback address).
const DefaultRedirectURI = "http://localhost/callback"

// Request is a recorded request.
type Request struct {
	Time              time.Time
	Method            string
	Host              string
	Path              string
	Query             url.Values
	Form              url.Values
	Header            http.Header
	ClientCertificate *x509.Certificate
	// Endpoint names what was called: "token", "authorize",
	// "instance_discovery", "openid_configuration", "keys", "imds_compute"
	// or "unknown".
	Endpoint string
}

// Emulator is a running emulator. It is safe for concurrent use.
type Emulator struct {
	opts     Options
	ca       *authorityCA
	listener net.Listener
	server   *http.Server
	imds     *http.Server
	imdsLn   net.Listener
	signer   *rsa.PrivateKey
	keyID    string
	dflt     DefaultClient

	userTenant  string
	connections atomic.Int64

	mu       sync.Mutex
	clients  map[string]Client
	users    map[string]User // by lower-cased username
	codes    map[string]*authCode
	requests []Request
	faults   []*Fault
	jtis     map[string]time.Time
	refresh  map[string]refreshGrant
}

// New starts an emulator.
func New(opts Options) (*Emulator, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.IMDSAddr == "" {
		opts.IMDSAddr = "127.0.0.1:0"
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.Region == "" {
		opts.Region = "eastus"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := opts.Now()
	ca, err := newCA(now)
	if err != nil {
		return nil, err
	}
	serverCert, err := ca.serverCertificate(now, append(append([]string{}, serverHosts...), opts.ExtraHosts...))
	if err != nil {
		return nil, err
	}
	_, signer, _, _, err := selfSignedRSA(now, "entra emulator token signing")
	if err != nil {
		return nil, err
	}
	e := &Emulator{
		opts: opts, ca: ca, signer: signer.(*rsa.PrivateKey), keyID: newGUID(),
		clients: map[string]Client{}, jtis: map[string]time.Time{}, refresh: map[string]refreshGrant{},
		users: map[string]User{}, codes: map[string]*authCode{}, userTenant: newGUID(),
	}
	e.RegisterUser(User{Username: defaultUsername, Name: "Ada Lovelace"})
	cert, _, certPEM, keyPEM, err := selfSignedRSA(now, "entra emulator default client")
	if err != nil {
		return nil, err
	}
	e.dflt = DefaultClient{ID: newGUID(), Secret: "emu~" + newGUID(), CertPEM: certPEM, KeyPEM: keyPEM}
	e.RegisterClient(Client{ID: e.dflt.ID, Secret: e.dflt.Secret, Certificates: []*x509.Certificate{cert}, RedirectURIs: []string{DefaultRedirectURI}})

	if e.listener, err = net.Listen("tcp", opts.Addr); err != nil {
		return nil, err
	}
	e.server = &http.Server{
		Handler: http.HandlerFunc(e.serveHTTPS),
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{serverCert},
			// Client certificates are recorded; the mTLS hosts will require
			// them (see requireClientCertificate).
			ClientAuth: tls.RequestClientCert,
		},
		ReadHeaderTimeout: 10 * time.Second,
		// Clients that distrust the CA are expected in tests; their
		// handshake failures are not the emulator's news.
		ErrorLog: log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				e.connections.Add(1)
			}
		},
	}
	go e.server.ServeTLS(e.listener, "", "")
	if e.imdsLn, err = net.Listen("tcp", opts.IMDSAddr); err != nil {
		e.server.Close()
		return nil, err
	}
	e.imds = &http.Server{Handler: e.imdsMux(), ReadHeaderTimeout: 10 * time.Second}
	go e.imds.Serve(e.imdsLn)
	return e, nil
}

// Close stops both listeners.
func (e *Emulator) Close() error {
	return errors.Join(e.server.Close(), e.imds.Close())
}

// Addr is the host:port of the HTTPS listener.
func (e *Emulator) Addr() string { return e.listener.Addr().String() }

// URL is https://localhost:PORT.
func (e *Emulator) URL() string {
	_, port, _ := net.SplitHostPort(e.Addr())
	return "https://localhost:" + port
}

// IMDSURL is the base URL of the IMDS listener.
func (e *Emulator) IMDSURL() string { return "http://" + e.imdsLn.Addr().String() }

// CACertPEM is the CA certificate, for SSL_CERT_FILE or a trust store.
func (e *Emulator) CACertPEM() []byte { return append([]byte(nil), e.ca.pem...) }

// CertPool holds the CA certificate.
func (e *Emulator) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(e.ca.cert)
	return p
}

// Connections is the number of connections (so TLS handshakes) the HTTPS
// listener has accepted.
func (e *Emulator) Connections() int64 { return e.connections.Load() }

// TransportWithCertificate is Transport presenting cert in TLS handshakes,
// as a client of the mTLS hosts does.
func (e *Emulator) TransportWithCertificate(cert *tls.Certificate) *http.Transport {
	t := e.Transport()
	t.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	return t
}

// Transport trusts the emulator's CA and connects to the emulator whatever
// host name a URL has, so https://login.microsoftonline.com/... reaches it.
func (e *Emulator) Transport() *http.Transport {
	addr := e.Addr()
	var d net.Dialer
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: e.CertPool(), MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
}

// HTTPClient is a client over Transport.
func (e *Emulator) HTTPClient() *http.Client {
	return &http.Client{Transport: e.Transport(), Timeout: 30 * time.Second}
}

// RegisterClient adds or replaces a client.
func (e *Emulator) RegisterClient(c Client) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c.Certificates = append([]*x509.Certificate(nil), c.Certificates...)
	e.clients[c.ID] = c
}

// DefaultClient is the client registered at start, with a secret and an
// RSA certificate.
func (e *Emulator) DefaultClient() DefaultClient { return e.dflt }

// Requests returns every request received, in order.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Request(nil), e.requests...)
}

// TokenRequests returns the token-endpoint requests.
func (e *Emulator) TokenRequests() []Request {
	var out []Request
	for _, r := range e.Requests() {
		if r.Endpoint == "token" {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (e *Emulator) ResetRequests() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests = nil
}

// record stores a request and returns the fault to apply to it, if any.
func (e *Emulator) record(r *http.Request, endpoint string) *Fault {
	rec := Request{
		Time: e.opts.Now(), Method: r.Method, Host: strings.ToLower(r.Host), Path: r.URL.Path,
		Query: r.URL.Query(), Form: r.PostForm, Header: r.Header.Clone(), Endpoint: endpoint,
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		rec.ClientCertificate = r.TLS.PeerCertificates[0]
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests = append(e.requests, rec)
	return e.takeFault(endpoint, rec.Host)
}
