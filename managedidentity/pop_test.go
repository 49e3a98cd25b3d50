package managedidentity_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

// testKey is one RSA-2048 key for the tests that do not test the default
// key source: making one costs a tenth of a second.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func sharedKey(context.Context) (crypto.Signer, error) { return testKey(), nil }

// popClient is an IMDS client of emu whose mTLS requests reach the
// emulator's token service over real TLS, presenting the certificate.
func popClient(t *testing.T, emu *entratest.Emulator, configure ...func(*managedidentity.Config)) *managedidentity.Client {
	t.Helper()
	c, _ := newClient(t, emu, "imds", append([]func(*managedidentity.Config){func(cfg *managedidentity.Config) {
		cfg.KeySource = sharedKey
		cfg.MTLSHTTPClient = func(cert *tls.Certificate) (*http.Client, error) {
			return &http.Client{Transport: emu.TransportWithCertificate(cert), Timeout: 10 * time.Second}, nil
		}
	}}, configure...)...)
	t.Cleanup(func() { c.Close() })
	return c
}

func popRequest(res string) managedidentity.TokenRequest {
	return managedidentity.TokenRequest{Resource: res, MTLSPoP: true}
}

func x5tS256(der []byte) string {
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// endpoints lists the endpoint names of the requests, in order.
func endpoints(reqs []entratest.Request) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Method + " " + r.Endpoint
	}
	return out
}

