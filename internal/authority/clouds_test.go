package authority

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/entra-go/entra"
)

func TestMTLSEndpoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host       string
		wantGlobal string // mTLS token host without a region
		wantEastUS string // with region "eastus"
	}{
		// The public cloud's aliases share one mTLS host.
		{"login.microsoftonline.com", "mtlsauth.microsoft.com", "eastus.mtlsauth.microsoft.com"},
		{"login.windows.net", "mtlsauth.microsoft.com", "eastus.mtlsauth.microsoft.com"},
		{"login.microsoft.com", "mtlsauth.microsoft.com", "eastus.mtlsauth.microsoft.com"},
		{"sts.windows.net", "mtlsauth.microsoft.com", "eastus.mtlsauth.microsoft.com"},
		// Other known clouds: the preferred host with "login" → "mtlsauth".
		{"login.microsoftonline.us", "mtlsauth.microsoftonline.us", "eastus.mtlsauth.microsoftonline.us"},
		{"login.partner.microsoftonline.cn", "mtlsauth.partner.microsoftonline.cn", "eastus.mtlsauth.partner.microsoftonline.cn"},
		{"login.sovcloud-identity.fr", "mtlsauth.sovcloud-identity.fr", "eastus.mtlsauth.sovcloud-identity.fr"},
		{"login.sovcloud-identity.de", "mtlsauth.sovcloud-identity.de", "eastus.mtlsauth.sovcloud-identity.de"},
		{"login.sovcloud-identity.sg", "mtlsauth.sovcloud-identity.sg", "eastus.mtlsauth.sovcloud-identity.sg"},
		// Unknown login.X hosts (lower-cased by Parse), port kept.
		{"LOGIN.Contoso.Test", "mtlsauth.contoso.test", "eastus.mtlsauth.contoso.test"},
		{"login.contoso.test:8443", "mtlsauth.contoso.test:8443", "eastus.mtlsauth.contoso.test:8443"},
	}
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	global := mustResolver(t, ResolverConfig{DisableInstanceDiscovery: true})
	regional := mustResolver(t, ResolverConfig{DisableInstanceDiscovery: true, Region: "EastUS"})
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			a := mustParse(t, "https://"+tt.host+"/"+tenant, KindAuto)
			cases := []struct {
				r        *Resolver
				opts     ResolveOptions
				wantHost string
				region   string
			}{
				{global, ResolveOptions{MTLS: true}, tt.wantGlobal, ""},
				{global, ResolveOptions{MTLS: true, Regional: true}, tt.wantGlobal, ""}, // no region configured
				{regional, ResolveOptions{MTLS: true}, tt.wantGlobal, ""},               // flow not regional
				{regional, ResolveOptions{MTLS: true, Regional: true}, tt.wantEastUS, "eastus"},
			}
			for _, c := range cases {
				e, err := c.r.Resolve(context.Background(), a, c.opts)
				if err != nil {
					t.Fatalf("%+v: %v", c.opts, err)
				}
				want := "https://" + c.wantHost + "/" + tenant + "/oauth2/v2.0/token"
				if e.Token != want || e.Region != c.region {
					t.Errorf("%+v (region %q): got %s (region %q), want %s", c.opts, c.r.region, e.Token, e.Region, want)
				}
				// The authorization endpoint is a browser's: never mTLS.
				if strings.Contains(e.Authorization, "mtlsauth") {
					t.Errorf("authorization endpoint %s is an mTLS host", e.Authorization)
				}
			}
		})
	}
}

func TestMTLSRefused(t *testing.T) {
	t.Parallel()
	idp := newFakeIdP(t)
	tests := []struct {
		host    string
		wantMsg string
	}{
		{"login.usgovcloudapi.net", "use https://login.microsoftonline.us"},
		{"login.chinacloudapi.cn", "use https://login.partner.microsoftonline.cn"},
		{"sts.example.com", `starts with "login."`}, // a valid instance, but not a login. host
		{"localhost:8443", `starts with "login."`},
		{"127.0.0.1", `starts with "login."`},
		{"login", `starts with "login."`},
		{"mylogin.example.com", `starts with "login."`},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			a := mustParse(t, "https://"+tt.host+"/contoso.com", KindAuto)
			for _, region := range []string{"", "eastus"} {
				idp.instances.Store(0)
				r := mustResolver(t, ResolverConfig{HTTPClient: idp.client(), Region: region})
				_, err := r.Resolve(context.Background(), a, ResolveOptions{MTLS: true, Regional: true})
				var e *entra.Error
				if !errors.As(err, &e) || e.Code != entra.CodeMTLSNotSupportedForEnvironment ||
					!strings.Contains(e.Message, tt.wantMsg) || !strings.Contains(e.Message, hostName(tt.host)) {
					t.Fatalf("region %q: got %v; want %s naming the host and containing %q", region, err, entra.CodeMTLSNotSupportedForEnvironment, tt.wantMsg)
				}
				if n := idp.instances.Load(); n != 0 {
					t.Fatalf("a refused host still made %d discovery requests", n)
				}
				// Without mTLS the same authority is fine.
				plain := mustResolver(t, ResolverConfig{DisableInstanceDiscovery: true, Region: region})
				if _, err := plain.Resolve(context.Background(), a, ResolveOptions{Regional: true}); err != nil {
					t.Fatalf("refused without mTLS: %v", err)
				}
			}
		})
	}
}

