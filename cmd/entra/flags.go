package main

import (
	"fmt"
	"strings"

	"github.com/entra-go/entra/confidential"
)

// The flag groups the commands share: the application and its authority,
// its credential, the token request, the cache, the output.

const defaultScope = "https://graph.microsoft.com/.default"

// publicCloud is the authority host when neither --authority nor
// AZURE_AUTHORITY_HOST names one.
const publicCloud = "https://login.microsoftonline.com"

// authorityTypes maps --authority-type to the library's kinds.
var authorityTypes = map[string]confidential.AuthorityKind{
	"auto": confidential.AuthorityAuto,
	"aad":  confidential.AuthorityAAD,
	"b2c":  confidential.AuthorityB2C,
	"adfs": confidential.AuthorityADFS,
	"oidc": confidential.AuthorityOIDC,
}

// appFlags name the application and its authority.
type appFlags struct {
	authority, tenant, clientID string
	authorityType               *choiceFlag
	disableInstanceDiscovery    bool
}

// add defines the group; tenantOverride says whether --tenant beside
// --authority overrides the authority's tenant for the request.
func (a *appFlags) add(fs *flagSet, tenantOverride bool) {
	fs.group("application and authority", func() {
		fs.StringVar(&a.authority, "authority", "", "authority `URL`, e.g. https://login.microsoftonline.com/TENANT (default: from --tenant, or AZURE_AUTHORITY_HOST and AZURE_TENANT_ID)")
		tenant := "`TENANT` of the public cloud (or of AZURE_AUTHORITY_HOST) when --authority is not given"
		if tenantOverride {
			tenant += "; beside --authority, the tenant of this request"
		}
		fs.StringVar(&a.tenant, "tenant", "", tenant)
		a.authorityType = fs.choice("authority-type", "auto", "`KIND` of authority (auto detects B2C and AD FS from the URL)", "auto", "aad", "b2c", "adfs", "oidc")
		fs.StringVar(&a.clientID, "client-id", "", "application (client) `ID` (default: AZURE_CLIENT_ID)")
		fs.BoolVar(&a.disableInstanceDiscovery, "disable-instance-discovery", false, "trust an unknown authority host without instance discovery")
	})
}

// resolve returns the authority URL and the request's tenant override:
// --tenant alone is a tenant of the public cloud (or of
// AZURE_AUTHORITY_HOST); with --authority it overrides the tenant.
func (a *appFlags) resolve(getenv func(string) string) (authorityURL, requestTenant string) {
	if a.authority != "" || a.tenant == "" {
		return a.authority, a.tenant
	}
	host := strings.TrimRight(getenv("AZURE_AUTHORITY_HOST"), "/")
	if host == "" {
		host = publicCloud
	}
	return host + "/" + a.tenant, ""
}

func (a *appFlags) kind() confidential.AuthorityKind { return authorityTypes[a.authorityType.value] }

// credFlags are the client's credential.
type credFlags struct {
	secretEnv, secretFile      string
	cert, key, certPasswordEnv string
	federatedTokenFile         string
	miAssertion                string
	sendX5C, mtls              bool
}

