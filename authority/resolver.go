package authority

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/entra-go/entra"
)

const (
	defaultIMDSEndpoint = "http://169.254.169.254"
	regionTimeout       = 2 * time.Second
	maxDiscoveryBody    = 1 << 20
	// RegionAuto asks for the region to be detected.
	RegionAuto = "auto"
)

// ValidRegion reports whether name is a well-formed region name.
func ValidRegion(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// ResolverConfig configures a Resolver.
type ResolverConfig struct {
	// HTTPClient sends discovery and region requests. It never presents a
	// client certificate. Nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// DisableInstanceDiscovery trusts unknown AAD hosts as they are.
	DisableInstanceDiscovery bool
	// Region is "", a region name, or "auto".
	Region string
	// IMDSEndpoint is the base URL for region detection; "" means
	// http://169.254.169.254.
	IMDSEndpoint string
	// Getenv reads REGION_NAME and MSAL_FORCE_REGION; nil means os.Getenv.
	Getenv func(string) string
}

// Resolver resolves authorities to endpoints, remembering what it
// discovered. It is safe for concurrent use.
type Resolver struct {
	cfg ResolverConfig

	regionOnce sync.Once
	region     string // resolved region, "" for global

	mu        sync.Mutex
	instances map[string]string     // unknown AAD host → preferred network host
	oidc      map[string]oidcConfig // issuer → discovery document
}

type oidcConfig struct {
	Issuer                string `json:"issuer"`
	TokenEndpoint         string `json:"token_endpoint"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	MTLSAliases           struct {
		TokenEndpoint string `json:"token_endpoint"`
	} `json:"mtls_endpoint_aliases"`
}

// NewResolver validates cfg. An explicit region that is not a valid region
// name fails with entra.CodeInvalidRegion.
func NewResolver(cfg ResolverConfig) (*Resolver, error) {
	if cfg.Region != "" && !strings.EqualFold(cfg.Region, RegionAuto) && !ValidRegion(cfg.Region) {
		return nil, entra.Errorf(entra.CodeInvalidRegion, "%q is not a region name (letters and digits only, e.g. eastus)", cfg.Region)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.IMDSEndpoint == "" {
		cfg.IMDSEndpoint = defaultIMDSEndpoint
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	return &Resolver{cfg: cfg, instances: map[string]string{}, oidc: map[string]oidcConfig{}}, nil
}

// ResolveOptions say what the request may use.
type ResolveOptions struct {
	// Regional: the flow may use a regional endpoint (client credentials).
	Regional bool
}

// Endpoints are the URLs for one request.
type Endpoints struct {
	Token         string
	Authorization string
	Issuer        string
	// Region is the region used; "" for the global endpoint.
	Region string
}

// Resolve returns the endpoints for a, discovering what it must.
func (r *Resolver) Resolve(ctx context.Context, a Authority, opts ResolveOptions) (Endpoints, error) {
	switch a.Kind {
	case KindOIDC:
		doc, err := r.discoverOIDC(ctx, a)
		if err != nil {
			return Endpoints{}, err
		}
		return Endpoints{Token: doc.TokenEndpoint, Authorization: doc.AuthorizationEndpoint, Issuer: doc.Issuer}, nil
	case KindADFS:
		base := "https://" + a.Host + "/adfs"
		return Endpoints{Token: base + "/oauth2/token", Authorization: base + "/oauth2/authorize", Issuer: base}, nil
	case KindB2C:
		base := "https://" + a.Host + "/" + a.Tenant + "/" + a.Policy
		return Endpoints{Token: base + "/oauth2/v2.0/token", Authorization: base + "/oauth2/v2.0/authorize", Issuer: base + "/v2.0"}, nil
	}
	host, err := r.preferredHost(ctx, a)
	if err != nil {
		return Endpoints{}, err
	}
	e := Endpoints{
		Authorization: "https://" + host + "/" + a.Tenant + "/oauth2/v2.0/authorize",
		Issuer:        "https://" + host + "/" + a.Tenant + "/v2.0",
	}
	tokenHost := host
	if opts.Regional {
		if region := r.resolveRegion(ctx); region != "" {
			e.Region = region
			if isPublicCloud(hostname(host)) {
				tokenHost = region + ".login.microsoft.com"
			} else {
				tokenHost = region + "." + host
			}
		}
	}
	e.Token = "https://" + tokenHost + "/" + a.Tenant + "/oauth2/v2.0/token"
	return e, nil
}

// preferredHost is the host AAD requests go to: the cloud's preferred host
// for known clouds, else what instance discovery says.
func (r *Resolver) preferredHost(ctx context.Context, a Authority) (string, error) {
	if c, ok := knownCloud(hostname(a.Host)); ok {
		return c.preferred, nil
	}
	if r.cfg.DisableInstanceDiscovery {
		return a.Host, nil
	}
	r.mu.Lock()
	host, ok := r.instances[a.Host]
	r.mu.Unlock()
	if ok {
		return host, nil
	}
	host, err := r.discoverInstance(ctx, a)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.instances[a.Host] = host
	r.mu.Unlock()
	return host, nil
}

func (r *Resolver) discoverInstance(ctx context.Context, a Authority) (string, error) {
	q := url.Values{
		"api-version":            {"1.1"},
		"authorization_endpoint": {"https://" + a.Host + "/" + a.Tenant + "/oauth2/v2.0/authorize"},
	}
	var doc struct {
		Metadata []struct {
			PreferredNetwork string   `json:"preferred_network"`
			Aliases          []string `json:"aliases"`
		} `json:"metadata"`
	}
	if err := r.getJSON(ctx, "https://"+a.Host+"/common/discovery/instance?"+q.Encode(), nil, "instance discovery", &doc); err != nil {
		return "", err
	}
	for _, m := range doc.Metadata {
		for _, alias := range m.Aliases {
			if strings.EqualFold(alias, a.Host) && m.PreferredNetwork != "" {
				return strings.ToLower(m.PreferredNetwork), nil
			}
		}
	}
	return a.Host, nil
}

func (r *Resolver) discoverOIDC(ctx context.Context, a Authority) (oidcConfig, error) {
	r.mu.Lock()
	doc, ok := r.oidc[a.Issuer]
	r.mu.Unlock()
	if ok {
		return doc, nil
	}
	if err := r.getJSON(ctx, a.Issuer+"/.well-known/openid-configuration", nil, "OpenID Connect discovery", &doc); err != nil {
		return oidcConfig{}, err
	}
	if strings.TrimRight(doc.Issuer, "/") != a.Issuer {
		return oidcConfig{}, entra.Errorf(entra.CodeInvalidAuthority, "the discovery document names issuer %q, not the configured %q", doc.Issuer, a.Issuer)
	}
	if !strings.HasPrefix(doc.TokenEndpoint, "https://") {
		return oidcConfig{}, entra.Errorf(entra.CodeInvalidAuthority, "the discovery document has no https token endpoint")
	}
	r.mu.Lock()
	r.oidc[a.Issuer] = doc
	r.mu.Unlock()
	return doc, nil
}

// getJSON fetches a discovery document. Failures are invalid_authority and
// carry the server's OAuth error fields when it sent them.
func (r *Resolver) getJSON(ctx context.Context, u string, header http.Header, what string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return entra.WrapError(entra.CodeInvalidAuthority, err, "cannot build the %s request", what)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return entra.WrapError(entra.CodeCanceled, ctx.Err(), "%s was abandoned", what)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return entra.WrapError(entra.CodeTransport, err, "%s at %s failed", what, req.URL.Host)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBody+1))
	if err != nil {
		return entra.WrapError(entra.CodeTransport, err, "reading the %s answer failed", what)
	}
	if len(body) > maxDiscoveryBody {
		return entra.Errorf(entra.CodeResponseTooLarge, "the %s answer is larger than %d bytes", what, maxDiscoveryBody)
	}
	if resp.StatusCode != http.StatusOK {
		e := &entra.Error{Code: entra.CodeInvalidAuthority, StatusCode: resp.StatusCode,
			Message: what + " refused the authority"}
		var oe struct {
			Error         string `json:"error"`
			Description   string `json:"error_description"`
			ErrorCodes    []int  `json:"error_codes"`
			CorrelationID string `json:"correlation_id"`
			TraceID       string `json:"trace_id"`
		}
		if json.Unmarshal(body, &oe) == nil && oe.Error != "" {
			e.Message = what + " refused the authority: " + oe.Error
			e.Description, e.ErrorCodes, e.CorrelationID, e.TraceID = oe.Description, oe.ErrorCodes, oe.CorrelationID, oe.TraceID
		}
		return e
	}
	if err := json.Unmarshal(body, v); err != nil {
		return entra.Errorf(entra.CodeInvalidAuthority, "the %s answer is not valid JSON", what)
	}
	return nil
}

// resolveRegion returns the configured or detected region, once per
// Resolver: explicit, else (auto) REGION_NAME, else IMDS; with none
// configured, MSAL_FORCE_REGION. Detection failures fall back to global.
func (r *Resolver) resolveRegion(ctx context.Context) string {
	r.regionOnce.Do(func() {
		region := r.cfg.Region
		if region == "" {
			if forced := r.cfg.Getenv("MSAL_FORCE_REGION"); ValidRegion(forced) {
				region = forced
			}
		}
		if strings.EqualFold(region, RegionAuto) {
			region = r.detectRegion(ctx)
		}
		r.region = strings.ToLower(region)
	})
	return r.region
}

func (r *Resolver) detectRegion(ctx context.Context) string {
	if env := strings.ReplaceAll(r.cfg.Getenv("REGION_NAME"), " ", ""); ValidRegion(env) {
		return env
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), regionTimeout)
	defer cancel()
	var doc struct {
		Location string `json:"location"`
	}
	u := strings.TrimRight(r.cfg.IMDSEndpoint, "/") + "/metadata/instance/compute?api-version=2021-02-01"
	if err := r.getJSON(ctx, u, http.Header{"Metadata": {"true"}}, "region detection", &doc); err != nil {
		return ""
	}
	if ValidRegion(doc.Location) {
		return doc.Location
	}
	return ""
}
