package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	msal "github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
)

// BenchmarkCertificateMiss measures a client-credentials acquisition with
// an RSA-2048 certificate that misses the token cache, for entra and MSAL
// Go alike, over real HTTP (loopback TLS, connections kept alive) to the
// same fake token service. Each iteration asks for what neither cache
// holds:
//
//   - new=scope: another resource of the same tenant, so the same token
//     endpoint. entra sends the assertion it signed for the previous
//     request (for up to 5 minutes); MSAL Go signs one per request.
//   - new=tenant: another tenant, so another token endpoint (the
//     assertion's audience). Both libraries sign every time.
//
// cpu-ns/op is the process's CPU time (user and system, from getrusage)
// per acquisition: the client's, and the fake service's, which is the
// same work for both libraries.
func BenchmarkCertificateMiss(b *testing.B) {
	key, leaf := rsaCertificate(b)
	for _, fresh := range []string{"scope", "tenant"} {
		request := func(i int) (scope, tenant string) {
			if fresh == "scope" {
				return fmt.Sprintf("api://bench-%d/.default", i), tenantID(0)
			}
			return scopes[0], tenantID(i)
		}
		b.Run("impl=entra/new="+fresh, func(b *testing.B) {
			svc := &tokenService{}
			cred, err := credential.NewCertificate([]*x509.Certificate{leaf}, key, credential.CertificateOptions{})
			if err != nil {
				b.Fatal(err)
			}
			client, err := confidential.New(confidential.Config{
				Authority: authority, ClientID: clientID, Credential: cred, HTTPClient: overHTTP(b, svc),
			})
			if err != nil {
				b.Fatal(err)
			}
			measureMisses(b, svc, func(ctx context.Context, i int) error {
				scope, tenant := request(i)
				_, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: []string{scope}, Tenant: tenant})
				return err
			})
		})
		b.Run("impl=msalgo/new="+fresh, func(b *testing.B) {
			svc := &tokenService{}
			cred, err := msal.NewCredFromCert([]*x509.Certificate{leaf}, key)
			if err != nil {
				b.Fatal(err)
			}
			client, err := msal.New(authority, clientID, cred, msal.WithHTTPClient(overHTTP(b, svc)))
			if err != nil {
				b.Fatal(err)
			}
			measureMisses(b, svc, func(ctx context.Context, i int) error {
				scope, tenant := request(i)
				_, err := client.AcquireTokenByCredential(ctx, []string{scope}, msal.WithTenantID(tenant))
				return err
			})
		})
	}
}

// measureMisses runs acquire once to warm up (discovery, connections,
// the first signature), then b.N times with i = 1, 2, ..., and fails
// unless each timed call made one token request.
func measureMisses(b *testing.B, svc *tokenService, acquire func(ctx context.Context, i int) error) {
	ctx := context.Background()
	if err := acquire(ctx, 0); err != nil {
		b.Fatal(err)
	}
	before := svc.tokenRequests.Load()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	i := 0
	for b.Loop() {
		i++
		if err := acquire(ctx, i); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	b.StopTimer()
	if got := svc.tokenRequests.Load() - before; got != int64(b.N) {
		b.Fatalf("%d token requests for %d misses", got, b.N)
	}
}

// processCPU is the CPU time the process has used, in nanoseconds.
func processCPU() int64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return u.Utime.Nano() + u.Stime.Nano()
}

// rsaCertificate returns an RSA-2048 key and a self-signed certificate
// for it, valid for a day.
func rsaCertificate(tb testing.TB) (*rsa.PrivateKey, *x509.Certificate) {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return key, leaf
}

// overHTTP serves svc on a loopback TLS listener and returns a client
// that sends every request there, whatever its URL's host, so that each
// pays for real HTTP: encoding, TLS records, a socket round trip.
func overHTTP(tb testing.TB, svc *tokenService) *http.Client {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Scheme, r.URL.Host = "https", r.Host
		resp, _ := svc.RoundTrip(r)
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	tb.Cleanup(srv.Close)
	client := srv.Client() // trusts the server's certificate, issued for example.com
	transport := client.Transport.(*http.Transport)
	transport.TLSClientConfig.ServerName = "example.com"
	var dialer net.Dialer
	transport.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, srv.Listener.Addr().String())
	}
	return client
}
