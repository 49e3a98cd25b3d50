// Package entratest emulates the Microsoft Entra ID token service and the
// managed identity endpoints of Azure hosts, for tests and demos.
//
// One Emulator serves, on real sockets:
//   - the token service over HTTPS with a generated CA, answering for the
//     Entra host names (global, regional, sovereign, mTLS and B2C hosts):
//     instance and OpenID Connect discovery, signing keys, sign-in
//     (authorize) and the token endpoint, which authenticates clients for
//     real (secrets, assertions verified against registered certificates,
//     TLS client certificates on the mTLS hosts, federated credentials:
//     tokens of an Issuer or of the emulator's managed identities) and
//     issues signed JWTs;
//   - on the same listener, the OpenID Connect issuers made by NewIssuer,
//     which play a Kubernetes cluster's service-account issuer;
//   - on the same listener too, under /api (ResourceURL), a protected API
//     that checks the tokens the emulator issued as a real resource does,
//     mTLS proof of possession and continuous access evaluation
//     (RevokeSessions) included;
//   - on a plain-HTTP listener, IMDS (tokens, the compute metadata used
//     for region detection, and IMDSv2's platform metadata and
//     certificate issuance, whose certificates the mTLS hosts accept for
//     managed identity mtls_pop tokens) and the managed identity endpoints
//     of App Service, Azure Arc, Cloud Shell and Azure Machine Learning;
//   - on an HTTPS listener of its own, with a self-signed certificate
//     trusted by thumbprint, the Service Fabric managed identity endpoint.
//
// Each endpoint checks what its real counterpart checks and answers in its
// real shape. The emulator records every request (Requests) and can
// change its answers (InjectFault). Both name endpoints by these strings:
//
//	"token"                 token endpoint
//	"authorize"             sign-in (authorization endpoint)
//	"resource"              the protected API (ResourceURL)
//	"instance_discovery"    /common/discovery/instance
//	"openid_configuration"  OpenID Connect discovery document (also an
//	                        Issuer's)
//	"keys"                  token signing keys (JWKS; also an Issuer's)
//	"imds_compute"          IMDS compute metadata
//	"imds_platform_metadata", "imds_issue_credential"
//	                        IMDSv2 platform metadata and certificate
//	                        issuance (managed identity mTLS PoP)
//	"imds", "app_service", "azure_arc", "cloud_shell", "service_fabric",
//	"machine_learning"      managed identity token endpoints, named as
//	                        managedidentity.Source names the sources
//	"unknown"               a path no endpoint serves
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
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The endpoint names, as documented in the package comment.
const (
	epToken               = "token"
	epAuthorize           = "authorize"
	epInstanceDiscovery   = "instance_discovery"
	epOpenIDConfiguration = "openid_configuration"
	epKeys                = "keys"
	epResource            = "resource"
	epIMDSCompute         = "imds_compute"
	epUnknown             = "unknown"

	srcIMDS            = "imds"
	srcAppService      = "app_service"
	srcAzureArc        = "azure_arc"
	srcCloudShell      = "cloud_shell"
	srcServiceFabric   = "service_fabric"
	srcMachineLearning = "machine_learning"
)

// Options configure an Emulator. The zero value is usable.
type Options struct {
	// Addr is the token service's HTTPS listen address; "" means
	// 127.0.0.1:0.
	Addr string
	// IMDSAddr is the listen address of the plain-HTTP listener (IMDS, App
	// Service, Azure Arc, Cloud Shell, Machine Learning); "" means
	// 127.0.0.1:0.
	IMDSAddr string
	// ServiceFabricAddr is the Service Fabric HTTPS listen address; ""
	// means 127.0.0.1:0.
	ServiceFabricAddr string
	// ExtraHosts are more names for the token service's certificate.
	ExtraHosts []string
	// TokenLifetime is the lifetime of issued access tokens; 0 means the
	// real services' defaults: 1 h from the token service, 24 h from the
	// managed identity endpoints.
	TokenLifetime time.Duration
	// RefreshIn, if set, is sent as refresh_in by the token service, IMDS,
	// Azure Arc and Cloud Shell.
	RefreshIn time.Duration
	// Region is the location IMDS reports; "" means "eastus".
	Region string
	// ArcTokenDir is the folder Azure Arc challenge files are written to;
	// "" means a new temporary folder, removed by Close.
	ArcTokenDir string
	// AppServiceDateExpiry makes App Service send expires_on in its older
	// date form ("MM/dd/yyyy HH:mm:ss +00:00") instead of Unix seconds.
	AppServiceDateExpiry bool
	// IMDSv1Only makes the host one with IMDS v1 only: the IMDSv2
	// endpoints answer 404, so mTLS proof-of-possession is not available.
	IMDSv1Only bool
	// IMDSCertificateLifetime is the lifetime of the certificates IMDSv2
	// issues; 0 means 7 days, as the real service's.
	IMDSCertificateLifetime time.Duration
	// SigningKey signs the tokens the emulator issues. nil means a fixed
	// key built into the package, so that starting an emulator costs no
	// key generation; set a key of your own where a process other than
	// the test trusts the emulator.
	SigningKey *rsa.PrivateKey
	// CA, if set, is the certificate authority (a CA certificate and its
	// key) that issues the token service's TLS certificate; nil means a
	// new one. With SigningKey, it lets processes that trusted an emulator
	// trust the next one too (entra emulator --dir).
	CA *tls.Certificate
	// OnRequest, if set, is called with every request once it is recorded,
	// before it is answered. It must not block for long.
	OnRequest func(Request)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TenantID is the id of the emulator's tenant (its default user's and
	// managed identities'); "" means a new GUID.
	TenantID string
}

