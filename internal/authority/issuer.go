package authority

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/entra-go/entra/internal/transport"
)

// Issuer says which iss claim an ID token from an authority may carry.
type Issuer struct {
	// exact is the whole issuer (AD FS, OIDC, B2C); "" for Entra ID.
	exact string
	// hosts are the Entra ID hosts an issuer may name (the cloud's aliases).
	hosts []string
	// tenant is the tenant id an Entra ID issuer must name; "" when the
	// authority names none ({tenantid}: common, organizations, a domain).
	tenant string
}

// Matches reports whether iss is a's issuer for a token of tenant tid.
func (i Issuer) Matches(iss, tid string) bool {
	if i.exact != "" {
		return strings.TrimRight(iss, "/") == strings.TrimRight(i.exact, "/")
	}
	u, err := url.Parse(iss)
	if err != nil || u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || tid == "" {
		return false
	}
	if !slices.Contains(i.hosts, strings.ToLower(u.Hostname())) {
		return false
	}
	if i.tenant != "" && !strings.EqualFold(tid, i.tenant) {
		return false
	}
	return strings.EqualFold(strings.TrimSuffix(u.Path, "/"), "/"+tid+"/v2.0")
}

// Issuer returns what the iss claim of a's ID tokens must be: for Entra
// ID, https://{host}/{tenant id}/v2.0 on a host of the authority's cloud,
// naming the authority's tenant when it is an id ({tenantid} otherwise);
// for AD FS its /adfs URL; for B2C and generic OIDC the issuer of the
// discovery document (fetched once).
func (r *Resolver) Issuer(ctx context.Context, a Authority) (Issuer, error) {
	if err := a.check(); err != nil {
		return Issuer{}, err
	}
	switch a.Kind {
	case KindADFS:
		return Issuer{exact: "https://" + a.Host + "/adfs"}, nil
	case KindOIDC:
		doc, err := r.discoverOIDC(ctx, a)
		return Issuer{exact: doc.Issuer}, err
	case KindB2C:
		doc, err := r.discoverB2C(ctx, a)
		return Issuer{exact: doc.Issuer}, err
	}
	preferred, err := r.preferredHost(ctx, a)
	if err != nil {
		return Issuer{}, err
	}
	i := Issuer{hosts: cloudHosts(hostName(a.Host), hostName(preferred))}
	if isGUID(a.Tenant) {
		i.tenant = a.Tenant
	}
	return i, nil
}

// discoverB2C fetches a B2C policy's discovery document, whose issuer
// names the tenant by id, which the authority URL does not give.
func (r *Resolver) discoverB2C(ctx context.Context, a Authority) (oidcConfig, error) {
	where := "https://" + a.Host + "/" + a.Tenant + "/" + a.Policy + "/v2.0/.well-known/openid-configuration"
	r.mu.Lock()
	doc, ok := r.oidc[where]
	r.mu.Unlock()
	if ok {
		return doc, nil
	}
	if err := getJSON(ctx, r.http, transport.ServicePolicy, where, nil, "B2C discovery", &doc); err != nil {
		return oidcConfig{}, err
	}
	// The issuer must be the B2C host's own, or any host could vouch for it.
	if u, err := url.Parse(doc.Issuer); err != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, a.Host) {
		return oidcConfig{}, invalidf("the B2C discovery document of %s names an issuer on another host", a.Host)
	}
	r.mu.Lock()
	r.oidc[where] = doc
	r.mu.Unlock()
	return doc, nil
}
