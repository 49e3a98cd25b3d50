// Package authority parses authority URLs and turns them into the endpoints
// a token request goes to.
//
// It knows the Microsoft Entra ID clouds and their aliases, the cache
// environment each authority's tokens are stored under, instance discovery
// for unknown Entra ID hosts, OpenID Connect discovery for generic issuers,
// Azure regions and the mutual-TLS hosts.
//
// Parse is pure; a Resolver makes the network calls and remembers their
// results.
package authority

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/cloud"
	"github.com/entra-go/entra/internal/errs"
)

// Kind is the kind of authority.
type Kind uint8

const (
	// KindAuto detects the kind from the URL.
	KindAuto Kind = iota
	// KindAAD is Microsoft Entra ID (Azure AD) in any cloud.
	KindAAD
	// KindB2C is Azure AD B2C: https://{name}.b2clogin.com/{name}.onmicrosoft.com/{policy}.
	KindB2C
	// KindADFS is Active Directory Federation Services: https://{host}/adfs.
	KindADFS
	// KindOIDC is any OpenID Connect issuer that publishes a discovery document.
	KindOIDC
)

// String returns "auto", "aad", "b2c", "adfs" or "oidc".
func (k Kind) String() string {
	switch k {
	case KindAuto:
		return "auto"
	case KindAAD:
		return "aad"
	case KindB2C:
		return "b2c"
	case KindADFS:
		return "adfs"
	case KindOIDC:
		return "oidc"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Authority is a parsed authority URL. Build it with Parse; the zero value
// is not a usable authority.
type Authority struct {
	// Kind is never KindAuto after Parse.
	Kind Kind
	// Host is the lower-cased host[:port] as given.
	Host string
	// Tenant is lower-cased: for AAD a tenant ID (GUID), a domain, "common",
	// "organizations" or "consumers"; for B2C "name.onmicrosoft.com"; for
	// AD FS "adfs"; for OIDC "".
	Tenant string
	// Policy is the B2C user flow or custom policy, lower-cased.
	Policy string
	// Issuer is the OIDC issuer URL without a trailing slash.
	Issuer string
}

// Parse parses an authority URL.
//
// The URL must use https and must not carry a query, a fragment or user
// information. A trailing slash and a trailing "/v2.0" or "/oauth2/..."
// (as pasted from an endpoint URL) are ignored.
//
// With KindAuto, a host ending in ".b2clogin.com" is B2C, a first path
// segment "adfs" is AD FS, and anything else is Entra ID (AAD), known
// cloud or not. KindOIDC takes any https issuer URL, path included.
//
// Errors are *entra.Error with code entra.CodeInvalidAuthority.
func Parse(rawURL string, kind Kind) (Authority, error) {
	if kind > KindOIDC {
		return Authority{}, invalidf("unknown authority kind %d", kind)
	}
	raw := strings.TrimSpace(rawURL)
	if raw == "" {
		return Authority{}, invalidf("authority is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Authority{}, invalidf("authority is not a valid URL")
	}
	switch {
	case u.Scheme != "https":
		// url.Parse lower-cases the scheme, so "HTTPS://" passes.
		return Authority{}, invalidf("authority must use https")
	case u.User != nil:
		return Authority{}, invalidf("authority must not carry user information")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return Authority{}, invalidf("authority must not carry a query or a fragment")
	case u.Opaque != "" || u.Hostname() == "":
		return Authority{}, invalidf("authority has no host")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Host), ":") // "host:" has an empty port
	if !validHost(host) {
		return Authority{}, invalidf("authority host %q is malformed", host)
	}

	if kind == KindOIDC {
		// The issuer is compared with the discovery document's, so keep the
		// path's escaping as given. A pasted discovery URL is tolerated.
		p := strings.TrimRight(u.EscapedPath(), "/")
		p = strings.TrimSuffix(p, "/.well-known/openid-configuration")
		return Authority{Kind: KindOIDC, Host: host, Issuer: "https://" + host + strings.TrimRight(p, "/")}, nil
	}

	segs, err := pathSegments(u.EscapedPath())
	if err != nil {
		return Authority{}, err
	}
	if kind == KindAuto {
		switch {
		case strings.HasSuffix(hostName(host), ".b2clogin.com"):
			kind = KindB2C
		case len(segs) > 0 && strings.EqualFold(segs[0], "adfs"):
			kind = KindADFS
		default:
			kind = KindAAD
		}
	}

	switch kind {
	case KindADFS:
		if len(segs) > 1 || len(segs) == 1 && !strings.EqualFold(segs[0], "adfs") {
			return Authority{}, invalidf("an AD FS authority has the form https://{host}/adfs")
		}
		return Authority{Kind: KindADFS, Host: host, Tenant: "adfs"}, nil
	case KindB2C:
		if len(segs) != 2 {
			return Authority{}, invalidf("a B2C authority needs a tenant and a policy: https://{name}.b2clogin.com/{name}.onmicrosoft.com/{policy}")
		}
		tenant, policy := strings.ToLower(segs[0]), strings.ToLower(segs[1])
		if !validTenant(tenant) {
			return Authority{}, invalidf("authority tenant %q is malformed", tenant)
		}
		if !validPolicy(policy) {
			return Authority{}, invalidf("B2C policy %q is malformed", policy)
		}
		return Authority{Kind: KindB2C, Host: host, Tenant: tenant, Policy: policy}, nil
	default: // KindAAD
		if len(segs) == 0 {
			return Authority{}, invalidf(`authority has no tenant: use https://{host}/{tenant}, where tenant is a tenant ID, a domain, "common", "organizations" or "consumers"`)
		}
		if len(segs) > 1 {
			return Authority{}, invalidf("authority has a path after the tenant; use https://{host}/{tenant}")
		}
		tenant := strings.ToLower(segs[0])
		if !validTenant(tenant) {
			return Authority{}, invalidf("authority tenant %q is malformed", tenant)
		}
		return Authority{Kind: KindAAD, Host: host, Tenant: tenant}, nil
	}
}

// pathSegments returns the unescaped, non-empty segments of an escaped
// path, up to the first "v2.0" or "oauth2" segment: what follows those is
// an endpoint path pasted along with the authority.
func pathSegments(escaped string) ([]string, error) {
	var out []string
	for s := range strings.SplitSeq(escaped, "/") {
		if s == "" {
			continue
		}
		seg, err := url.PathUnescape(s)
		if err != nil {
			return nil, invalidf("authority path is not validly escaped")
		}
		if strings.EqualFold(seg, "v2.0") || strings.EqualFold(seg, "oauth2") {
			break
		}
		out = append(out, seg)
	}
	return out, nil
}

// String returns the canonical authority URL, for example
// https://login.microsoftonline.com/contoso.onmicrosoft.com.
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

// WithTenant returns a copy of the authority with another tenant, for a
// per-request tenant override. Only Entra ID (AAD) authorities take one;
// others fail with entra.CodeInvalidArgument, as does a malformed tenant.
func (a Authority) WithTenant(tenant string) (Authority, error) {
	if a.Kind != KindAAD {
		return Authority{}, errs.New(entra.CodeInvalidArgument, "only Entra ID (AAD) authorities take a tenant override, not %s", a.Kind)
	}
	// ToLower returns its argument unchanged, without allocating, when it is
	// already lower-case ASCII: the common case on a hot path.
	t := strings.ToLower(tenant)
	if !validTenant(t) {
		return Authority{}, errs.New(entra.CodeInvalidArgument, `tenant override %q is malformed: use a tenant ID, a domain, "common", "organizations" or "consumers"`, tenant)
	}
	a.Tenant = t
	return a, nil
}

// CacheEnvironment returns the host the authority's tokens are cached
// under. Every alias of a known cloud shares one, so a token fetched through
// any alias, a regional host or an mTLS host is found again. Unknown Entra
// ID hosts, B2C and AD FS use their host; OIDC uses the issuer's host.
func (a Authority) CacheEnvironment() string {
	if a.Kind == KindAAD {
		if c, ok := cloud.Lookup(hostName(a.Host)); ok {
			return c.CacheEnv
		}
	}
	return a.Host
}

// TenantIsID reports whether the tenant is named by its id (a GUID)
// rather than by a domain or an alias such as common.
func (a Authority) TenantIsID() bool { return isGUID(a.Tenant) }

// IsCommonOrOrganizations reports whether a is a multi-tenant Entra ID
// authority ("common" or "organizations"), which some requests cannot use.
func (a Authority) IsCommonOrOrganizations() bool {
	return a.Kind == KindAAD && (a.Tenant == "common" || a.Tenant == "organizations")
}

// validTenant accepts lower-case tenant names: a GUID, a DNS-like domain
// ("contoso.onmicrosoft.com") or a keyword ("common", ...), which are all
// dot-separated labels of letters, digits and inner hyphens.
func validTenant(t string) bool {
	if t == "" || len(t) > 253 {
		return false
	}
	label := 0 // length of the current label
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
			label++
		case c == '-':
			if label == 0 || i+1 == len(t) || t[i+1] == '.' {
				return false
			}
			label++
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		default:
			return false
		}
		if label > 63 {
			return false
		}
	}
	return label > 0
}

