package entratest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// MISource names a managed identity source the ManagedIdentityEmulator
// plays. The values are those of managedidentity.Source.
type MISource string

// The sources.
const (
	MISourceIMDS            MISource = "imds"
	MISourceAppService      MISource = "app_service"
	MISourceAzureArc        MISource = "azure_arc"
	MISourceCloudShell      MISource = "cloud_shell"
	MISourceServiceFabric   MISource = "service_fabric"
	MISourceMachineLearning MISource = "machine_learning"
)

// MISources lists every source.
func MISources() []MISource {
	return []MISource{MISourceIMDS, MISourceAppService, MISourceAzureArc,
		MISourceCloudShell, MISourceServiceFabric, MISourceMachineLearning}
}

// Paths of the sources on the emulator's plain-HTTP listener (IMDS is at
// its real path, so that the listener's URL is an IMDS base URL) and on
// its HTTPS listener (Service Fabric).
const (
	miPathIMDS            = "/metadata/identity/oauth2/token"
	miPathAppService      = "/appservice/msi/token"
	miPathAzureArc        = "/arc/metadata/identity/oauth2/token"
	miPathCloudShell      = "/cloudshell/oauth2/token"
	miPathMachineLearning = "/ml/msi/token"
	miPathServiceFabric   = "/metadata/identity/oauth2/token"
)

// ManagedIdentityOptions configure a ManagedIdentityEmulator. The zero
// value is usable.
type ManagedIdentityOptions struct {
	// Addr is the plain-HTTP listen address of IMDS, App Service, Azure
	// Arc, Cloud Shell and Machine Learning; "" means 127.0.0.1:0.
	Addr string
	// ServiceFabricAddr is the HTTPS listen address of Service Fabric; ""
	// means 127.0.0.1:0.
	ServiceFabricAddr string
	// ArcTokenDir is the folder Azure Arc challenge files are written to;
	// "" means a new temporary folder, removed by Close.
	ArcTokenDir string
	// TokenLifetime is the lifetime of issued tokens; default 24 h, as IMDS.
	TokenLifetime time.Duration
	// RefreshIn, if set, is sent as refresh_in by IMDS, Azure Arc and Cloud Shell.
	RefreshIn time.Duration
	// AppServiceDateExpiry makes App Service send expires_on in its
	// older date form ("MM/dd/yyyy HH:mm:ss +00:00") instead of Unix seconds.
	AppServiceDateExpiry bool
	// OnRequest, if set, is called with every request once it is
	// recorded, before it is answered. It must not block for long.
	OnRequest func(MIRequest)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// MIRequest is a recorded managed identity request.
type MIRequest struct {
	Time time.Time
	// Source is the source whose path was called; "" for an unknown path.
	Source MISource
	Method string
	Host   string
	Path   string
	// RawQuery is the query exactly as sent, to check its encoding.
	RawQuery string
	Query    url.Values
	Header   http.Header
	// Form is the decoded POST form (Cloud Shell).
	Form url.Values
}

// MIToken describes a token the emulator issued.
type MIToken struct {
	Source   MISource
	Resource string
	// IdentityParam and IdentityValue are the identity selector sent
	// (e.g. "client_id"); both "" for the system-assigned identity.
	IdentityParam, IdentityValue string
	// Claims is the decoded claims query parameter (IMDS); "" if none.
	Claims    string
	ExpiresOn time.Time
}

// MIFault changes the answer to matching requests.
type MIFault struct {
	// Source limits the fault to one source; "" matches every source.
	Source MISource
	// Times is how many matching requests it applies to; 0 means 1.
	Times int
	// Delay holds the answer back (until the client goes away).
	Delay time.Duration
	// Hold, if not nil, holds the answer back until it is closed (or the
	// client goes away).
	Hold <-chan struct{}
	// Status, if not 0, replaces the answer: with Body if set, else with an
	// error in the source's own shape.
	Status int
	// Body, with Status 0, is sent with status 200 instead of a token
	// response (malformed JSON, a response without access_token, ...).
	Body        []byte
	ContentType string
	// RetryAfter is sent as the Retry-After header.
	RetryAfter string
	// Header holds more headers to send with the fault's answer (e.g.
	// WWW-Authenticate, Location).
	Header http.Header
}

// ManagedIdentityEmulator plays the managed identity endpoints of every
// source on real sockets: IMDS, App Service, Azure Arc, Cloud Shell and
// Machine Learning on one plain-HTTP listener, Service Fabric on an HTTPS
// listener with its own self-signed certificate. Each endpoint checks
// method, api-version, headers and identity parameters as the real one
// does and answers in its real shape. It records every request and can
// inject faults. It is safe for concurrent use.
type ManagedIdentityEmulator struct {
	opts       ManagedIdentityOptions
	ln, sfLn   net.Listener
	srv, sfSrv *http.Server
	arcDir     string
	ownArcDir  bool
	thumbprint string

	// The hosts' secrets, random per emulator.
	identityHeader, msiSecret, mlClientID string

	mu         sync.Mutex
	requests   []MIRequest
	faults     []*MIFault
	arcSecrets map[string]string // outstanding challenge secret → file
	issued     map[string]MIToken
}

// NewManagedIdentity starts a managed identity emulator.
func NewManagedIdentity(opts ManagedIdentityOptions) (*ManagedIdentityEmulator, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.ServiceFabricAddr == "" {
		opts.ServiceFabricAddr = "127.0.0.1:0"
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &ManagedIdentityEmulator{
		opts:           opts,
		arcDir:         opts.ArcTokenDir,
		identityHeader: miRandom(16),
		msiSecret:      miRandom(16),
		mlClientID:     miGUID(),
		arcSecrets:     map[string]string{},
		issued:         map[string]MIToken{},
	}
	if e.arcDir == "" {
		dir, err := os.MkdirTemp("", "entratest-arc-")
		if err != nil {
			return nil, err
		}
		e.arcDir, e.ownArcDir = dir, true
	}
	cert, err := miServerCertificate(opts.Now())
	if err != nil {
		e.removeArcDir()
		return nil, err
	}
	sum := sha1.Sum(cert.Certificate[0])
	e.thumbprint = strings.ToUpper(hex.EncodeToString(sum[:]))

	if e.ln, err = net.Listen("tcp", opts.Addr); err != nil {
		e.removeArcDir()
		return nil, err
	}
	if e.sfLn, err = net.Listen("tcp", opts.ServiceFabricAddr); err != nil {
		e.ln.Close()
		e.removeArcDir()
		return nil, err
	}
	quiet := log.New(io.Discard, "", 0) // refused handshakes are expected in tests
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serveHTTP), ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet}
	e.sfSrv = &http.Server{
		Handler:           http.HandlerFunc(e.serveServiceFabric),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          quiet,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
	}
	go e.srv.Serve(e.ln)
	go e.sfSrv.ServeTLS(e.sfLn, "", "")
	return e, nil
}

