package clientauth

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

// Proxied is a credential whose token requests go through a proxy, as an
// AKS identity binding's workload identity does.
type Proxied interface {
	Credential
	Proxy() *Proxy
}

// Proxy re-targets token requests: a request for
// https://{host}/{tenant}/oauth2/v2.0/token goes to the proxy's URL with
// that path joined to its own, over TLS with the proxy's server name and
// CA.
type Proxy struct {
	base *url.URL
	// HTTP reaches the proxy; it never presents a client certificate.
	HTTP *http.Client
}

// NewProxy returns the proxy at rawURL (https), verified against the CA
// in caFile (re-read when it changes) or caData (PEM; exactly one of
// them), with serverName as the TLS server name when it is not empty.
func NewProxy(rawURL, serverName, caFile, caData string) (*Proxy, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errs.New(entra.CodeInvalidArgument, "the token proxy %q is not an https URL", rawURL)
	}
	if (caFile == "") == (caData == "") {
		return nil, errs.New(entra.CodeInvalidArgument, "the token proxy needs its CA as a file or as PEM data, one of them")
	}
	roots := &rootsFile{path: caFile}
	if caData != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(caData)) {
			return nil, errs.New(entra.CodeInvalidArgument, "the token proxy's CA data holds no PEM certificate")
		}
		roots = &rootsFile{pool: pool}
	} else if _, err := roots.current(); err != nil {
		return nil, err
	}
	if serverName == "" {
		serverName = u.Hostname()
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: serverName,
		// The pool can change (the CA file rotates), so the chain is
		// verified by VerifyConnection against the current one.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			pool, err := roots.current()
			if err != nil {
				return err
			}
			if len(cs.PeerCertificates) == 0 {
				return errs.New(entra.CodeTransport, "the token proxy presented no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: serverName, Roots: pool, Intermediates: inter})
			return err
		},
	}
	return &Proxy{base: u, HTTP: &http.Client{Transport: t, Timeout: 30 * time.Second}}, nil
}

// Rewrite returns where a request for tokenEndpoint goes.
func (p *Proxy) Rewrite(tokenEndpoint string) string {
	u, err := url.Parse(tokenEndpoint)
	if err != nil {
		return tokenEndpoint
	}
	out := *p.base
	out.Path = strings.TrimRight(p.base.Path, "/") + u.Path
	out.RawQuery = u.RawQuery
	return out.String()
}

// rootsFile is a CA pool from a file that may be replaced, or fixed.
type rootsFile struct {
	path string
	mu   sync.Mutex
	pool *x509.CertPool
	data []byte
}

func (r *rootsFile) current() (*x509.CertPool, error) {
	if r.path == "" {
		return r.pool, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	data, err := os.ReadFile(r.path)
	switch {
	case err != nil && r.pool != nil:
		return r.pool, nil // keep the CA that worked while the file is replaced
	case err != nil:
		return nil, errs.Wrap(entra.CodeInvalidArgument, err, "the token proxy's CA file %s cannot be read", r.path)
	case bytes.Equal(data, r.data):
		return r.pool, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		if r.pool != nil {
			return r.pool, nil
		}
		return nil, errs.New(entra.CodeInvalidArgument, "the token proxy's CA file %s holds no PEM certificate", r.path)
	}
	r.pool, r.data = pool, data
	return pool, nil
}