// validPolicy accepts B2C policy names such as "b2c_1_signupsignin" or
// "b2c_1a_signup_signin".
func validPolicy(p string) bool {
	if p == "" || len(p) > 128 {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// validHost accepts a lower-cased host[:port]: a DNS name (letters,
// digits, '-', '_', non-empty dot-separated labels) or a bracketed IPv6
// literal, with an optional numeric port. It keeps what is later pasted
// into URLs and host names free of anything but host characters.
func validHost(hostport string) bool {
	name, port := splitHost(hostport)
	if port != "" && !allDigits(port[1:]) {
		return false
	}
	if strings.HasPrefix(name, "[") {
		if len(name) < 3 || name[len(name)-1] != ']' {
			return false
		}
		for i := 1; i < len(name)-1; i++ {
			c := name[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || c == ':' || c == '.') {
				return false
			}
		}
		return true
	}
	if name == "" || len(name) > 253 {
		return false
	}
	prev := byte('.')
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_':
		case c == '.':
			if prev == '.' {
				return false
			}
		default:
			return false
		}
		prev = c
	}
	return prev != '.'
}

// splitHost splits a host[:port] into its name and ":port" ("" if none).
// A bracketed IPv6 literal keeps its brackets.
func splitHost(hostport string) (name, port string) {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 || strings.IndexByte(hostport[i:], ']') >= 0 {
		return hostport, ""
	}
	return hostport[:i], hostport[i:]
}

// hostName is the host without its port.
func hostName(hostport string) string {
	name, _ := splitHost(hostport)
	return name
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func invalidf(format string, args ...any) *entra.Error {
	return errs.New(entra.CodeInvalidAuthority, format, args...)
}