func TestPoPAcquisitionAndCache(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	// The default key source: an in-memory RSA-2048 key of the client's own.
	c := popClient(t, emu, func(cfg *managedidentity.Config) { cfg.KeySource = nil })
	ctx := context.Background()

	tok, err := c.AcquireToken(ctx, popRequest(resource+"/.default"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"GET imds_platform_metadata", "POST imds_issue_credential", "POST token"}
	if got := endpoints(emu.Requests()); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("requests %v, want %v", got, want)
	}
	reqs := emu.Requests()
	for _, r := range reqs[:2] {
		if r.Header.Get("Metadata") != "true" || r.Query.Get("cred-api-version") != "2.0" || len(r.Query) != 1 {
			t.Errorf("%s: Metadata %q, query %v", r.Endpoint, r.Header.Get("Metadata"), r.Query)
		}
	}
	tr := reqs[2]
	tenant := strings.Split(strings.TrimPrefix(tr.Path, "/"), "/")[0]
	if tr.Host != "eastus.mtlsauth.microsoft.com" || tr.Path != "/"+tenant+"/oauth2/v2.0/token" {
		t.Errorf("token request to %s%s", tr.Host, tr.Path)
	}
	issued := emu.IssuedCredentials()
	if len(issued) != 1 {
		t.Fatalf("%d certificates issued", len(issued))
	}
	wantForm := map[string]string{"grant_type": "client_credentials", "client_id": emu.DefaultIdentityClientID(),
		"scope": resource + "/.default", "token_type": "mtls_pop"}
	for k, v := range wantForm {
		if tr.Form.Get(k) != v {
			t.Errorf("form %s = %q, want %q", k, tr.Form.Get(k), v)
		}
	}
	if len(tr.Form) != len(wantForm) {
		t.Errorf("form has more fields: %v", tr.Form)
	}
	if issued[0].AttestationToken != "" {
		t.Error("an attestation token was sent without a provider")
	}
	if tr.ClientCertificate == nil || !tr.ClientCertificate.Equal(issued[0].Certificate) {
		t.Fatal("the token request did not present the issued certificate")
	}
	if tok.TokenType != entra.TokenTypeMTLSPoP || tok.FromCache || tok.BindingCertificate == nil ||
		!tok.BindingCertificate.Leaf.Equal(issued[0].Certificate) {
		t.Fatalf("token %v, binding %v", tok, tok.BindingCertificate != nil)
	}
	if !strings.HasPrefix(tok.AuthorizationHeader(), "mtls_pop ") {
		t.Errorf("Authorization %q", tok.AuthorizationHeader()[:9])
	}
	claims, err := emu.VerifyAccessToken(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	cnf, _ := claims["cnf"].(map[string]any)
	if cnf["x5t#S256"] != x5tS256(issued[0].Certificate.Raw) || claims["aud"] != resource || claims["appid"] != emu.DefaultIdentityClientID() {
		t.Errorf("claims cnf=%v aud=%v appid=%v", cnf, claims["aud"], claims["appid"])
	}
	checkCertificateRequest(t, issued[0].Request, emu.DefaultIdentityClientID(), tenant)

	// The same resource again: from the cache, nothing sent.
	again, err := c.AcquireToken(ctx, popRequest(resource))
	if err != nil {
		t.Fatal(err)
	}
	if !again.FromCache || again.AccessToken != tok.AccessToken || again.BindingCertificate != tok.BindingCertificate {
		t.Fatalf("second acquisition: from cache %t, same token %t", again.FromCache, again.AccessToken == tok.AccessToken)
	}
	if n := len(emu.Requests()); n != 3 {
		t.Fatalf("%d requests after a cache hit", n)
	}
	// A Bearer request is another token, from IMDS v1.
	bearer, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
	if err != nil || bearer.TokenType != entra.TokenTypeBearer || bearer.FromCache || bearer.BindingCertificate != nil {
		t.Fatalf("bearer: %v %v", bearer, err)
	}

	// A new resource: the cached certificate, no new mint.
	emu.ResetRequests()
	other, err := c.AcquireToken(ctx, popRequest("https://vault.azure.net"))
	if err != nil {
		t.Fatal(err)
	}
	if got := endpoints(emu.Requests()); len(got) != 1 || got[0] != "POST token" {
		t.Fatalf("new resource: requests %v", got)
	}
	if len(emu.IssuedCredentials()) != 1 || other.BindingCertificate.Leaf != tok.BindingCertificate.Leaf {
		t.Fatal("a new resource minted a new certificate")
	}
}

// checkCertificateRequest has two parsers besides the emulator's read the
// request: crypto/x509 and, when installed, OpenSSL.
func checkCertificateRequest(t *testing.T, der []byte, clientID, tenant string) {
	t.Helper()
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.CheckSignature(); err != nil || req.SignatureAlgorithm != x509.SHA256WithRSAPSS {
		t.Fatalf("signature %v: %v", req.SignatureAlgorithm, err)
	}
	if req.Subject.CommonName != clientID {
		t.Errorf("CN %q", req.Subject.CommonName)
	}
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Log("openssl is not installed; skipped its check")
		return
	}
	path := filepath.Join(t.TempDir(), "req.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "req", "-in", path, "-verify", "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req -verify: %v\n%s", err, out)
	}
	for _, want := range []string{"verify OK", "rsassaPss", "1.3.6.1.4.1.311.90.2.10", "CN = " + clientID, "DC = " + tenant, `"vmId"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("openssl output lacks %q:\n%s", want, out)
		}
	}
}

func TestPoPIMDSv1Only(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{IMDSv1Only: true})
	c := popClient(t, emu)
	_, err := c.AcquireToken(context.Background(), popRequest(resource))
	e := wantCode(t, err, entra.CodeMTLSPoPNotSupportedInIMDSv1)
	if e.StatusCode != 404 || !strings.Contains(e.Error(), "IMDS v1 only") {
		t.Errorf("error %v", e)
	}
	if n := len(emu.Requests()); n != 1 {
		t.Fatalf("%d requests, want 1 (a 404 is an answer, not retried)", n)
	}
	if cap, err := c.Capability(context.Background()); err != nil || cap != managedidentity.CapabilityIMDSv1 {
		t.Fatalf("Capability = %v, %v", cap, err)
	}
	if _, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource}); err != nil {
		t.Fatalf("a Bearer token on an IMDS v1 host: %v", err)
	}
}

func TestPoPRefusedForOtherSources(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	for _, src := range miSources()[1:] {
		t.Run(src, func(t *testing.T) {
			c, _ := newClient(t, emu, src)
			_, err := c.AcquireToken(context.Background(), popRequest(resource))
			wantCode(t, err, entra.CodeMTLSNotSupportedForEnvironment)
			_, err = c.Capability(context.Background())
			wantCode(t, err, entra.CodeMTLSNotSupportedForEnvironment)
		})
	}
	if n := len(emu.Requests()); n != 0 {
		t.Fatalf("%d requests were sent", n)
	}
}

func TestCapability(t *testing.T) {
	t.Parallel()
	// A host where something accepts connections at the IMDS address and
	// never answers, the slowest kind of host without IMDS.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var conns sync.WaitGroup
	conns.Go(func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	})
	defer conns.Wait()
	defer silent.Close()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	emu := startEmulator(t, entratest.Options{})
	tests := []struct {
		name string
		host string
		want managedidentity.Capability
	}{
		{"IMDS v2", emu.IMDSURL(), managedidentity.CapabilityIMDSv2},
		{"silent host", "http://" + silent.Addr().String(), managedidentity.CapabilityNone},
		{"nothing listening", "http://" + closedAddr, managedidentity.CapabilityNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := managedidentity.New(managedidentity.Config{Source: managedidentity.SourceIMDS,
				Getenv: func(k string) string {
					if k == "AZURE_POD_IDENTITY_AUTHORITY_HOST" {
						return tt.host
					}
					return ""
				}})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got, err := c.Capability(context.Background())
			took := time.Since(start)
			if err != nil || got != tt.want {
				t.Fatalf("Capability = %v, %v; want %v", got, err, tt.want)
			}
			if took > 2500*time.Millisecond {
				t.Fatalf("the answer took %v", took)
			}
			start = time.Now()
			if again, _ := c.Capability(context.Background()); again != got || time.Since(start) > 50*time.Millisecond {
				t.Fatalf("the second answer (%v) was not remembered", again)
			}
		})
	}
}

func TestPoPUserAssigned(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	const resID = "/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app"
	tests := []struct {
		name, param, value string
		id                 managedidentity.ID
	}{
		{"client id", "client_id", "0d8a5c2e-7a41-4f0e-9f31-6c2b9d1e4a77", managedidentity.UserAssignedClientID("0d8a5c2e-7a41-4f0e-9f31-6c2b9d1e4a77")},
		{"object id", "object_id", "5e6f7a8b-1c2d-4e3f-8a9b-0c1d2e3f4a5b", managedidentity.UserAssignedObjectID("5e6f7a8b-1c2d-4e3f-8a9b-0c1d2e3f4a5b")},
		{"resource id", "mi_res_id", resID, managedidentity.UserAssignedResourceID(resID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := popClient(t, emu, func(cfg *managedidentity.Config) { cfg.ID = tt.id })
			tok, err := c.AcquireToken(context.Background(), popRequest(resource))
			if err != nil {
				t.Fatal(err)
			}
			var calls int
			for _, r := range emu.Requests("imds_platform_metadata", "imds_issue_credential") {
				if r.Query.Get(tt.param) == tt.value {
					calls++
				}
			}
			if calls != 2 {
				t.Fatalf("%d IMDSv2 calls named the identity by %s", calls, tt.param)
			}
			claims, err := emu.VerifyAccessToken(tok.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if want := emu.ManagedIdentityObjectID(tt.param, tt.value); claims["oid"] != want {
				t.Errorf("oid %v, want %v", claims["oid"], want)
			}
			if tok.BindingCertificate.Leaf.Subject.CommonName != claims["appid"] {
				t.Errorf("certificate CN %q, appid %v", tok.BindingCertificate.Leaf.Subject.CommonName, claims["appid"])
			}
		})
	}
}

func TestPoPClaimsAttestationAndCapabilities(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	var asked managedidentity.AttestationRequest
	c := popClient(t, emu, func(cfg *managedidentity.Config) {
		cfg.ClientCapabilities = []string{"cp1"}
		cfg.Attestation = func(_ context.Context, r managedidentity.AttestationRequest) (string, error) {
			asked = r
			return "attestation-for-test", nil
		}
	})
	ctx := context.Background()
	first, err := c.AcquireToken(ctx, popRequest(resource))
	if err != nil {
		t.Fatal(err)
	}
	if issued := emu.IssuedCredentials(); issued[0].AttestationToken != "attestation-for-test" ||
		asked.Key == nil || !strings.HasPrefix(asked.Endpoint, "https://") || asked.ClientID != emu.DefaultIdentityClientID() {
		t.Fatalf("attestation: sent %q, asked %+v", issued[0].AttestationToken, asked)
	}
	challenge := `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`
	tok, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource, MTLSPoP: true, Claims: challenge})
	if err != nil {
		t.Fatal(err)
	}
	if tok.FromCache || tok.AccessToken == first.AccessToken {
		t.Fatal("a claims challenge was served from the cache")
	}
	reqs := emu.Requests("token")
	sent := reqs[len(reqs)-1].Form.Get("claims")
	if !strings.Contains(sent, `"nbf"`) || !strings.Contains(sent, `"xms_cc":{"values":["cp1"]}`) {
		t.Fatalf("claims sent: %s", sent)
	}
	if claims, _ := emu.VerifyAccessToken(tok.AccessToken); claims["xms_cc"] == nil {
		t.Error("the token has no xms_cc")
	}
	if len(emu.IssuedCredentials()) != 1 {
		t.Error("a claims challenge minted a new certificate")
	}
}

// Unusable keys, a failed attestation and client claims fail before any
// certificate is asked for.
func TestPoPRefusedBeforeIssuance(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyOf := func(k crypto.Signer, err error) managedidentity.KeySource {
		return func(context.Context) (crypto.Signer, error) { return k, err }
	}
	tests := []struct {
		name      string
		configure func(*managedidentity.Config)
		req       managedidentity.TokenRequest
		code      entra.Code
	}{
		{"RSA 1024", func(cfg *managedidentity.Config) { cfg.KeySource = keyOf(small, nil) }, popRequest(resource), entra.CodeInvalidCredentialMaterial},
		{"ECDSA", func(cfg *managedidentity.Config) { cfg.KeySource = keyOf(ec, nil) }, popRequest(resource), entra.CodeInvalidCredentialMaterial},
		{"no key", func(cfg *managedidentity.Config) { cfg.KeySource = keyOf(nil, nil) }, popRequest(resource), entra.CodeInvalidCredentialMaterial},
		{"key source fails", func(cfg *managedidentity.Config) { cfg.KeySource = keyOf(nil, errors.New("tpm busy")) }, popRequest(resource), entra.CodeInvalidCredentialMaterial},
		{"attestation fails", func(cfg *managedidentity.Config) {
			cfg.Attestation = func(context.Context, managedidentity.AttestationRequest) (string, error) {
				return "", errors.New("no quote")
			}
		}, popRequest(resource), entra.CodeInvalidCredentialMaterial},
		{"client claims", nil, managedidentity.TokenRequest{Resource: resource, MTLSPoP: true, ClientClaims: `{"xms_az_nwperimid":{"essential":true}}`}, entra.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var configure []func(*managedidentity.Config)
			if tt.configure != nil {
				configure = append(configure, tt.configure)
			}
			c := popClient(t, emu, configure...)
			_, err := c.AcquireToken(context.Background(), tt.req)
			wantCode(t, err, tt.code)
		})
	}
	if n := len(emu.Requests("imds_issue_credential")); n != 0 {
		t.Fatalf("%d credential requests were sent", n)
	}
}

// Debug logs of a PoP acquisition, its recovery included, name the
// certificate by thumbprint and never show the token.
func TestPoPLogsNoSecrets(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	var buf bytes.Buffer
	var mu sync.Mutex
	c := popClient(t, emu, func(cfg *managedidentity.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	emu.InjectFault(entratest.Fault{Endpoint: "token", Status: 401, Body: []byte(`{"error":"invalid_client","error_codes":[1000612]}`)})
	tok, err := c.AcquireToken(context.Background(), popRequest(resource))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	logs := buf.String()
	if !strings.Contains(logs, "IMDSv2 certificate minted") || !strings.Contains(logs, x5tS256(tok.BindingCertificate.Leaf.Raw)) {
		t.Fatalf("logs lack the mint:\n%s", logs)
	}
	if strings.Contains(logs, tok.AccessToken) || strings.Contains(logs, "eyJ") {
		t.Fatalf("logs show a token:\n%s", logs)
	}
	if got := fmt.Sprint(tok, popRequest(resource)); strings.Contains(got, tok.AccessToken) || !strings.Contains(got, "MTLSPoP:true") {
		t.Fatalf("formatted: %s", got)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
