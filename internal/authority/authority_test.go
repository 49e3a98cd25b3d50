package authority

import (
	"errors"
	"strings"
	"testing"

	"github.com/entra-go/entra"
)

func TestParse(t *testing.T) {
	t.Parallel()
	const guid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	aad := func(host, tenant string) Authority { return Authority{Kind: KindAAD, Host: host, Tenant: tenant} }
	tests := []struct {
		name    string
		raw     string
		kind    Kind
		want    Authority
		wantErr string // substring of the invalid_authority message
	}{
		// Entra ID (AAD), detected.
		{name: "domain tenant", raw: "https://login.microsoftonline.com/Contoso.onmicrosoft.com", want: aad("login.microsoftonline.com", "contoso.onmicrosoft.com")},
		{name: "GUID tenant", raw: "https://login.microsoftonline.com/" + strings.ToUpper(guid), want: aad("login.microsoftonline.com", guid)},
		{name: "common", raw: "https://login.microsoftonline.com/common", want: aad("login.microsoftonline.com", "common")},
		{name: "organizations", raw: "https://login.microsoftonline.us/organizations", want: aad("login.microsoftonline.us", "organizations")},
		{name: "consumers", raw: "https://login.microsoftonline.com/consumers", want: aad("login.microsoftonline.com", "consumers")},
		{name: "trailing slash", raw: "https://login.microsoftonline.com/common/", want: aad("login.microsoftonline.com", "common")},
		{name: "pasted /v2.0", raw: "https://login.microsoftonline.com/" + guid + "/v2.0/", want: aad("login.microsoftonline.com", guid)},
		{name: "pasted token endpoint", raw: "https://login.microsoftonline.com/common/oauth2/v2.0/token", want: aad("login.microsoftonline.com", "common")},
		{name: "pasted authorize endpoint", raw: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize", want: aad("login.microsoftonline.com", "common")},
		{name: "upper-case scheme and host", raw: "HTTPS://LOGIN.Windows.NET/Common", want: aad("login.windows.net", "common")},
		{name: "surrounding space", raw: "  https://login.microsoftonline.com/common\n", want: aad("login.microsoftonline.com", "common")},
		{name: "unknown host with port", raw: "https://localhost:8443/consumers", want: aad("localhost:8443", "consumers")},
		{name: "empty port", raw: "https://login.contoso.test:/t", want: aad("login.contoso.test", "t")},
		{name: "IPv6 host", raw: "https://[::1]:8443/t", want: aad("[::1]:8443", "t")},
		{name: "escaped tenant", raw: "https://login.microsoftonline.com/contoso%2Eonmicrosoft.com", want: aad("login.microsoftonline.com", "contoso.onmicrosoft.com")},
		{name: "explicit AAD on a b2clogin host", raw: "https://contoso.b2clogin.com/contoso.onmicrosoft.com", kind: KindAAD, want: aad("contoso.b2clogin.com", "contoso.onmicrosoft.com")},

		// B2C.
		{name: "B2C", raw: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_SignUpSignIn", want: Authority{Kind: KindB2C, Host: "contoso.b2clogin.com", Tenant: "contoso.onmicrosoft.com", Policy: "b2c_1_signupsignin"}},
		{name: "B2C pasted endpoint", raw: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1a_signin/oauth2/v2.0/token", want: Authority{Kind: KindB2C, Host: "contoso.b2clogin.com", Tenant: "contoso.onmicrosoft.com", Policy: "b2c_1a_signin"}},
		{name: "B2C custom domain", raw: "https://login.contoso.com/" + guid + "/B2C_1_signin", kind: KindB2C, want: Authority{Kind: KindB2C, Host: "login.contoso.com", Tenant: guid, Policy: "b2c_1_signin"}},

		// AD FS.
		{name: "AD FS", raw: "https://adfs.contoso.com/adfs/", want: Authority{Kind: KindADFS, Host: "adfs.contoso.com", Tenant: "adfs"}},
		{name: "AD FS upper-case", raw: "https://ADFS.contoso.com/ADFS", want: Authority{Kind: KindADFS, Host: "adfs.contoso.com", Tenant: "adfs"}},
		{name: "AD FS pasted endpoint", raw: "https://adfs.contoso.com/adfs/oauth2/token", want: Authority{Kind: KindADFS, Host: "adfs.contoso.com", Tenant: "adfs"}},
		{name: "AD FS explicit without path", raw: "https://sts.contoso.com", kind: KindADFS, want: Authority{Kind: KindADFS, Host: "sts.contoso.com", Tenant: "adfs"}},

		// OIDC.
		{name: "OIDC with path", raw: "https://idp.example.com/realms/Main/", kind: KindOIDC, want: Authority{Kind: KindOIDC, Host: "idp.example.com", Issuer: "https://idp.example.com/realms/Main"}},
		{name: "OIDC bare host", raw: "https://IDP.example.com", kind: KindOIDC, want: Authority{Kind: KindOIDC, Host: "idp.example.com", Issuer: "https://idp.example.com"}},
		{name: "OIDC pasted discovery URL", raw: "https://idp.example.com/t/.well-known/openid-configuration", kind: KindOIDC, want: Authority{Kind: KindOIDC, Host: "idp.example.com", Issuer: "https://idp.example.com/t"}},
		{name: "OIDC keeps escaping", raw: "https://idp.example.com/my%20realm", kind: KindOIDC, want: Authority{Kind: KindOIDC, Host: "idp.example.com", Issuer: "https://idp.example.com/my%20realm"}},

		// Errors.
		{name: "http", raw: "http://login.microsoftonline.com/common", wantErr: "authority must use https"},
		{name: "http OIDC", raw: "http://idp.example.com", kind: KindOIDC, wantErr: "authority must use https"},
		{name: "no scheme", raw: "login.microsoftonline.com/common", wantErr: "authority must use https"},
		{name: "other scheme", raw: "ftp://login.microsoftonline.com/common", wantErr: "authority must use https"},
		{name: "empty", raw: "", wantErr: "empty"},
		{name: "blank", raw: " \t", wantErr: "empty"},
		{name: "not a URL", raw: "https://login.microsoftonline.com:port/t", wantErr: "not a valid URL"},
		{name: "no host", raw: "https:///common", wantErr: "no host"},
		{name: "opaque", raw: "https:login.microsoftonline.com/common", wantErr: "no host"},
		{name: "port only", raw: "https://:443/common", wantErr: "no host"},
		{name: "bad host", raw: "https://log!n.example.com/common", wantErr: "host"},
		{name: "empty label", raw: "https://login..example.com/common", wantErr: "host"},
		{name: "no tenant", raw: "https://login.microsoftonline.com", wantErr: "authority has no tenant"},
		{name: "no tenant, slash", raw: "https://login.microsoftonline.com/", wantErr: "authority has no tenant"},
		{name: "only a pasted suffix", raw: "https://login.microsoftonline.com/v2.0", wantErr: "authority has no tenant"},
		{name: "path after tenant", raw: "https://login.microsoftonline.com/common/extra", wantErr: "path after the tenant"},
		{name: "query", raw: "https://login.microsoftonline.com/common?x=1", wantErr: "query"},
		{name: "empty query", raw: "https://login.microsoftonline.com/common?", wantErr: "query"},
		{name: "fragment", raw: "https://login.microsoftonline.com/common#f", wantErr: "fragment"},
		{name: "OIDC query", raw: "https://idp.example.com/?x", kind: KindOIDC, wantErr: "query"},
		{name: "user info", raw: "https://user:pass@login.microsoftonline.com/common", wantErr: "user information"},
		{name: "tenant with space", raw: "https://login.microsoftonline.com/ten%20ant", wantErr: "tenant"},
		{name: "tenant with slash", raw: "https://login.microsoftonline.com/a%2Fb", wantErr: "tenant"},
		{name: "tenant with bad escape", raw: "https://login.microsoftonline.com/a%zz", wantErr: "not a valid URL"},
		{name: "tenant with underscore", raw: "https://login.microsoftonline.com/a_b", wantErr: "tenant"},
		{name: "tenant with empty label", raw: "https://login.microsoftonline.com/contoso..com", wantErr: "tenant"},
		{name: "tenant with leading hyphen", raw: "https://login.microsoftonline.com/-contoso", wantErr: "tenant"},
		{name: "B2C without policy", raw: "https://contoso.b2clogin.com/contoso.onmicrosoft.com", wantErr: "needs a tenant and a policy"},
		{name: "B2C with extra path", raw: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/p/x", wantErr: "needs a tenant and a policy"},
		{name: "B2C bad policy", raw: "https://contoso.b2clogin.com/contoso.onmicrosoft.com/p%21", wantErr: "policy"},
		{name: "B2C bad tenant", raw: "https://contoso.b2clogin.com/con%20toso/p", wantErr: "tenant"},
		{name: "AD FS extra path", raw: "https://adfs.contoso.com/adfs/ls", wantErr: "https://{host}/adfs"},
		{name: "AD FS explicit, wrong path", raw: "https://sts.contoso.com/other", kind: KindADFS, wantErr: "https://{host}/adfs"},
		{name: "unknown kind", raw: "https://login.microsoftonline.com/common", kind: KindOIDC + 1, wantErr: "unknown authority kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.raw, tt.kind)
			if tt.wantErr != "" {
				var e *entra.Error
				if !errors.As(err, &e) || e.Code != entra.CodeInvalidAuthority || !strings.Contains(e.Message, tt.wantErr) {
					t.Fatalf("Parse(%q) = %+v, %v; want invalid_authority containing %q", tt.raw, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		kind Kind
		want string
	}{
		{"https://Login.MicrosoftOnline.com/Contoso.onmicrosoft.com/", KindAuto, "https://login.microsoftonline.com/contoso.onmicrosoft.com"},
		{"https://login.microsoftonline.com/common/oauth2/v2.0/token", KindAuto, "https://login.microsoftonline.com/common"},
		{"https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_x", KindAuto, "https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_x"},
		{"https://adfs.contoso.com/adfs/", KindAuto, "https://adfs.contoso.com/adfs"},
		{"https://idp.example.com/realms/x/", KindOIDC, "https://idp.example.com/realms/x"},
	}
	for _, tt := range tests {
		a, err := Parse(tt.raw, tt.kind)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	for k, want := range map[Kind]string{KindAuto: "auto", KindAAD: "aad", KindB2C: "b2c", KindADFS: "adfs", KindOIDC: "oidc", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

func TestCacheEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw  string
		kind Kind
		want string
	}{
		{"https://login.microsoftonline.com/t", KindAuto, "login.windows.net"},
		{"https://login.windows.net/t", KindAuto, "login.windows.net"},
		{"https://login.microsoft.com/t", KindAuto, "login.windows.net"},
		{"https://sts.windows.net/t", KindAuto, "login.windows.net"},
		{"https://login.microsoftonline.com:443/t", KindAuto, "login.windows.net"},
		{"https://login.microsoftonline.us/t", KindAuto, "login.microsoftonline.us"},
		{"https://login.usgovcloudapi.net/t", KindAuto, "login.microsoftonline.us"},
		{"https://login.partner.microsoftonline.cn/t", KindAuto, "login.partner.microsoftonline.cn"},
		{"https://login.chinacloudapi.cn/t", KindAuto, "login.partner.microsoftonline.cn"},
		{"https://login.sovcloud-identity.fr/t", KindAuto, "login.sovcloud-identity.fr"},
		{"https://login.sovcloud-identity.de/t", KindAuto, "login.sovcloud-identity.de"},
		{"https://login.sovcloud-identity.sg/t", KindAuto, "login.sovcloud-identity.sg"},
		{"https://login.contoso.test/t", KindAuto, "login.contoso.test"},
		{"https://localhost:8443/t", KindAuto, "localhost:8443"},
		{"https://contoso.b2clogin.com/contoso.onmicrosoft.com/p", KindAuto, "contoso.b2clogin.com"},
		{"https://adfs.contoso.com/adfs", KindAuto, "adfs.contoso.com"},
		{"https://idp.example.com:8443/realms/x", KindOIDC, "idp.example.com:8443"},
		// Only Entra ID authorities share a cloud's cache environment.
		{"https://login.microsoftonline.com/adfs", KindADFS, "login.microsoftonline.com"},
		{"https://login.microsoftonline.com/oidc", KindOIDC, "login.microsoftonline.com"},
	}
	for _, tt := range tests {
		a, err := Parse(tt.raw, tt.kind)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.CacheEnvironment(); got != tt.want {
			t.Errorf("%s: cache environment %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestWithTenant(t *testing.T) {
	t.Parallel()
	common, _ := Parse("https://login.microsoftonline.com/common", KindAuto)
	b2c, _ := Parse("https://contoso.b2clogin.com/contoso.onmicrosoft.com/p", KindAuto)
	adfs, _ := Parse("https://adfs.contoso.com/adfs", KindAuto)
	oidc, _ := Parse("https://idp.example.com", KindOIDC)
	tests := []struct {
		name   string
		a      Authority
		tenant string
		want   string // the new tenant; "" when an error is expected
	}{
		{"domain", common, "Fabrikam.onmicrosoft.com", "fabrikam.onmicrosoft.com"},
		{"GUID", common, "72F988BF-86F1-41AF-91AB-2D7CD011DB47", "72f988bf-86f1-41af-91ab-2d7cd011db47"},
		{"keyword", common, "organizations", "organizations"},
		{"empty", common, "", ""},
		{"space", common, "fab rikam", ""},
		{"slash", common, "a/b", ""},
		{"query", common, "a?b", ""},
		{"B2C", b2c, "x", ""},
		{"AD FS", adfs, "x", ""},
		{"OIDC", oidc, "x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.a.WithTenant(tt.tenant)
			if tt.want == "" {
				if entra.ErrorCode(err) != entra.CodeInvalidArgument {
					t.Fatalf("got %+v, %v; want invalid_request", got, err)
				}
				return
			}
			if err != nil || got.Tenant != tt.want || got.Host != tt.a.Host || got.Kind != KindAAD {
				t.Fatalf("got %+v, %v; want tenant %q", got, err, tt.want)
			}
		})
	}
	if common.Tenant != "common" {
		t.Fatal("WithTenant changed its receiver")
	}
}

func TestWithTenantDoesNotAllocate(t *testing.T) {
	a, _ := Parse("https://login.microsoftonline.com/common", KindAuto)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := a.WithTenant("fabrikam.onmicrosoft.com"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("WithTenant with a lower-case tenant allocates %v times", allocs)
	}
}

func TestIsCommonOrOrganizations(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"https://login.microsoftonline.com/common":        true,
		"https://login.microsoftonline.com/Organizations": true,
		"https://login.microsoftonline.com/consumers":     false,
		"https://login.microsoftonline.com/contoso.com":   false,
		"https://adfs.contoso.com/adfs":                   false,
	}
	for raw, want := range tests {
		a, err := Parse(raw, KindAuto)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.IsCommonOrOrganizations(); got != want {
			t.Errorf("%s: IsCommonOrOrganizations() = %v, want %v", raw, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		"https://login.microsoftonline.com/common",
		"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token",
		"https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_x",
		"https://adfs.contoso.com/adfs/",
		"https://idp.example.com/realms/x/.well-known/openid-configuration",
		"https://[::1]:8443/t",
		"http://login.microsoftonline.com/common",
		"https://login.microsoftonline.com/a%2Fb?x#y",
	}
	for _, s := range seeds {
		for k := range KindOIDC + 2 {
			f.Add(s, uint8(k))
		}
	}
	f.Fuzz(func(t *testing.T, raw string, kind uint8) {
		a, err := Parse(raw, Kind(kind))
		if err != nil {
			var e *entra.Error
			if !errors.As(err, &e) || e.Code != entra.CodeInvalidAuthority {
				t.Fatalf("Parse(%q) error %v is not an invalid_authority *entra.Error", raw, err)
			}
			return
		}
		if a.Kind == KindAuto || a.Kind > KindOIDC || !validHost(a.Host) {
			t.Fatalf("Parse(%q) = %+v", raw, a)
		}
		if err := a.check(); err != nil {
			t.Fatalf("Parse(%q) = %+v, which Resolve rejects: %v", raw, a, err)
		}
		// The canonical form parses back to the same authority.
		again, err := Parse(a.String(), a.Kind)
		if err != nil || again != a {
			t.Fatalf("Parse(%q) = %+v, but its String %q parses to %+v, %v", raw, a, a.String(), again, err)
		}
		_ = a.CacheEnvironment()
		if _, err := a.WithTenant(raw); err != nil && entra.ErrorCode(err) != entra.CodeInvalidArgument {
			t.Fatalf("WithTenant(%q): %v", raw, err)
		}
	})
}