func (c *credFlags) add(fs *flagSet) {
	fs.group("credential (one of; default: the AZURE_* environment)", func() {
		fs.StringVar(&c.secretEnv, "secret-env", "", "read the client secret from this environment variable (`NAME`)")
		fs.StringVar(&c.secretFile, "secret-file", "", "read the client secret from this `FILE`")
		fs.StringVar(&c.cert, "cert", "", "client certificate `FILE`: PEM (chain and key) or PKCS#12")
		fs.StringVar(&c.federatedTokenFile, "federated-token-file", "", "workload identity: send the token in this `FILE` (re-read as it rotates) as the client assertion")
		fs.StringVar(&c.miAssertion, "managed-identity-assertion", "", "managed identity as a federated credential (`IDENTITY`): system, client-id=ID, object-id=ID or resource-id=ID")
	})
	fs.group("certificate options", func() {
		fs.StringVar(&c.key, "key", "", "PEM private key `FILE`, when it is not in the --cert file")
		fs.StringVar(&c.certPasswordEnv, "cert-password-env", "", "read the PKCS#12 password from this environment variable (`NAME`)")
		fs.BoolVar(&c.sendX5C, "send-x5c", false, "send the certificate chain (x5c) in the client assertion")
		fs.BoolVar(&c.mtls, "mtls", false, "present the certificate over mutual TLS and use the mTLS token host (needs a certificate)")
	})
	fs.check(func() error {
		if given := c.given(); len(given) > 1 {
			return fmt.Errorf("give at most one of --secret-env, --secret-file, --cert, --federated-token-file and --managed-identity-assertion (got %s)", strings.Join(given, ", "))
		}
		if c.key != "" && c.cert == "" {
			return fmt.Errorf("--key needs --cert")
		}
		if c.certPasswordEnv != "" && c.cert == "" {
			return fmt.Errorf("--cert-password-env needs --cert")
		}
		if c.sendX5C && len(c.given()) == 1 && c.cert == "" {
			return fmt.Errorf("--send-x5c needs a certificate: %s has no chain to send", c.given()[0])
		}
		return nil
	})
}

// given are the credential flags given, in a fixed order.
func (c *credFlags) given() []string {
	var set []string
	for _, f := range []struct{ name, value string }{
		{"--secret-env", c.secretEnv}, {"--secret-file", c.secretFile}, {"--cert", c.cert},
		{"--federated-token-file", c.federatedTokenFile}, {"--managed-identity-assertion", c.miAssertion},
	} {
		if f.value != "" {
			set = append(set, f.name)
		}
	}
	return set
}

// requestFlags shape the token request.
type requestFlags struct {
	scopes, capabilities  listFlag
	region, claims        string
	clientClaims          string
	forceRefresh, mtlsPoP bool
}

// add defines the group for flow; --region and --mtls-pop only where they
// do something.
func (r *requestFlags) add(fs *flagSet, flow string, cred *credFlags) {
	fs.group("token request", func() {
		fs.Var(&r.scopes, "scope", "`SCOPE` to request (repeatable; default "+defaultScope+")")
		fs.StringVar(&r.claims, "claims", "", "claims challenge `JSON` received from a resource (bypasses the cache)")
		fs.StringVar(&r.clientClaims, "client-claims", "", "client-originated claims `JSON`, cached per value (preview; giving it opts in)")
		fs.Var(&r.capabilities, "capability", "client capability `NAME` to announce, e.g. cp1 (repeatable)")
		fs.BoolVar(&r.forceRefresh, "force-refresh", false, "ignore cached tokens")
		regionUsage := "Azure region `NAME` for a regional endpoint, or \"auto\""
		if flow != "client-credentials" {
			regionUsage += " (needs --mtls: user flows are regional only over mTLS)"
		}
		fs.StringVar(&r.region, "region", "", regionUsage)
		if flow == "client-credentials" {
			fs.BoolVar(&r.mtlsPoP, "mtls-pop", false, "get an mTLS proof-of-possession token bound to the certificate (needs a certificate)")
		}
	})
	fs.check(func() error {
		if flow != "client-credentials" && r.region != "" && !cred.mtls {
			return fmt.Errorf("--region needs --mtls on %s: only client credentials are regional otherwise", flow)
		}
		return nil
	})
}

// tokenRequest is the request the flags describe.
func (r *requestFlags) tokenRequest(tenant string) confidential.TokenRequest {
	req := confidential.TokenRequest{
		Scopes: r.scopes, Tenant: tenant, Claims: r.claims, ClientClaims: r.clientClaims,
		ForceRefresh: r.forceRefresh, MTLSPoP: r.mtlsPoP,
	}
	if len(req.Scopes) == 0 {
		req.Scopes = []string{defaultScope}
	}
	return req
}
