package authority

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/entra-go/entra"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw     string
		kind    Kind
		want    Authority
		wantErr string
	}{
		{raw: "https://login.microsoftonline.com/Contoso.onmicrosoft.com", want: Authority{Kind: KindAAD, Host: "login.microsoftonline.com", Tenant: "contoso.onmicrosoft.com"}},
		{raw: "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0/", want: Authority{Kind: KindAAD, Host: "login.microsoftonline.com", Tenant: "11111111-2222-3333-4444-555555555555"}},
		{raw: "https://login.microsoftonline.com/common/oauth2/v2.0/token", want: Authority{Kind: KindAAD, Host: "login.microsoftonline.com", Tenant: "common"}},
		{raw: "https://login.microsoftonline.us/organizations", want: Authority{Kind: KindAAD, Host: "login.microsoftonline.us", Tenant: "organizations"}},
		{raw: "https://localhost:8443/consumers", want: Authority{Kind: KindAAD, Host: "localhost:8443", Tenant: "consumers"}},
		{raw: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_SignIn", want: Authority{Kind: KindB2C, Host: "contoso.b2clogin.com", Tenant: "contoso.onmicrosoft.com", Policy: "b2c_1_signin"}},
		{raw: "https://adfs.contoso.com/adfs/", want: Authority{Kind: KindADFS, Host: "adfs.contoso.com", Tenant: "adfs"}},
		{raw: "https://idp.example.com/realms/main/", kind: KindOIDC, want: Authority{Kind: KindOIDC, Host: "idp.example.com", Issuer: "https://idp.example.com/realms/main"}},
		{raw: "http://login.microsoftonline.com/t", wantErr: "must use https"},
		{raw: "https://login.microsoftonline.com/", wantErr: "has no tenant"},
		{raw: "https://login.microsoftonline.com", wantErr: "has no tenant"},
		{raw: "", wantErr: "empty"},
		{raw: "https:///t", wantErr: "no host"},
		{raw: "https://login.microsoftonline.com/t?x=1", wantErr: "query"},
		{raw: "https://login.microsoftonline.com/ten%20ant", wantErr: "malformed"},
		{raw: "https://contoso.b2clogin.com/contoso.onmicrosoft.com", wantErr: "needs a tenant and a policy"},
		{raw: "::not a url", wantErr: "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := Parse(tt.raw, tt.kind)
			if tt.wantErr != "" {
				if entra.ErrorCode(err) != entra.CodeInvalidAuthority || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want invalid_authority containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestCacheEnvironment(t *testing.T) {
	tests := map[string]string{
		"https://login.microsoftonline.com/t":              "login.windows.net",
		"https://login.windows.net/t":                      "login.windows.net",
		"https://login.microsoft.com/t":                    "login.windows.net",
		"https://sts.windows.net/t":                        "login.windows.net",
		"https://login.usgovcloudapi.net/t":                "login.microsoftonline.us",
		"https://login.microsoftonline.us/t":               "login.microsoftonline.us",
		"https://login.chinacloudapi.cn/t":                 "login.partner.microsoftonline.cn",
		"https://login.sovcloud-identity.fr/t":             "login.sovcloud-identity.fr",
		"https://login.contoso.test/t":                     "login.contoso.test",
		"https://contoso.b2clogin.com/c.onmicrosoft.com/p": "contoso.b2clogin.com",
	}
	for raw, want := range tests {
		a, err := Parse(raw, KindAuto)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.CacheEnvironment(); got != want {
			t.Errorf("%s: cache environment %q, want %q", raw, got, want)
		}
	}
}

func TestWithTenant(t *testing.T) {
	a, _ := Parse("https://login.microsoftonline.com/common", KindAuto)
	b, err := a.WithTenant("Fabrikam.onmicrosoft.com")
	if err != nil || b.Tenant != "fabrikam.onmicrosoft.com" || a.Tenant != "common" {
		t.Fatalf("%+v %v", b, err)
	}
	if !a.IsCommonOrOrganizations() || b.IsCommonOrOrganizations() {
		t.Fatal("IsCommonOrOrganizations")
	}
	if _, err := a.WithTenant("a/b"); entra.ErrorCode(err) != entra.CodeInvalidRequest {
		t.Fatalf("malformed override: %v", err)
	}
	adfs, _ := Parse("https://adfs.contoso.com/adfs", KindAuto)
	if _, err := adfs.WithTenant("x"); entra.ErrorCode(err) != entra.CodeInvalidRequest {
		t.Fatalf("ADFS override: %v", err)
	}
}

func resolve(t *testing.T, r *Resolver, raw string, opts ResolveOptions) Endpoints {
	t.Helper()
	a, err := Parse(raw, KindAuto)
	if err != nil {
		t.Fatal(err)
	}
	e, err := r.Resolve(context.Background(), a, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// imds is a real HTTP server answering compute metadata, counting calls.
func imds(t *testing.T, location string, status int) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Metadata") != "true" || r.URL.Path != "/metadata/instance/compute" || r.URL.Query().Get("api-version") != "2021-02-01" {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(`{"location":"` + location + `","name":"vm"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestRegions(t *testing.T) {
	okIMDS, _ := imds(t, "northeurope", 200)
	badIMDS, _ := imds(t, "", 500)
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	tests := []struct {
		name     string
		cfg      ResolverConfig
		raw      string
		regional bool
		wantTok  string
		wantReg  string
	}{
		{name: "none", raw: "https://login.microsoftonline.com/t", regional: true, wantTok: "https://login.microsoftonline.com/t/oauth2/v2.0/token"},
		{name: "explicit", cfg: ResolverConfig{Region: "EastUS"}, raw: "https://login.windows.net/t", regional: true, wantTok: "https://eastus.login.microsoft.com/t/oauth2/v2.0/token", wantReg: "eastus"},
		{name: "explicit but not regional flow", cfg: ResolverConfig{Region: "eastus"}, raw: "https://login.microsoftonline.com/t", wantTok: "https://login.microsoftonline.com/t/oauth2/v2.0/token"},
		{name: "sovereign", cfg: ResolverConfig{Region: "usgovvirginia"}, raw: "https://login.microsoftonline.us/t", regional: true, wantTok: "https://usgovvirginia.login.microsoftonline.us/t/oauth2/v2.0/token", wantReg: "usgovvirginia"},
		{name: "forced", cfg: ResolverConfig{Getenv: env(map[string]string{"MSAL_FORCE_REGION": "westus"})}, raw: "https://login.microsoftonline.com/t", regional: true, wantTok: "https://westus.login.microsoft.com/t/oauth2/v2.0/token", wantReg: "westus"},
		{name: "explicit beats forced", cfg: ResolverConfig{Region: "eastus", Getenv: env(map[string]string{"MSAL_FORCE_REGION": "westus"})}, raw: "https://login.microsoftonline.com/t", regional: true, wantTok: "https://eastus.login.microsoft.com/t/oauth2/v2.0/token", wantReg: "eastus"},
		{name: "invalid forced ignored", cfg: ResolverConfig{Getenv: env(map[string]string{"MSAL_FORCE_REGION": "west us!"})}, raw: "https://login.microsoftonline.com/t", regional: true, wantTok: "https://login.microsoftonline.com/t/oauth2/v2.0/token"},
		{name: "auto from REGION_NAME", cfg: ResolverConfig{Region: "auto", IMDSEndpoint: okIMDS.URL, Getenv: env(map[string]string{"REGION_NAME": "West US 2"})}, raw: "https://login.microsoftonline.com/t", regional: true, wantTok: "https://westus2.login.microsoft.com/t/oauth2/v2.0/token", wantReg: "westus2"},
		{name: "auto from IMDS", cfg: ResolverConfig{Region: "auto", IMDSEndpoint: okIMDS.URL, Getenv: env(nil)}, raw: "https://login.microsoftonline.com/t", regional: true, wantTok: "https://northeurope.login.microsoft.com/t/oauth2/v2.0/token", wantReg: "northeurope"},
		{name: "auto, IMDS failing", cfg: ResolverConfig{Region: "auto", IMDSEndpoint: badIMDS.URL, Getenv: env(nil)}, raw: "https://login.microsoftonline.com/t", regional: true, wantTok: "https://login.microsoftonline.com/t/oauth2/v2.0/token"},
		{name: "B2C ignores region", cfg: ResolverConfig{Region: "eastus"}, raw: "https://c.b2clogin.com/c.onmicrosoft.com/p", regional: true, wantTok: "https://c.b2clogin.com/c.onmicrosoft.com/p/oauth2/v2.0/token"},
		{name: "ADFS", raw: "https://adfs.contoso.com/adfs", wantTok: "https://adfs.contoso.com/adfs/oauth2/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.Getenv == nil {
				tt.cfg.Getenv = env(nil)
			}
			r, err := NewResolver(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			e := resolve(t, r, tt.raw, ResolveOptions{Regional: tt.regional})
			if e.Token != tt.wantTok || e.Region != tt.wantReg {
				t.Fatalf("got %s (region %q), want %s (region %q)", e.Token, e.Region, tt.wantTok, tt.wantReg)
			}
		})
	}
}

func TestInvalidRegion(t *testing.T) {
	if _, err := NewResolver(ResolverConfig{Region: "east us"}); entra.ErrorCode(err) != entra.CodeInvalidRegion {
		t.Fatalf("got %v", err)
	}
}

func TestRegionDetectedOnceForConcurrentCallers(t *testing.T) {
	srv, calls := imds(t, "eastus", 200)
	r, _ := NewResolver(ResolverConfig{Region: "auto", IMDSEndpoint: srv.URL, Getenv: func(string) string { return "" }})
	a, _ := Parse("https://login.microsoftonline.com/t", KindAuto)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := r.Resolve(context.Background(), a, ResolveOptions{Regional: true})
			if err != nil || e.Region != "eastus" {
				t.Errorf("%+v %v", e, err)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d IMDS calls, want 1", n)
	}
}

func TestInstanceDiscovery(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		host := r.Host
		if r.URL.Path != "/common/discovery/instance" || r.URL.Query().Get("api-version") != "1.1" {
			w.WriteHeader(404)
			return
		}
		if !strings.Contains(r.URL.Query().Get("authorization_endpoint"), "/good/") {
			w.WriteHeader(400)
			w.Write([]byte(`{"error":"invalid_instance","error_description":"AADSTS50049: Unknown or invalid instance.","error_codes":[50049],"correlation_id":"c1"}`))
			return
		}
		w.Write([]byte(`{"tenant_discovery_endpoint":"x","metadata":[{"preferred_network":"` + host + `","preferred_cache":"` + host + `","aliases":["` + host + `"]}]}`))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	r, _ := NewResolver(ResolverConfig{HTTPClient: srv.Client()})
	for range 3 {
		e := resolve(t, r, "https://"+host+"/good", ResolveOptions{})
		if e.Token != "https://"+host+"/good/oauth2/v2.0/token" {
			t.Fatalf("token endpoint %s", e.Token)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d discovery calls for three resolutions, want 1", n)
	}
	a, _ := Parse("https://"+host+"/bad", KindAuto)
	fresh, _ := NewResolver(ResolverConfig{HTTPClient: srv.Client()})
	_, err := fresh.Resolve(context.Background(), a, ResolveOptions{})
	var e *entra.Error
	if !errors.As(err, &e) || e.Code != entra.CodeInvalidAuthority || e.StatusCode != 400 || e.ErrorCodes[0] != 50049 || e.CorrelationID != "c1" {
		t.Fatalf("got %+v", err)
	}
	// Disabled: no request at all.
	calls.Store(0)
	r2, _ := NewResolver(ResolverConfig{HTTPClient: srv.Client(), DisableInstanceDiscovery: true})
	resolve(t, r2, "https://"+host+"/bad", ResolveOptions{})
	if calls.Load() != 0 {
		t.Fatal("disabled instance discovery still called the server")
	}
}

func TestOIDCDiscovery(t *testing.T) {
	var srv *httptest.Server
	issuer := func() string { return srv.URL + "/oidc" }
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oidc/.well-known/openid-configuration":
			w.Write([]byte(`{"issuer":"` + issuer() + `","token_endpoint":"` + issuer() + `/token","authorization_endpoint":"` + issuer() + `/authorize","mtls_endpoint_aliases":{"token_endpoint":"https://mtls.example/token"}}`))
		case "/other/.well-known/openid-configuration":
			w.Write([]byte(`{"issuer":"https://evil.example","token_endpoint":"https://evil.example/token"}`))
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	r, _ := NewResolver(ResolverConfig{HTTPClient: srv.Client()})
	a, _ := Parse(issuer(), KindOIDC)
	e, err := r.Resolve(context.Background(), a, ResolveOptions{})
	if err != nil || e.Token != issuer()+"/token" || e.Authorization != issuer()+"/authorize" {
		t.Fatalf("%+v %v", e, err)
	}
	b, _ := Parse(srv.URL+"/other", KindOIDC)
	if _, err := r.Resolve(context.Background(), b, ResolveOptions{}); entra.ErrorCode(err) != entra.CodeInvalidAuthority {
		t.Fatalf("issuer mismatch: %v", err)
	}
}

func TestDiscoveryCancelled(t *testing.T) {
	r, _ := NewResolver(ResolverConfig{})
	a, _ := Parse("https://login.contoso.test/t", KindAuto)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.Resolve(ctx, a, ResolveOptions{})
	if entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("https://login.microsoftonline.com/common", uint8(0))
	f.Add("https://c.b2clogin.com/c/p", uint8(0))
	f.Add("https://x/adfs", uint8(4))
	f.Fuzz(func(t *testing.T, raw string, kind uint8) {
		a, err := Parse(raw, Kind(kind%5))
		if err != nil {
			if entra.ErrorCode(err) == "" {
				t.Fatalf("error %v is not an *entra.Error", err)
			}
			return
		}
		if a.Host == "" {
			t.Fatalf("parsed %q without a host", raw)
		}
		_ = a.String()
		_ = a.CacheEnvironment()
	})
}

func ExampleParse() {
	a, err := Parse("https://login.windows.net/Contoso.onmicrosoft.com", KindAuto)
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Tenant, a.CacheEnvironment())
	// Output: contoso.onmicrosoft.com login.windows.net
}