func TestMTLSAfterInstanceDiscovery(t *testing.T) {
	t.Parallel()
	// An unknown login. host that passes instance discovery gets its mTLS
	// host; the authorization endpoint uses the preferred network.
	idp := newFakeIdP(t)
	r := mustResolver(t, ResolverConfig{HTTPClient: idp.client(), Region: "westus2"})
	a := mustParse(t, "https://login.example.com/contoso.com", KindAuto)
	e, err := r.Resolve(context.Background(), a, ResolveOptions{MTLS: true, Regional: true})
	if err != nil {
		t.Fatal(err)
	}
	want := Endpoints{
		Token:         "https://westus2.mtlsauth.example.com/contoso.com/oauth2/v2.0/token",
		Authorization: "https://login.example.com/contoso.com/oauth2/v2.0/authorize",
		Region:        "westus2",
	}
	if e != want || idp.instances.Load() != 1 {
		t.Fatalf("got %+v after %d discovery requests; want %+v after 1", e, idp.instances.Load(), want)
	}
}

func TestRegionalHosts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host, want string
	}{
		{"login.microsoftonline.com", "westus2.login.microsoft.com"},
		{"login.windows.net", "westus2.login.microsoft.com"},
		{"login.microsoft.com", "westus2.login.microsoft.com"},
		{"sts.windows.net", "westus2.login.microsoft.com"},
		{"login.microsoftonline.us", "westus2.login.microsoftonline.us"},
		{"login.usgovcloudapi.net", "westus2.login.microsoftonline.us"},
		{"login.partner.microsoftonline.cn", "westus2.login.partner.microsoftonline.cn"},
		{"login.chinacloudapi.cn", "westus2.login.partner.microsoftonline.cn"},
		{"login.sovcloud-identity.fr", "westus2.login.sovcloud-identity.fr"},
		{"login.sovcloud-identity.de", "westus2.login.sovcloud-identity.de"},
		{"login.sovcloud-identity.sg", "westus2.login.sovcloud-identity.sg"},
		{"login.contoso.test", "westus2.login.contoso.test"},
		{"localhost:8443", "westus2.localhost:8443"},
	}
	r := mustResolver(t, ResolverConfig{Region: "westus2", DisableInstanceDiscovery: true})
	for _, tt := range tests {
		a := mustParse(t, "https://"+tt.host+"/contoso.com", KindAuto)
		e, err := r.Resolve(context.Background(), a, ResolveOptions{Regional: true})
		if err != nil {
			t.Fatal(err)
		}
		if want := "https://" + tt.want + "/contoso.com/oauth2/v2.0/token"; e.Token != want || e.Region != "westus2" {
			t.Errorf("%s: got %s (region %q), want %s", tt.host, e.Token, e.Region, want)
		}
		if strings.Contains(e.Authorization, "westus2") {
			t.Errorf("%s: authorization endpoint %s is regional", tt.host, e.Authorization)
		}
	}
}

func TestRegionalAfterInstanceDiscovery(t *testing.T) {
	t.Parallel()
	// Unknown hosts put the region before the discovered preferred network.
	idp := newFakeIdP(t)
	r := mustResolver(t, ResolverConfig{HTTPClient: idp.client(), Region: "westus2"})
	e, err := r.Resolve(context.Background(), mustParse(t, "https://login-legacy.example.com/t", KindAuto), ResolveOptions{Regional: true})
	if err != nil || e.Token != "https://westus2.login.example.com/t/oauth2/v2.0/token" {
		t.Fatalf("got %+v, %v", e, err)
	}
}
