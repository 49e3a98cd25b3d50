package authority

import (
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/cloud"
	"github.com/entra-go/entra/internal/errs"
)

// regionalHost is the host of region's endpoint for an Entra ID authority
// whose requests go to preferred (host[:port]).
func regionalHost(host, preferred, region string) string {
	if c, ok := cloud.Lookup(hostName(host)); ok {
		return region + "." + c.Regional
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
	if c, ok := cloud.Lookup(name); ok {
		return c.MTLS, nil // like the preferred host, without any port given
	}
	rest, ok := strings.CutPrefix(name, "login.")
	if !ok || rest == "" {
		return "", mtlsRefused(name, `; mutual TLS needs an Entra ID host that starts with "login."`)
	}
	return "mtlsauth." + rest + port, nil
}

func mtlsRefused(host, hint string) error {
	return errs.New(entra.CodeMTLSNotSupportedForEnvironment, "%s has no mutual-TLS endpoint%s", host, hint)
}

// CacheEnvironmentOf returns the cache environment of an Entra ID host.
func CacheEnvironmentOf(host string) string { return cloud.CacheEnvironment(host) }

// cloudHosts lists the host names (no port) of the cloud host belongs to:
// its aliases for a known cloud, else host and the preferred host that
// instance discovery named.
func cloudHosts(host, preferred string) []string {
	if c, ok := cloud.Lookup(host); ok {
		return c.Aliases
	}
	if preferred != host {
		return []string{host, preferred}
	}
	return []string{host}
}
