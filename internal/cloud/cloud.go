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
	// ExchangeAudience is the audience of the tokens a managed identity
	// presents as a federated credential to the cloud's token service.
	ExchangeAudience string
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

			ExchangeAudience: publicExchangeAudience,
		}, true
	case "login.microsoftonline.us", "login.usgovcloudapi.net":
		return sovereign("api://AzureADTokenExchangeUSGov", "login.microsoftonline.us", "login.usgovcloudapi.net"), true
	case "login.partner.microsoftonline.cn", "login.chinacloudapi.cn":
		return sovereign("api://AzureADTokenExchangeChina", "login.partner.microsoftonline.cn", "login.chinacloudapi.cn"), true
	case "login.sovcloud-identity.fr":
		return sovereign("api://AzureADTokenExchangeFrance", host), true
	case "login.sovcloud-identity.de":
		return sovereign("api://AzureADTokenExchangeGermany", host), true
	case "login.sovcloud-identity.sg":
		return sovereign(publicExchangeAudience, host), true // no audience of its own is documented
	}
	return Cloud{}, false
}

const publicExchangeAudience = "api://AzureADTokenExchange"

// sovereign is a cloud whose every host derives from its preferred one,
// the first of hosts.
func sovereign(exchange string, hosts ...string) Cloud {
	preferred := hosts[0]
	return Cloud{
		Preferred: preferred,
		CacheEnv:  preferred,
		Regional:  preferred,
		MTLS:      "mtlsauth" + strings.TrimPrefix(preferred, "login"),
		Aliases:   hosts,

		ExchangeAudience: exchange,
	}
}

// ExchangeAudience is the token-exchange audience for the token service
// at host, a cloud's host or a regional or mTLS host of it (a leading
// region or mtlsauth label is looked through); the public cloud's for a
// host of no known cloud.
func ExchangeAudience(host string) string {
	host = strings.ToLower(host)
	for _, h := range []string{host, afterFirstLabel(host)} {
		if c, ok := Lookup(strings.Replace(h, "mtlsauth.", "login.", 1)); ok {
			return c.ExchangeAudience
		}
	}
	return publicExchangeAudience
}

func afterFirstLabel(host string) string {
	if _, rest, ok := strings.Cut(host, "."); ok {
		return rest
	}
	return host
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
