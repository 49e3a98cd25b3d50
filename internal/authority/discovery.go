package authority

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/cloud"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/oauth"
	"github.com/entra-go/entra/internal/transport"
)

// maxDiscoveryBody caps what is read from a discovery or metadata answer;
// real documents are a few kilobytes.
const maxDiscoveryBody = 1 << 20

// instanceMetadata is an instance discovery answer.
type instanceMetadata struct {
	TenantDiscoveryEndpoint string `json:"tenant_discovery_endpoint"`
	Metadata                []struct {
		PreferredNetwork string   `json:"preferred_network"`
		PreferredCache   string   `json:"preferred_cache"`
		Aliases          []string `json:"aliases"`
	} `json:"metadata"`
}

// oidcConfig is the part of an OpenID Connect discovery document used here.
type oidcConfig struct {
	Issuer                string `json:"issuer"`
	TokenEndpoint         string `json:"token_endpoint"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	MTLSEndpointAliases   struct {
		TokenEndpoint string `json:"token_endpoint"`
	} `json:"mtls_endpoint_aliases"`
}

// preferredHost returns the host Entra ID requests for a go to: the
// cloud's preferred host for a known cloud, else what instance discovery
// says (remembered per host), else the host itself.
func (r *Resolver) preferredHost(ctx context.Context, a Authority) (string, error) {
	if c, ok := cloud.Lookup(hostName(a.Host)); ok {
		return c.Preferred, nil
	}
	if r.disableDiscovery {
		return a.Host, nil
	}
	r.mu.Lock()
	host, ok := r.instances[a.Host]
	r.mu.Unlock()
	if ok {
		return host, nil
	}
	// Concurrent first callers may each ask; they get the same answer, and
	// a second request is cheaper than holding every caller on one.
	host, err := r.discoverInstance(ctx, a)
	if err != nil {
		return "", err // not remembered: the next call tries again
	}
	r.mu.Lock()
	r.instances[a.Host] = host
	r.mu.Unlock()
	return host, nil
}

// discoverInstance asks an unknown host whether it is an Entra ID instance
// and which of its aliases requests should go to.
func (r *Resolver) discoverInstance(ctx context.Context, a Authority) (string, error) {
	q := url.Values{
		"api-version":            {"1.1"},
		"authorization_endpoint": {"https://" + a.Host + "/" + a.Tenant + "/oauth2/v2.0/authorize"},
	}
	var doc instanceMetadata
	if err := getJSON(ctx, r.http, transport.ServicePolicy, "https://"+a.Host+"/common/discovery/instance?"+q.Encode(), nil, "instance discovery", &doc); err != nil {
		return "", err
	}
	for _, m := range doc.Metadata {
		for _, alias := range m.Aliases {
			if !strings.EqualFold(alias, a.Host) {
				continue
			}
			preferred := strings.ToLower(m.PreferredNetwork)
			if preferred == "" {
				return a.Host, nil
			}
			// The answer becomes part of every token URL: accept only a host.
			if !validHost(preferred) {
				return "", errs.New(entra.CodeInvalidResponse, "instance discovery at %s named %q as preferred network, which is not a host", a.Host, m.PreferredNetwork)
			}
			return preferred, nil
		}
	}
	return a.Host, nil
}

// discoverOIDC fetches and checks the issuer's discovery document,
// remembering it per issuer.
func (r *Resolver) discoverOIDC(ctx context.Context, a Authority) (oidcConfig, error) {
	r.mu.Lock()
	doc, ok := r.oidc[a.Issuer]
	r.mu.Unlock()
	if ok {
		return doc, nil
	}
	if err := getJSON(ctx, r.http, transport.ServicePolicy, a.Issuer+"/.well-known/openid-configuration", nil, "OpenID Connect discovery", &doc); err != nil {
		return oidcConfig{}, err
	}
	// OpenID Connect Discovery §4.3: a document for another issuer must not
	// be used, or that issuer could mint tokens accepted as this one's.
	if !sameIssuer(doc.Issuer, a.Issuer) {
		return oidcConfig{}, invalidf("the discovery document of %s names issuer %q instead", a.Issuer, doc.Issuer)
	}
	if !httpsURL(doc.TokenEndpoint) {
		return oidcConfig{}, invalidf("the discovery document of %s has no https token_endpoint", a.Issuer)
	}
	if alias := doc.MTLSEndpointAliases.TokenEndpoint; alias != "" && !httpsURL(alias) {
		return oidcConfig{}, invalidf("the discovery document of %s has an mtls_endpoint_aliases.token_endpoint that is not an https URL", a.Issuer)
	}
	if !httpsURL(doc.AuthorizationEndpoint) {
		doc.AuthorizationEndpoint = "" // not needed by every flow; those that need it fail on ""
	}
	r.mu.Lock()
	r.oidc[a.Issuer] = doc
	r.mu.Unlock()
	return doc, nil
}

// sameIssuer compares a document's issuer with a parsed one, as Parse
// would normalise it: host case and a trailing slash do not matter.
func sameIssuer(docIssuer, issuer string) bool {
	u, err := url.Parse(docIssuer)
	if err != nil || u.Scheme != "https" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return false
	}
	return "https://"+strings.ToLower(u.Host)+strings.TrimRight(u.EscapedPath(), "/") == issuer
}

func httpsURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil && u.Fragment == ""
}

// getJSON GETs a JSON document into v through the library's one HTTP
// path (redirects refused, body capped, one retry on 5xx). An OAuth error
// answer becomes entra.CodeInvalidAuthority carrying the server's fields.
func getJSON(ctx context.Context, tc *transport.Client, policy entra.RetryPolicy, rawURL string, header http.Header, what string, v any) error {
	resp, err := tc.Get(ctx, rawURL, header, "", policy)
	if err != nil {
		return err
	}
	host := hostOf(rawURL)
	body := resp.Body
	if e := oauth.ServerError(resp); e.Code != entra.CodeServerFailure {
		// The service's OAuth error, its fields kept (and redacted like
		// every server error), under the code that says what failed.
		e.Message = what + " at " + host + " rejected the authority: " + string(e.Code) + prefixed(": ", e.Message)
		e.Code = entra.CodeInvalidAuthority
		return e
	}
	switch {
	case resp.StatusCode >= 500:
		return &entra.Error{Code: entra.CodeServerFailure, StatusCode: resp.StatusCode,
			Message: what + " at " + host + " failed"}
	case resp.StatusCode != http.StatusOK:
		return &entra.Error{Code: entra.CodeInvalidAuthority, StatusCode: resp.StatusCode,
			Message: what + " at " + host + " found no document for the authority"}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errs.Wrap(entra.CodeInvalidResponse, err, "the %s answer from %s is not the expected JSON", what, host)
	}
	return nil
}

func hostOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.Host
	}
	return ""
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