// Close stops the listeners and removes the Arc folder it created.
func (e *ManagedIdentityEmulator) Close() error {
	err := errors.Join(e.srv.Close(), e.sfSrv.Close())
	e.removeArcDir()
	return err
}

func (e *ManagedIdentityEmulator) removeArcDir() {
	if e.ownArcDir {
		os.RemoveAll(e.arcDir)
	}
}

// BaseURL is the plain-HTTP listener's URL: the IMDS base URL
// (AZURE_POD_IDENTITY_AUTHORITY_HOST, IMDS_ENDPOINT).
func (e *ManagedIdentityEmulator) BaseURL() string { return "http://" + e.ln.Addr().String() }

// URL is the token endpoint of a source.
func (e *ManagedIdentityEmulator) URL(s MISource) string {
	switch s {
	case MISourceIMDS:
		return e.BaseURL() + miPathIMDS
	case MISourceAppService:
		return e.BaseURL() + miPathAppService
	case MISourceAzureArc:
		return e.BaseURL() + miPathAzureArc
	case MISourceCloudShell:
		return e.BaseURL() + miPathCloudShell
	case MISourceMachineLearning:
		return e.BaseURL() + miPathMachineLearning
	case MISourceServiceFabric:
		return "https://" + e.sfLn.Addr().String() + miPathServiceFabric
	}
	return ""
}

// Env returns the environment variables a client needs to reach source s
// (and to detect it), as the host would set them.
func (e *ManagedIdentityEmulator) Env(s MISource) map[string]string {
	switch s {
	case MISourceIMDS:
		return map[string]string{"AZURE_POD_IDENTITY_AUTHORITY_HOST": e.BaseURL()}
	case MISourceAppService:
		return map[string]string{"IDENTITY_ENDPOINT": e.URL(s), "IDENTITY_HEADER": e.identityHeader}
	case MISourceAzureArc:
		return map[string]string{"IDENTITY_ENDPOINT": e.URL(s), "IMDS_ENDPOINT": e.BaseURL()}
	case MISourceCloudShell:
		return map[string]string{"MSI_ENDPOINT": e.URL(s)}
	case MISourceServiceFabric:
		return map[string]string{"IDENTITY_ENDPOINT": e.URL(s), "IDENTITY_HEADER": e.identityHeader,
			"IDENTITY_SERVER_THUMBPRINT": e.thumbprint}
	case MISourceMachineLearning:
		return map[string]string{"MSI_ENDPOINT": e.URL(s), "MSI_SECRET": e.msiSecret,
			"DEFAULT_IDENTITY_CLIENT_ID": e.mlClientID}
	}
	return map[string]string{}
}

