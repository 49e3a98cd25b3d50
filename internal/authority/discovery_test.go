package authority

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/entra-go/entra"
)

// fakeIdP is an HTTPS server answering instance discovery the way Entra ID
// does and OpenID Connect discovery the way a generic issuer does. Its
// client sends every *.example.com host to it and trusts its certificate.
type fakeIdP struct {
	srv       *httptest.Server
	instances atomic.Int32 // instance discovery requests
	oidc      atomic.Int32 // OpenID Connect discovery requests
}

// The fake's Entra ID instances: any of a group's aliases discovers the
// group's preferred network.
var fakeInstances = []struct {
	preferred string
	aliases   []string
}{
	{"login.example.com", []string{"login.example.com", "login-legacy.example.com"}},
	{"sts.example.com", []string{"sts.example.com"}},
}

func newFakeIdP(t *testing.T) *fakeIdP {
	f := &fakeIdP{}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	// Concurrent callers make the client dial spare connections that are
	// still in their handshake when the test closes the server: not news.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) client() *http.Client { return f.srv.Client() }

func (f *fakeIdP) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	host := r.Host
	switch {
	case r.Method != http.MethodGet:
		w.WriteHeader(http.StatusMethodNotAllowed)
	case r.URL.Path == "/common/discovery/instance":
		f.instances.Add(1)
		f.instanceDiscovery(w, r)
	case host == "idp.example.com" && r.URL.Path == "/realms/main/.well-known/openid-configuration":
		f.oidc.Add(1)
		iss := "https://idp.example.com/realms/main"
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                 iss,
			"token_endpoint":         iss + "/protocol/openid-connect/token",
			"authorization_endpoint": iss + "/protocol/openid-connect/auth",
			"jwks_uri":               iss + "/protocol/openid-connect/certs",
			"mtls_endpoint_aliases": map[string]string{
				"token_endpoint": "https://mtls.idp.example.com/realms/main/protocol/openid-connect/token",
			},
		})
	case host == "plain.example.com" && r.URL.Path == "/.well-known/openid-configuration":
		f.oidc.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":         "https://Plain.example.com/", // case and slash differ from the configured issuer
			"token_endpoint": "https://plain.example.com/token",
		})
	case host == "impostor.example.com" && r.URL.Path == "/.well-known/openid-configuration":
		f.oidc.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":         "https://idp.example.com/realms/main",
			"token_endpoint": "https://impostor.example.com/token",
		})
	case host == "insecure.example.com" && r.URL.Path == "/.well-known/openid-configuration":
		f.oidc.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":         "https://insecure.example.com",
			"token_endpoint": "http://insecure.example.com/token",
		})
	default:
		http.NotFound(w, r)
	}
}