// Emulator is a running emulator. It is safe for concurrent use.
type Emulator struct {
	opts   Options
	ca     *authorityCA
	signer *rsa.PrivateKey
	keyID  string
	dflt   DefaultClient
	// tenant is the directory's tenant: the default user's and the
	// managed identities'.
	tenant string
	mi     miHost

	tokenLn, imdsLn, sfLn net.Listener
	servers               []*http.Server
	serving               sync.WaitGroup // the servers' Serve loops
	connections           atomic.Int64

	// closed ends fault delays and holds, so that Close does not wait for
	// them; handlers counts the handlers running, which Close waits for.
	closed   chan struct{}
	handlers sync.WaitGroup

	mu         sync.Mutex
	closing    bool
	clients    map[string]Client
	users      map[string]User // by lower-cased username
	codes      map[string]*authCode
	refresh    map[string]refreshGrant
	requests   []Request
	faults     []*Fault
	arcSecrets map[string]string  // outstanding challenge secret → file
	issuers    map[string]*Issuer // by URL
	domains    map[string]string  // lower-cased domain → tenant id
	// revoked is when RevokeSessions was last called; zero if never.
	revoked time.Time
	// imdsIssued are the certificates IMDSv2 issued, oldest first.
	imdsIssued []IssuedCredential
}

// New starts an emulator: its three listeners serve until Close.
func New(opts Options) (*Emulator, error) {
	opts = withDefaults(opts)
	e := &Emulator{
		opts: opts, keyID: newGUID(), tenant: opts.TenantID, closed: make(chan struct{}), domains: map[string]string{},
		clients: map[string]Client{}, users: map[string]User{}, codes: map[string]*authCode{},
		refresh: map[string]refreshGrant{}, arcSecrets: map[string]string{},
		issuers: map[string]*Issuer{},
	}
	tokenCert, sfCert, err := e.setUp()
	if err != nil {
		return nil, err
	}
	if err := e.listen(tokenCert, sfCert); err != nil {
		return nil, err
	}
	e.serve()
	return e, nil
}