// Getenv is a lookup function over Env(s), for a client's Getenv hook.
func (e *ManagedIdentityEmulator) Getenv(s MISource) func(string) string {
	env := e.Env(s)
	return func(name string) string { return env[name] }
}

// ArcTokenDir is the folder Azure Arc challenge files are written to.
func (e *ManagedIdentityEmulator) ArcTokenDir() string { return e.arcDir }

// ServiceFabricThumbprint is the upper-case hex SHA-1 thumbprint of the
// Service Fabric listener's certificate.
func (e *ManagedIdentityEmulator) ServiceFabricThumbprint() string { return e.thumbprint }

// IdentityHeader is the App Service and Service Fabric secret (IDENTITY_HEADER).
func (e *ManagedIdentityEmulator) IdentityHeader() string { return e.identityHeader }

// MSISecret is the Machine Learning secret (MSI_SECRET).
func (e *ManagedIdentityEmulator) MSISecret() string { return e.msiSecret }

// DefaultIdentityClientID is the Machine Learning system-assigned
// identity's client id (DEFAULT_IDENTITY_CLIENT_ID).
func (e *ManagedIdentityEmulator) DefaultIdentityClientID() string { return e.mlClientID }

// InjectFault queues a fault. Faults are matched in the order injected.
func (e *ManagedIdentityEmulator) InjectFault(f MIFault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, &f)
}

// Requests returns every request received, in order.
func (e *ManagedIdentityEmulator) Requests() []MIRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]MIRequest(nil), e.requests...)
}

// RequestsFor returns the requests to source s.
func (e *ManagedIdentityEmulator) RequestsFor(s MISource) []MIRequest {
	var out []MIRequest
	for _, r := range e.Requests() {
		if r.Source == s {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the recorded requests and pending faults.
func (e *ManagedIdentityEmulator) ResetRequests() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests, e.faults = nil, nil
}

// TokenInfo describes a token the emulator issued.
func (e *ManagedIdentityEmulator) TokenInfo(token string) (MIToken, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.issued[token]
	return t, ok
}

// record stores a request and returns the fault to apply to it, if any.
func (e *ManagedIdentityEmulator) record(r *http.Request, s MISource) *MIFault {
	if r.Method == http.MethodPost {
		r.ParseForm()
	}
	rec := MIRequest{
		Time: e.opts.Now(), Source: s, Method: r.Method, Host: r.Host, Path: r.URL.Path,
		RawQuery: r.URL.RawQuery, Query: r.URL.Query(), Header: r.Header.Clone(), Form: r.PostForm,
	}
	e.mu.Lock()
	e.requests = append(e.requests, rec)
	var fault *MIFault
	for i, f := range e.faults {
		if f.Source != "" && f.Source != s {
			continue
		}
		if f.Times--; f.Times == 0 {
			e.faults = append(e.faults[:i:i], e.faults[i+1:]...)
		}
		cp := *f
		fault = &cp
		break
	}
	e.mu.Unlock()
	if e.opts.OnRequest != nil {
		e.opts.OnRequest(rec)
	}
	return fault
}

// apply holds the answer back and, if the fault replaces it, answers. It
// reports whether it answered (or the client went away).
func (f *MIFault) apply(w http.ResponseWriter, r *http.Request, s MISource) bool {
	if f == nil {
		return false
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		}
	}
	if f.Hold != nil {
		select {
		case <-f.Hold:
		case <-r.Context().Done():
			return true
		}
	}
	if f.Status == 0 && f.Body == nil {
		return false
	}
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	if f.Body == nil {
		miWriteError(w, s, status, "injected_fault", "The service is unavailable (injected fault).")
		return true
	}
	ct := f.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	w.Write(f.Body)
	return true
}

// miServerCertificate is the Service Fabric listener's self-signed
// certificate; clients trust it only by its thumbprint.
func miServerCertificate(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "entratest Service Fabric managed identity"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// miGUID is a random version 4 UUID.
func miGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func miRandom(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