// instanceDiscovery answers for the host named in authorization_endpoint,
// as Entra ID does, or refuses it with invalid_instance (AADSTS50049).
func (f *fakeIdP) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("api-version") != "1.1" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_codes": []int{900561}})
		return
	}
	ep, err := url.Parse(q.Get("authorization_endpoint"))
	if err != nil || ep.Scheme != "https" || !strings.HasSuffix(ep.Path, "/oauth2/v2.0/authorize") {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_codes": []int{90014}})
		return
	}
	for _, inst := range fakeInstances {
		for _, alias := range inst.aliases {
			if alias == ep.Host {
				writeJSON(w, http.StatusOK, map[string]any{
					"tenant_discovery_endpoint": "https://" + inst.preferred + "/common/v2.0/.well-known/openid-configuration",
					"api-version":               "1.1",
					"metadata": []map[string]any{{
						"preferred_network": inst.preferred,
						"preferred_cache":   inst.preferred,
						"aliases":           inst.aliases,
					}},
				})
				return
			}
		}
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"error":             "invalid_instance",
		"error_description": "AADSTS50049: Unknown or invalid instance.",
		"error_codes":       []int{50049},
		"timestamp":         "2026-05-01 10:00:00Z",
		"trace_id":          "5a5b6c6d-0000-4000-8000-000000000001",
		"correlation_id":    "c0ffee00-0000-4000-8000-000000000002",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func mustParse(t testing.TB, raw string, kind Kind) Authority {
	t.Helper()
	a, err := Parse(raw, kind)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustResolver(t testing.TB, cfg ResolverConfig) *Resolver {
	t.Helper()
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" } // tests never see the machine's environment
	}
	r, err := NewResolver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestInstanceDiscovery(t *testing.T) {
	t.Parallel()
	idp := newFakeIdP(t)
	tests := []struct {
		name          string
		raw           string
		disabled      bool
		wantToken     string
		wantAuthorize string
		wantRequests  int32
	}{
		{"alias of itself", "https://login.example.com/contoso.com", false,
			"https://login.example.com/contoso.com/oauth2/v2.0/token", "https://login.example.com/contoso.com/oauth2/v2.0/authorize", 1},
		{"alias goes to preferred network", "https://login-legacy.example.com/contoso.com", false,
			"https://login.example.com/contoso.com/oauth2/v2.0/token", "https://login.example.com/contoso.com/oauth2/v2.0/authorize", 1},
		{"disabled: host as is", "https://login-legacy.example.com/contoso.com", true,
			"https://login-legacy.example.com/contoso.com/oauth2/v2.0/token", "https://login-legacy.example.com/contoso.com/oauth2/v2.0/authorize", 0},
		{"disabled: unknown instance trusted", "https://nowhere.example.com/contoso.com", true,
			"https://nowhere.example.com/contoso.com/oauth2/v2.0/token", "https://nowhere.example.com/contoso.com/oauth2/v2.0/authorize", 0},
		{"known cloud: no request", "https://login.windows.net/contoso.com", false,
			"https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token", "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/authorize", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp.instances.Store(0)
			r := mustResolver(t, ResolverConfig{HTTPClient: idp.client(), DisableInstanceDiscovery: tt.disabled})
			e, err := r.Resolve(context.Background(), mustParse(t, tt.raw, KindAuto), ResolveOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if e.Token != tt.wantToken || e.Authorization != tt.wantAuthorize || e.Region != "" {
				t.Fatalf("got %+v; want token %s, authorization %s", e, tt.wantToken, tt.wantAuthorize)
			}
			if n := idp.instances.Load(); n != tt.wantRequests {
				t.Fatalf("%d instance discovery requests, want %d", n, tt.wantRequests)
			}
		})
	}
}

func TestInstanceDiscoveryRejected(t *testing.T) {
	t.Parallel()
	idp := newFakeIdP(t)
	r := mustResolver(t, ResolverConfig{HTTPClient: idp.client()})
	a := mustParse(t, "https://nowhere.example.com/contoso.com", KindAuto)
	for i := range 2 {
		_, err := r.Resolve(context.Background(), a, ResolveOptions{})
		var e *entra.Error
		if !errors.As(err, &e) {
			t.Fatalf("got %v, want *entra.Error", err)
		}
		if e.Code != entra.CodeInvalidAuthority || e.StatusCode != http.StatusBadRequest ||
			len(e.ErrorCodes) != 1 || e.ErrorCodes[0] != 50049 ||
			e.Description != "AADSTS50049: Unknown or invalid instance." ||
			e.CorrelationID != "c0ffee00-0000-4000-8000-000000000002" || e.TraceID == "" || e.Timestamp == "" {
			t.Fatalf("got %#v", e)
		}
		if !strings.Contains(e.Error(), "invalid_instance") || !strings.Contains(e.Error(), "nowhere.example.com") {
			t.Fatalf("message %q names neither the server's error nor the host", e.Error())
		}
		// A refusal is not remembered: each resolution asks again.
		if n := idp.instances.Load(); n != int32(i+1) {
			t.Fatalf("%d instance discovery requests after %d resolutions", n, i+1)
		}
	}
}

func TestInstanceDiscoveryCached(t *testing.T) {
	t.Parallel()
	idp := newFakeIdP(t)
	r := mustResolver(t, ResolverConfig{HTTPClient: idp.client()})
	a := mustParse(t, "https://login-legacy.example.com/contoso.com", KindAuto)
	// A first, lone resolution fills the cache; many concurrent ones,
	// tenant overrides included, then use it.
	if _, err := r.Resolve(context.Background(), a, ResolveOptions{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			b := a
			if i%2 == 1 {
				b, _ = a.WithTenant("fabrikam.com")
			}
			e, err := r.Resolve(context.Background(), b, ResolveOptions{})
			if err != nil || !strings.HasPrefix(e.Token, "https://login.example.com/"+b.Tenant+"/") {
				t.Errorf("got %+v, %v", e, err)
			}
		})
	}
	wg.Wait()
	if n := idp.instances.Load(); n != 1 {
		t.Fatalf("%d instance discovery requests for 21 resolutions, want 1", n)
	}
}

func TestInstanceDiscoveryConcurrentFirstCallers(t *testing.T) {
	t.Parallel()
	// Concurrent first callers may each ask; they must agree and not race.
	idp := newFakeIdP(t)
	r := mustResolver(t, ResolverConfig{HTTPClient: idp.client()})
	a := mustParse(t, "https://login-legacy.example.com/contoso.com", KindAuto)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			e, err := r.Resolve(context.Background(), a, ResolveOptions{})
			if err != nil || e.Token != "https://login.example.com/contoso.com/oauth2/v2.0/token" {
				t.Errorf("got %+v, %v", e, err)
			}
		})
	}
	wg.Wait()
	if n := idp.instances.Load(); n < 1 || n > 10 {
		t.Fatalf("%d instance discovery requests", n)
	}
}

func TestDiscoveryFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantCode entra.Code
		wantHTTP int
	}{
		{"server error without body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}, entra.CodeServerFailure, http.StatusServiceUnavailable},
		{"not found", func(w http.ResponseWriter, r *http.Request) {
			http.NotFound(w, r)
		}, entra.CodeInvalidAuthority, http.StatusNotFound},
		{"HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html>captive portal</html>"))
		}, entra.CodeInvalidResponse, 0},
		{"error in a 200 answer", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"error":"invalid_instance","error_codes":[50049]}`))
		}, entra.CodeInvalidAuthority, http.StatusOK},
		{"preferred network not a host", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"metadata":[{"preferred_network":"evil.example.com/x?","aliases":["login.example.com"]}]}`))
		}, entra.CodeInvalidResponse, 0},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"metadata":[],"pad":"`))
			w.Write([]byte(strings.Repeat("x", maxDiscoveryBody)))
			w.Write([]byte(`"}`))
		}, entra.CodeInvalidResponse, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(tt.handler)
			defer srv.Close()
			r := mustResolver(t, ResolverConfig{HTTPClient: srv.Client()})
			_, err := r.Resolve(context.Background(), mustParse(t, "https://login.example.com/contoso.com", KindAuto), ResolveOptions{})
			var e *entra.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode || e.StatusCode != tt.wantHTTP {
				t.Fatalf("got %v; want %s (HTTP %d)", err, tt.wantCode, tt.wantHTTP)
			}
		})
	}
}

func TestDiscoveryUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	client := srv.Client()
	srv.Close() // nothing listens any more
	r := mustResolver(t, ResolverConfig{HTTPClient: client})
	_, err := r.Resolve(context.Background(), mustParse(t, "https://login.example.com/contoso.com", KindAuto), ResolveOptions{})
	if entra.ErrorCode(err) != entra.CodeTransport {
		t.Fatalf("got %v, want transport_error", err)
	}
}

func TestDiscoveryCanceled(t *testing.T) {
	t.Parallel()
	// hanging is a server that never answers; arrived is closed when a
	// request reaches it.
	hanging := func(t *testing.T) (srv *httptest.Server, arrived chan struct{}) {
		arrived = make(chan struct{})
		var once sync.Once
		srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			once.Do(func() { close(arrived) })
			<-r.Context().Done()
		}))
		t.Cleanup(srv.Close)
		return srv, arrived
	}
	tests := []struct {
		name string
		raw  string
		kind Kind
	}{
		{"instance discovery", "https://login.example.com/contoso.com", KindAuto},
		{"OpenID Connect discovery", "https://idp.example.com/realms/main", KindOIDC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, arrived := hanging(t)
			r := mustResolver(t, ResolverConfig{HTTPClient: srv.Client()})
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-arrived; cancel() }()
			_, err := r.Resolve(ctx, mustParse(t, tt.raw, tt.kind), ResolveOptions{})
			if entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want canceled wrapping context.Canceled", err)
			}
		})
	}
	t.Run("already canceled", func(t *testing.T) {
		srv, arrived := hanging(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := mustResolver(t, ResolverConfig{HTTPClient: srv.Client()})
		_, err := r.Resolve(ctx, mustParse(t, "https://login.example.com/t", KindAuto), ResolveOptions{})
		if entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		select {
		case <-arrived:
			t.Fatal("a request was sent on a canceled context")
		default:
		}
	})
}

func TestOIDCDiscovery(t *testing.T) {
	t.Parallel()
	idp := newFakeIdP(t)
	r := mustResolver(t, ResolverConfig{HTTPClient: idp.client()})
	a := mustParse(t, "https://idp.example.com/realms/main/", KindOIDC)
	const iss = "https://idp.example.com/realms/main"
	tests := []struct {
		name string
		opts ResolveOptions
		want Endpoints
	}{
		{"bearer", ResolveOptions{}, Endpoints{
			Token: iss + "/protocol/openid-connect/token", Authorization: iss + "/protocol/openid-connect/auth", Issuer: iss}},
		{"mTLS uses the RFC 8705 alias", ResolveOptions{MTLS: true}, Endpoints{
			Token: "https://mtls.idp.example.com/realms/main/protocol/openid-connect/token", Authorization: iss + "/protocol/openid-connect/auth", Issuer: iss}},
		{"regional is ignored", ResolveOptions{Regional: true}, Endpoints{
			Token: iss + "/protocol/openid-connect/token", Authorization: iss + "/protocol/openid-connect/auth", Issuer: iss}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := r.Resolve(context.Background(), a, tt.opts)
			if err != nil || e != tt.want {
				t.Fatalf("got %+v, %v; want %+v", e, err, tt.want)
			}
		})
	}
	if n := idp.oidc.Load(); n != 1 {
		t.Fatalf("%d discovery requests for %d resolutions, want 1", n, len(tests))
	}

	// Without an mTLS alias, mTLS requests use the token endpoint.
	plain := mustParse(t, "https://plain.example.com", KindOIDC)
	e, err := r.Resolve(context.Background(), plain, ResolveOptions{MTLS: true})
	if err != nil || e.Token != "https://plain.example.com/token" || e.Authorization != "" {
		t.Fatalf("got %+v, %v", e, err)
	}
}

