package managedidentity

import (
	"crypto/sha1"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"
)

// defaultTimeout bounds one request when Config.HTTPClient is nil.
const defaultTimeout = 30 * time.Second

// httpClient returns the client requests go through. Redirects are never
// followed, whatever the caller's client says: they would carry the
// host's secret header to wherever the redirect points.
func httpClient(base *http.Client, ep endpoint) *http.Client {
	if ep.source == SourceServiceFabric {
		return pinnedClient(base, ep.thumbprint)
	}
	var hc http.Client
	if base != nil {
		hc = *base
	} else {
		hc = http.Client{Transport: newTransport(), Timeout: defaultTimeout}
	}
	hc.CheckRedirect = refuseRedirect
	return &hc
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// newTransport is for endpoints on the local host or its link-local
// network: it never uses a proxy, and it gives up on a silent address
// (IMDS off Azure) quickly.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: defaultTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
}

// pinnedClient is the Service Fabric client. The Service Fabric runtime
// serves a certificate that no public CA signed; it publishes the
// certificate's SHA-1 thumbprint in IDENTITY_SERVER_THUMBPRINT instead.
// So the usual chain check is turned off (InsecureSkipVerify) and
// replaced, in VerifyConnection, by requiring that the leaf certificate's
// thumbprint equal that one: no other certificate is accepted, whoever
// signed it. VerifyConnection also runs on resumed sessions.
//
// A caller's client contributes its *http.Transport settings (cloned) and
// its Timeout; its TLS configuration is replaced.
func pinnedClient(base *http.Client, thumbprint []byte) *http.Client {
	var t *http.Transport
	timeout := defaultTimeout
	if base != nil {
		if bt, ok := base.Transport.(*http.Transport); ok {
			t = bt.Clone()
		}
		if base.Timeout > 0 {
			timeout = base.Timeout
		}
	}
	if t == nil {
		t = newTransport()
	}
	pin := append([]byte(nil), thumbprint...)
	t.TLSClientConfig = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the thumbprint check below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the Service Fabric endpoint presented no certificate")
			}
			sum := sha1.Sum(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(sum[:], pin) != 1 {
				return errors.New("the Service Fabric endpoint's certificate does not match IDENTITY_SERVER_THUMBPRINT")
			}
			return nil
		},
	}
	return &http.Client{Transport: t, Timeout: timeout, CheckRedirect: refuseRedirect}
}
