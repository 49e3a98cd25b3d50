package confidential_test

// Credentials of Azure workloads, end to end against the emulator over
// real TLS: workload identity token files (and AKS identity-binding
// proxies) and managed identity as a federated credential.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

const (
	wiTenant  = "contoso.onmicrosoft.com"
	wiSubject = "system:serviceaccount:payments:api"
	exchange  = "api://AzureADTokenExchange"
)

var graph = []string{"https://graph.microsoft.com/.default"}

// workload is an emulator with a Kubernetes-style issuer the default
// client trusts as a federated credential.
func workload(t *testing.T) (*entratest.Emulator, *entratest.Issuer) {
	t.Helper()
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	issuer := em.NewIssuer("aks")
	em.RegisterClient(entratest.Client{ID: em.DefaultClient().ID,
		FederatedCredentials: []entratest.FederatedCredential{{Issuer: issuer.URL(), Subject: wiSubject, Audience: exchange}}})
	return em, issuer
}

func newApp(t *testing.T, em *entratest.Emulator, authority string, cred credential.Credential) *confidential.Client {
	t.Helper()
	c, err := confidential.New(confidential.Config{Authority: authority, ClientID: em.DefaultClient().ID,
		Credential: cred, HTTPClient: em.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestWorkloadIdentityFollowsTheTokenFile(t *testing.T) {
	t.Parallel()
	em, issuer := workload(t)
	path := filepath.Join(t.TempDir(), "token")
	// Tokens that expire within five minutes are re-read on every request,
	// as a token about to expire is: each rotation is seen at once.
	if err := issuer.WriteTokenFile(path, wiSubject, exchange, 4*time.Minute); err != nil {
		t.Fatal(err)
	}
	c := newApp(t, em, "https://login.microsoftonline.com/"+wiTenant, credential.NewWorkloadIdentity(path))
	ctx := context.Background()
	force := confidential.TokenRequest{Scopes: graph, ForceRefresh: true}
	sent := func() string {
		t.Helper()
		if _, err := c.AcquireTokenForClient(ctx, force); err != nil {
			t.Fatal(err)
		}
		last := em.Requests("token")[len(em.Requests("token"))-1]
		if last.ClientAuth != "federated" {
			t.Fatalf("the request authenticated with %q, want the federated token", last.ClientAuth)
		}
		return last.Form.Get("client_assertion")
	}
	first := sent()
	if err := issuer.WriteTokenFile(path, wiSubject, exchange, 4*time.Minute); err != nil { // the kubelet rotates it
		t.Fatal(err)
	}
	if second := sent(); second == first {
		t.Fatal("the rotated token was not sent")
	}
	// An expired token in the file is never sent: the emulator would answer AADSTS700024.
	if err := issuer.WriteTokenFile(path, wiSubject, exchange, -time.Minute); err != nil {
		t.Fatal(err)
	}
	before := len(em.Requests("token"))
	_, err := c.AcquireTokenForClient(ctx, force)
	if entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired token: %v, want %s", err, entra.CodeInvalidCredentialMaterial)
	}
	if n := len(em.Requests("token")) - before; n != 0 {
		t.Fatalf("%d requests carried the expired token", n)
	}
}

func TestWorkloadIdentityFileErrors(t *testing.T) {
	t.Parallel()
	em, _ := workload(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"missing": filepath.Join(dir, "missing"), "empty": empty} {
		c := newApp(t, em, "https://login.microsoftonline.com/"+wiTenant, credential.NewWorkloadIdentity(path))
		_, err := c.AcquireTokenForClient(context.Background(), confidential.TokenRequest{Scopes: graph})
		if entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial || !strings.Contains(err.Error(), path) {
			t.Errorf("%s file: %v, want %s naming the file", name, err, entra.CodeInvalidCredentialMaterial)
		}
	}
	if n := len(em.Requests("token")); n != 0 {
		t.Fatalf("%d token requests without a token", n)
	}
}

// proxyCA is a CA and a server certificate for serverName, as an AKS
// identity binding's proxy has.
func proxyCA(t *testing.T, serverName string) (caPEM []byte, server tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "binding CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: serverName}, DNSNames: []string{serverName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestIdentityBindingProxy: with AZURE_KUBERNETES_TOKEN_PROXY the token
// request goes to the binding's proxy (its path joined with the token
// endpoint's), over TLS with its SNI name and CA, and on to Entra ID.
func TestIdentityBindingProxy(t *testing.T) {
	t.Parallel()
	em, issuer := workload(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := issuer.WriteTokenFile(tokenFile, wiSubject, exchange, time.Hour); err != nil {
		t.Fatal(err)
	}
	const sni = "binding.aks.test"
	caPEM, serverCert := proxyCA(t, sni)
	target, _ := url.Parse(em.URL())
	forward := httputil.NewSingleHostReverseProxy(target)
	forward.Transport = em.Transport()
	var mu sync.Mutex
	var seenPaths, seenSNI []string
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seenPaths, seenSNI = append(seenPaths, r.URL.Path), append(seenSNI, r.TLS.ServerName)
		mu.Unlock()
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/binding")
		forward.ServeHTTP(w, r)
	}))
	proxy.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}}
	proxy.StartTLS()
	t.Cleanup(proxy.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, ca := range map[string][2]string{"CA file": {caFile, ""}, "CA data": {"", string(caPEM)}} {
		env := map[string]string{"AZURE_CLIENT_ID": em.DefaultClient().ID, "AZURE_TENANT_ID": wiTenant,
			"AZURE_FEDERATED_TOKEN_FILE": tokenFile, "AZURE_KUBERNETES_TOKEN_PROXY": proxy.URL + "/binding",
			"AZURE_KUBERNETES_SNI_NAME": sni, "AZURE_KUBERNETES_CA_FILE": ca[0], "AZURE_KUBERNETES_CA_DATA": ca[1]}
		cfg, err := confidential.ConfigFromEnvironment(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		cfg.HTTPClient = em.HTTPClient()
		c, err := confidential.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := c.AcquireTokenForClient(context.Background(), confidential.TokenRequest{Scopes: graph})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.HasPrefix(tok.TokenEndpoint, proxy.URL+"/binding/") {
			t.Errorf("%s: the token came from %s, not the proxy", name, tok.TokenEndpoint)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seenPaths) != 2 || seenPaths[0] != "/binding/"+wiTenant+"/oauth2/v2.0/token" || seenSNI[0] != sni {
		t.Fatalf("the proxy saw paths %q with server names %q", seenPaths, seenSNI)
	}
	if n := len(em.Requests("token")); n != 2 {
		t.Fatalf("%d token requests reached Entra ID through the proxy, want 2", n)
	}
}

// TestManagedIdentityAsFederatedCredential: the identity's token for each
// cloud's exchange audience is the application's client assertion, and a
// claims challenge reaches the identity's leg (which then skips its cache).
func TestManagedIdentityAsFederatedCredential(t *testing.T) {
	t.Parallel()
	for _, cloud := range []struct{ host, audience string }{
		{"login.microsoftonline.com", "api://AzureADTokenExchange"},
		{"login.microsoftonline.us", "api://AzureADTokenExchangeUSGov"},
		{"login.partner.microsoftonline.cn", "api://AzureADTokenExchangeChina"},
		{"login.sovcloud-identity.fr", "api://AzureADTokenExchangeFrance"},
		{"login.sovcloud-identity.de", "api://AzureADTokenExchangeGermany"},
	} {
		t.Run(cloud.host, func(t *testing.T) {
			t.Parallel()
			em, err := entratest.New(entratest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { em.Close() })
			miIssuer := "https://login.microsoftonline.com/" + em.DefaultUser().TenantID + "/v2.0"
			em.RegisterClient(entratest.Client{ID: em.DefaultClient().ID, FederatedCredentials: []entratest.FederatedCredential{
				{Issuer: miIssuer, Subject: em.ManagedIdentityObjectID("", ""), Audience: cloud.audience}}})
			mi, err := managedidentity.New(managedidentity.Config{Getenv: em.Getenv("imds")})
			if err != nil {
				t.Fatal(err)
			}
			c := newApp(t, em, "https://"+cloud.host+"/"+wiTenant, credential.NewManagedIdentityAssertion(mi))
			ctx := context.Background()
			if _, err := c.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: graph}); err != nil {
				t.Fatal(err)
			}
			imds := em.Requests("imds")
			if len(imds) != 1 || imds[0].Query.Get("resource") != cloud.audience {
				t.Fatalf("%d IMDS requests, for %q; want one for %s", len(imds), imds[0].Query.Get("resource"), cloud.audience)
			}
			// The identity's token is cached: another app token needs no IMDS request...
			if _, err := c.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: []string{"https://vault.azure.net/.default"}}); err != nil {
				t.Fatal(err)
			}
			// ... but a claims challenge reaches the identity's leg, which skips its cache.
			challenge := `{"access_token":{"nbf":{"essential":true,"value":"1732960000"}}}`
			if _, err := c.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: graph, Claims: challenge}); err != nil {
				t.Fatal(err)
			}
			if n := len(em.Requests("imds")); n != 2 {
				t.Fatalf("%d IMDS requests; want the first, and one for the claims challenge", n)
			}
		})
	}
	t.Run("another cloud's audience", func(t *testing.T) {
		t.Parallel()
		em, err := entratest.New(entratest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { em.Close() })
		miIssuer := "https://login.microsoftonline.com/" + em.DefaultUser().TenantID + "/v2.0"
		em.RegisterClient(entratest.Client{ID: em.DefaultClient().ID, FederatedCredentials: []entratest.FederatedCredential{
			{Issuer: miIssuer, Subject: em.ManagedIdentityObjectID("", ""), Audience: exchange}}})
		mi, err := managedidentity.New(managedidentity.Config{Getenv: em.Getenv("imds")})
		if err != nil {
			t.Fatal(err)
		}
		c := newApp(t, em, "https://login.microsoftonline.us/"+wiTenant, credential.NewManagedIdentityAssertion(mi))
		_, err = c.AcquireTokenForClient(context.Background(), confidential.TokenRequest{Scopes: graph})
		var e *entra.Error
		if entra.ErrorCode(err) != "invalid_client" || !asError(err, &e) || len(e.ErrorCodes) == 0 || e.ErrorCodes[0] != 7002206 {
			t.Fatalf("a US Gov app trusting the public audience: %v, want invalid_client AADSTS7002206", err)
		}
	})
}

func asError(err error, e **entra.Error) bool { return errors.As(err, e) }