func TestOIDCDiscoveryRejected(t *testing.T) {
	t.Parallel()
	idp := newFakeIdP(t)
	tests := []struct {
		name, issuer, wantMsg string
	}{
		{"issuer mismatch", "https://impostor.example.com", "names issuer"},
		{"plain http token endpoint", "https://insecure.example.com", "no https token_endpoint"},
		{"no document", "https://idp.example.com/realms/other", "found no document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustResolver(t, ResolverConfig{HTTPClient: idp.client()})
			_, err := r.Resolve(context.Background(), mustParse(t, tt.issuer, KindOIDC), ResolveOptions{})
			if entra.ErrorCode(err) != entra.CodeInvalidAuthority || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("got %v; want invalid_authority containing %q", err, tt.wantMsg)
			}
		})
	}
}

func TestResolveStaticKinds(t *testing.T) {
	t.Parallel()
	// B2C and AD FS need no network and take no mTLS or regional rewrite.
	r := mustResolver(t, ResolverConfig{Region: "westus2"})
	tests := []struct {
		raw  string
		want Endpoints
	}{
		{"https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin", Endpoints{
			Token:         "https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/token",
			Authorization: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/authorize"}},
		{"https://adfs.contoso.com/adfs", Endpoints{
			Token:         "https://adfs.contoso.com/adfs/oauth2/token",
			Authorization: "https://adfs.contoso.com/adfs/oauth2/authorize",
			Issuer:        "https://adfs.contoso.com/adfs"}},
	}
	for _, tt := range tests {
		for _, opts := range []ResolveOptions{{}, {Regional: true}, {MTLS: true}, {Regional: true, MTLS: true}} {
			e, err := r.Resolve(context.Background(), mustParse(t, tt.raw, KindAuto), opts)
			if err != nil || e != tt.want {
				t.Errorf("%s %+v: got %+v, %v; want %+v", tt.raw, opts, e, err, tt.want)
			}
		}
	}
}

func TestResolveRejectsHandMadeAuthority(t *testing.T) {
	t.Parallel()
	r := mustResolver(t, ResolverConfig{})
	for _, a := range []Authority{
		{},
		{Kind: KindAAD, Host: "login.microsoftonline.com"},
		{Kind: KindAAD, Host: "evil.example.com/x?", Tenant: "t"},
		{Kind: KindB2C, Host: "c.b2clogin.com", Tenant: "c.onmicrosoft.com"},
		{Kind: KindOIDC, Host: "idp.example.com", Issuer: "http://idp.example.com"},
		{Kind: KindOIDC, Host: "idp.example.com", Issuer: "https://idp.example.com?x=1"},
		{Kind: KindOIDC, Host: "idp.example.com", Issuer: "https://other.example.com"},
		{Kind: KindOIDC + 1, Host: "idp.example.com", Tenant: "t"},
	} {
		if _, err := r.Resolve(context.Background(), a, ResolveOptions{}); entra.ErrorCode(err) != entra.CodeInvalidAuthority {
			t.Errorf("%+v: got %v, want invalid_authority", a, err)
		}
	}
}

func TestAADIssuer(t *testing.T) {
	t.Parallel()
	r := mustResolver(t, ResolverConfig{})
	const guid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	tests := map[string]string{
		"https://login.windows.net/" + guid:           "https://login.microsoftonline.com/" + guid + "/v2.0",
		"https://login.microsoftonline.us/" + guid:    "https://login.microsoftonline.us/" + guid + "/v2.0",
		"https://login.microsoftonline.com/common":    "", // the issuer names the tenant by ID
		"https://login.microsoftonline.com/contoso.x": "",
	}
	for raw, want := range tests {
		e, err := r.Resolve(context.Background(), mustParse(t, raw, KindAuto), ResolveOptions{})
		if err != nil || e.Issuer != want {
			t.Errorf("%s: issuer %q, %v; want %q", raw, e.Issuer, err, want)
		}
	}
}
