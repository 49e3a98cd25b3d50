// Package authority parses authority URLs and resolves them to endpoints:
// the known clouds and their aliases, the cache environment of each
// authority, instance discovery for unknown hosts, OpenID Connect discovery
// for generic issuers, and Azure regions.
package authority

import (
	"net/url"
	"strings"

	"github.com/entra-go/entra"
)

// Kind is the kind of authority.
type Kind uint8

const (
	// KindAuto detects the kind from the URL.
	KindAuto Kind = iota
	// KindAAD is Microsoft Entra ID in any cloud.
	KindAAD
	// KindB2C is Azure AD B2C: https://{name}.b2clogin.com/{name}.onmicrosoft.com/{policy}.
	KindB2C
	// KindADFS is AD FS: https://{host}/adfs.
	KindADFS
	// KindOIDC is any OpenID Connect issuer with a discovery document.
	KindOIDC
)

// Authority is a parsed authority URL.
type Authority struct {
	Kind Kind
	// Host is the lower-cased host[:port].
	Host string
	// Tenant is the lower-cased tenant: a GUID, a domain, "common",
	// "organizations" or "consumers" (AAD); "name.onmicrosoft.com" (B2C);
	// "adfs" (AD FS); "" (OIDC).
	Tenant string
	// Policy is the B2C user flow or custom policy.
	Policy string
	// Issuer is the OIDC issuer URL without a trailing slash.
	Issuer string
}

// cloud is one known Entra ID cloud.
type cloud struct {
	preferred string   // host requests go to
	cacheEnv  string   // host tokens are cached under
	aliases   []string // every host of the cloud
}

