package authority

import (
	"strings"

	"github.com/entra-go/entra"
)

// cloud is one known Entra ID cloud.
type cloud struct {
	preferred string // host requests go to
	cacheEnv  string // host tokens are cached under
	regional  string // host a region name is prefixed to
	mtls      string // host for requests over mutual TLS
}

// lookupCloud finds the cloud a host (without port) is an alias of. A
// switch rather than a map keeps the table constant.
func lookupCloud(host string) (cloud, bool) {
	switch host {
	case "login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net":
		return cloud{
			preferred: "login.microsoftonline.com",
			cacheEnv:  "login.windows.net",
			regional:  "login.microsoft.com",
			mtls:      "mtlsauth.microsoft.com",
		}, true
	case "login.microsoftonline.us", "login.usgovcloudapi.net":
		return sovereign("login.microsoftonline.us"), true
	case "login.partner.microsoftonline.cn", "login.chinacloudapi.cn":
		return sovereign("login.partner.microsoftonline.cn"), true
	case "login.sovcloud-identity.fr", "login.sovcloud-identity.de", "login.sovcloud-identity.sg":
		return sovereign(host), true
	}
	return cloud{}, false
}

// sovereign is a cloud whose every host derives from its preferred one.
func sovereign(preferred string) cloud {
	return cloud{
		preferred: preferred,
		cacheEnv:  preferred,
		regional:  preferred,
		mtls:      "mtlsauth" + strings.TrimPrefix(preferred, "login"),
	}
}

// regionalHost is the host of region's endpoint for an Entra ID authority
// whose requests go to preferred (host[:port]).
func regionalHost(host, preferred, region string) string {
	if c, ok := lookupCloud(hostName(host)); ok {
		return region + "." + c.regional
	}
	return region + "." + preferred
}

// mtlsHost is the global host to send mutual-TLS requests to for an Entra
// ID authority on host (host[:port], as configured); a region, if any, is
// prefixed to it. Hosts without an mTLS endpoint fail with
// entra.CodeMTLSNotSupportedForEnvironment.
func mtlsHost(host string) (string, error) {
	name, port := splitHost(host)
	switch name {
	// These aliases of sovereign clouds have no mTLS endpoint of their own;
	// naming the host that has one is more useful than a generic refusal.
	case "login.usgovcloudapi.net":
		return "", mtlsRefused(name, "; use https://login.microsoftonline.us as the authority host")
	case "login.chinacloudapi.cn":
		return "", mtlsRefused(name, "; use https://login.partner.microsoftonline.cn as the authority host")
	}
	if c, ok := lookupCloud(name); ok {
		return c.mtls, nil // like the preferred host, without any port given
	}
	rest, ok := strings.CutPrefix(name, "login.")
	if !ok || rest == "" {
		return "", mtlsRefused(name, `; mutual TLS needs an Entra ID host that starts with "login."`)
	}
	return "mtlsauth." + rest + port, nil
}

func mtlsRefused(host, hint string) error {
	return entra.Errorf(entra.CodeMTLSNotSupportedForEnvironment, "%s has no mutual-TLS endpoint%s", host, hint)
}

// CacheEnvironmentOf returns the cache environment of an Entra ID host:
// the shared one for every alias of a known cloud (login.microsoftonline.com
// → login.windows.net), the host itself otherwise. Caches written by other
// libraries under any alias are read through it.
func CacheEnvironmentOf(host string) string {
	if c, ok := lookupCloud(strings.ToLower(host)); ok {
		return c.cacheEnv
	}
	return strings.ToLower(host)
}

// cloudHosts lists the host names (no port) of the cloud host belongs to:
// its aliases for a known cloud, else host and the preferred host that
// instance discovery named.
func cloudHosts(host, preferred string) []string {
	switch c, _ := lookupCloud(host); c.preferred {
	case "login.microsoftonline.com":
		return []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"}
	case "login.microsoftonline.us":
		return []string{"login.microsoftonline.us", "login.usgovcloudapi.net"}
	case "login.partner.microsoftonline.cn":
		return []string{"login.partner.microsoftonline.cn", "login.chinacloudapi.cn"}
	case "":
		if preferred != host {
			return []string{host, preferred}
		}
	}
	return []string{host}
}