func withDefaults(opts Options) Options {
	for _, addr := range []*string{&opts.Addr, &opts.IMDSAddr, &opts.ServiceFabricAddr} {
		if *addr == "" {
			*addr = "127.0.0.1:0"
		}
	}
	if opts.Region == "" {
		opts.Region = "eastus"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TenantID == "" {
		opts.TenantID = newGUID()
	}
	opts.TenantID = strings.ToLower(opts.TenantID)
	return opts
}

// setUp makes the keys and certificates and registers the defaults.
func (e *Emulator) setUp() (tokenCert, sfCert tls.Certificate, err error) {
	now := e.opts.Now()
	if e.signer = e.opts.SigningKey; e.signer == nil {
		if e.signer, err = parseRSAKey(fixtureSigningKeyPEM); err != nil {
			return tokenCert, sfCert, err
		}
	}
	if e.opts.CA != nil {
		e.ca, err = givenCA(e.opts.CA)
	} else {
		e.ca, err = newCA(now)
	}
	if err != nil {
		return tokenCert, sfCert, err
	}
	hosts := append(tokenServiceHosts(), e.opts.ExtraHosts...)
	if tokenCert, err = e.ca.serverCertificate(now, hosts); err != nil {
		return tokenCert, sfCert, err
	}
	if sfCert, err = selfSignedServerCertificate(now); err != nil {
		return tokenCert, sfCert, err
	}
	e.mi = newMIHost(e.opts.ArcTokenDir, sfCert.Leaf)
	return tokenCert, sfCert, e.registerDefaults(now)
}

// listen opens the three listeners, or none.
func (e *Emulator) listen(tokenCert, sfCert tls.Certificate) error {
	var err error
	if e.tokenLn, err = net.Listen("tcp", e.opts.Addr); err != nil {
		return err
	}
	if e.imdsLn, err = net.Listen("tcp", e.opts.IMDSAddr); err != nil {
		e.tokenLn.Close()
		return err
	}
	if e.sfLn, err = net.Listen("tcp", e.opts.ServiceFabricAddr); err != nil {
		e.tokenLn.Close()
		e.imdsLn.Close()
		return err
	}
	token := newServer(e.tokenServiceHandler(), &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{tokenCert},
		// Client certificates are recorded; the mTLS endpoints refuse a
		// request without one (see authenticate).
		ClientAuth: tls.RequestClientCert,
	})
	token.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			e.connections.Add(1)
		}
	}
	sf := newServer(e.serviceFabricMux(), &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{sfCert}})
	e.servers = []*http.Server{token, newServer(e.plainMux(), nil), sf}
	return nil
}

func newServer(h http.Handler, tlsConfig *tls.Config) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		// Clients that distrust a certificate are expected in tests; their
		// failed handshakes are not the emulator's news.
		ErrorLog: log.New(io.Discard, "", 0),
	}
}

func (e *Emulator) serve() {
	token, plain, sf := e.servers[0], e.servers[1], e.servers[2]
	e.serving.Go(func() { token.ServeTLS(e.tokenLn, "", "") })
	e.serving.Go(func() { plain.Serve(e.imdsLn) })
	e.serving.Go(func() { sf.ServeTLS(e.sfLn, "", "") })
}

// Close stops the listeners, waits for the handlers running to return
// (ending fault delays and holds) and removes the Arc folder it made.
func (e *Emulator) Close() error {
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		return nil
	}
	e.closing = true
	e.mu.Unlock()
	close(e.closed)
	var errs []error
	for _, s := range e.servers {
		errs = append(errs, s.Close())
	}
	e.serving.Wait()
	e.handlers.Wait()
	e.removeArcDir()
	return errors.Join(errs...)
}

// enter registers a handler about to run; it reports false once Close has
// begun. Adding to handlers under mu, where Close sets closing, orders
// every Add before Close's Wait.
func (e *Emulator) enter() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return false
	}
	e.handlers.Add(1)
	return true
}

// URL is https://localhost:PORT, the token service's listener.
func (e *Emulator) URL() string {
	_, port, _ := net.SplitHostPort(e.tokenLn.Addr().String())
	return "https://localhost:" + port
}

// IMDSURL is the URL of the plain-HTTP listener, an IMDS base URL
// (AZURE_POD_IDENTITY_AUTHORITY_HOST).
func (e *Emulator) IMDSURL() string { return "http://" + e.imdsLn.Addr().String() }

// CACertPEM is the token service's CA certificate, for SSL_CERT_FILE or a
// trust store.
func (e *Emulator) CACertPEM() []byte { return append([]byte(nil), e.ca.pem...) }

// Connections is the number of connections (so TLS handshakes) the token
// service's listener has accepted.
func (e *Emulator) Connections() int64 { return e.connections.Load() }

// Transport trusts the emulator's CA and connects to the token service
// whatever host name a URL has, so https://login.microsoftonline.com/...
// reaches it.
func (e *Emulator) Transport() *http.Transport {
	addr := e.tokenLn.Addr().String()
	roots := x509.NewCertPool()
	roots.AddCert(e.ca.cert)
	var d net.Dialer
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
}

// TransportWithCertificate is Transport presenting cert in TLS handshakes,
// as a client of the mTLS hosts does.
func (e *Emulator) TransportWithCertificate(cert *tls.Certificate) *http.Transport {
	t := e.Transport()
	t.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	return t
}

// HTTPClient is a client over Transport.
func (e *Emulator) HTTPClient() *http.Client {
	return &http.Client{Transport: e.Transport(), Timeout: 30 * time.Second}
}
