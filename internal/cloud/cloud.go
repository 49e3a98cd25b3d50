// Package cloud is what the library knows of Entra ID's clouds: each
// cloud's hosts and aliases, where requests go, where tokens are cached.
// It is data, shared by the authority resolver and the token cache.
package cloud

import "strings"

// Cloud is one known Entra ID cloud.
type Cloud struct {
	// Preferred is the host requests go to.
	Preferred string
	// CacheEnv is the host tokens are cached under.
	CacheEnv string
	// Regional is the host a region name is prefixed to.
	Regional string
	// MTLS is the host for requests over mutual TLS.
	MTLS string
	// Aliases are the hosts (lower-case, no port) that name the cloud.
	Aliases []string
}

// Lookup finds the cloud a host (lower-case, without port) is an alias of.
// A switch rather than a map keeps the table constant.
func Lookup(host string) (Cloud, bool) {
	switch host {
	case "login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net":
		return Cloud{
			Preferred: "login.microsoftonline.com",
			CacheEnv:  "login.windows.net",
			Regional:  "login.microsoft.com",
			MTLS:      "mtlsauth.microsoft.com",
			Aliases:   []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"},
		}, true
	case "login.microsoftonline.us", "login.usgovcloudapi.net":
		return sovereign("login.microsoftonline.us", "login.usgovcloudapi.net"), true
	case "login.partner.microsoftonline.cn", "login.chinacloudapi.cn":
		return sovereign("login.partner.microsoftonline.cn", "login.chinacloudapi.cn"), true
	case "login.sovcloud-identity.fr", "login.sovcloud-identity.de", "login.sovcloud-identity.sg":
		return sovereign(host), true
	}
	return Cloud{}, false
}

// sovereign is a cloud whose every host derives from its preferred one.
func sovereign(preferred string, aliases ...string) Cloud {
	return Cloud{
		Preferred: preferred,
		CacheEnv:  preferred,
		Regional:  preferred,
		MTLS:      "mtlsauth" + strings.TrimPrefix(preferred, "login"),
		Aliases:   append([]string{preferred}, aliases...),
	}
}

// CacheEnvironment returns the cache environment of an Entra ID host: the
// shared one for every alias of a known cloud (login.microsoftonline.com →
// login.windows.net), the host itself otherwise. Caches written by other
// libraries under any alias are read through it.
func CacheEnvironment(host string) string {
	host = strings.ToLower(host)
	if c, ok := Lookup(host); ok {
		return c.CacheEnv
	}
	return host
}