// knownClouds is the alias table of the reference (wire-behaviour §2).
var knownClouds = [...]cloud{
	{"login.microsoftonline.com", "login.windows.net", []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"}},
	{"login.microsoftonline.us", "login.microsoftonline.us", []string{"login.microsoftonline.us", "login.usgovcloudapi.net"}},
	{"login.partner.microsoftonline.cn", "login.partner.microsoftonline.cn", []string{"login.partner.microsoftonline.cn", "login.chinacloudapi.cn"}},
	{"login.sovcloud-identity.fr", "login.sovcloud-identity.fr", []string{"login.sovcloud-identity.fr"}},
	{"login.sovcloud-identity.de", "login.sovcloud-identity.de", []string{"login.sovcloud-identity.de"}},
	{"login.sovcloud-identity.sg", "login.sovcloud-identity.sg", []string{"login.sovcloud-identity.sg"}},
}

func knownCloud(host string) (cloud, bool) {
	for _, c := range knownClouds {
		for _, a := range c.aliases {
			if a == host {
				return c, true
			}
		}
	}
	return cloud{}, false
}

// isPublicCloud reports whether host is an alias of the public cloud.
func isPublicCloud(host string) bool {
	c, ok := knownCloud(host)
	return ok && c.preferred == knownClouds[0].preferred
}

// Parse parses an authority URL. kind KindAuto detects B2C (a
// *.b2clogin.com host), AD FS (a first path segment "adfs") and otherwise
// AAD; KindOIDC takes any https issuer URL.
func Parse(rawURL string, kind Kind) (Authority, error) {
	raw := strings.TrimSpace(rawURL)
	if raw == "" {
		return Authority{}, invalid("the authority is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Authority{}, invalid("the authority is not a URL")
	}
	switch {
	case u.Scheme != "https":
		return Authority{}, invalid("authority must use https")
	case u.Host == "" || u.Hostname() == "":
		return Authority{}, invalid("the authority has no host")
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return Authority{}, invalid("the authority must not carry a query, a fragment or user information")
	}
	host := strings.ToLower(u.Host)
	if kind == KindOIDC {
		return Authority{Kind: KindOIDC, Host: host, Issuer: "https://" + host + strings.TrimRight(u.EscapedPath(), "/")}, nil
	}
	segments := pathSegments(u.Path)
	if kind == KindAuto {
		switch {
		case strings.HasSuffix(u.Hostname(), ".b2clogin.com"):
			kind = KindB2C
		case len(segments) > 0 && strings.EqualFold(segments[0], "adfs"):
			kind = KindADFS
		default:
			kind = KindAAD
		}
	}
	switch kind {
	case KindADFS:
		return Authority{Kind: KindADFS, Host: host, Tenant: "adfs"}, nil
	case KindB2C:
		if len(segments) < 2 {
			return Authority{}, invalid("a B2C authority needs a tenant and a policy: https://{name}.b2clogin.com/{name}.onmicrosoft.com/{policy}")
		}
		tenant := strings.ToLower(segments[0])
		if !validTenant(tenant) || !validTenant(strings.ToLower(segments[1])) {
			return Authority{}, invalid("the B2C tenant or policy is malformed")
		}
		return Authority{Kind: KindB2C, Host: host, Tenant: tenant, Policy: strings.ToLower(segments[1])}, nil
	case KindAAD:
		if len(segments) == 0 {
			return Authority{}, invalid("authority has no tenant")
		}
		tenant := strings.ToLower(segments[0])
		if !validTenant(tenant) {
			return Authority{}, invalid("the authority's tenant is malformed")
		}
		return Authority{Kind: KindAAD, Host: host, Tenant: tenant}, nil
	}
	return Authority{}, invalid("unknown authority kind")
}

// pathSegments splits a path and drops what users paste after the tenant
// (a trailing "/v2.0" or "/oauth2/...").
func pathSegments(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s == "" {
			continue
		}
		if strings.EqualFold(s, "oauth2") || strings.EqualFold(s, "v2.0") {
			break
		}
		out = append(out, s)
	}
	return out
}

// validTenant accepts GUIDs, domain names, keywords and policy names:
// letters, digits, '.', '-' and '_'.
func validTenant(t string) bool {
	if t == "" || len(t) > 256 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// String is the canonical authority URL.
func (a Authority) String() string {
	switch a.Kind {
	case KindOIDC:
		return a.Issuer
	case KindADFS:
		return "https://" + a.Host + "/adfs"
	case KindB2C:
		return "https://" + a.Host + "/" + a.Tenant + "/" + a.Policy
	}
	return "https://" + a.Host + "/" + a.Tenant
}

// WithTenant returns the authority with another tenant (AAD only). It does
// not allocate when tenant is already lower-case.
func (a Authority) WithTenant(tenant string) (Authority, error) {
	if a.Kind != KindAAD {
		return Authority{}, entra.Errorf(entra.CodeInvalidRequest, "only Entra ID (AAD) authorities take a tenant override")
	}
	if !validTenant(tenant) { // one pass; lower-casing (which copies) only when needed
		t := strings.ToLower(tenant)
		if !validTenant(t) {
			return Authority{}, entra.Errorf(entra.CodeInvalidRequest, "the tenant override is malformed")
		}
		tenant = t
	}
	a.Tenant = tenant
	return a, nil
}

// CacheEnvironment is the host tokens of this authority are cached under:
// the same for every alias of a known cloud, so a token fetched through
// any alias, region or mTLS host is found again.
func (a Authority) CacheEnvironment() string {
	if a.Kind == KindAAD {
		if c, ok := knownCloud(hostname(a.Host)); ok {
			return c.cacheEnv
		}
	}
	return a.Host
}

// IsCommonOrOrganizations reports a multi-tenant AAD authority.
func (a Authority) IsCommonOrOrganizations() bool {
	return a.Kind == KindAAD && (a.Tenant == "common" || a.Tenant == "organizations")
}

func hostname(hostport string) string {
	if h, _, ok := strings.Cut(hostport, ":"); ok {
		return h
	}
	return hostport
}

func invalid(msg string) error { return entra.Errorf(entra.CodeInvalidAuthority, "%s", msg) }
