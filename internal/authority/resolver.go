package authority

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/transport"
)

// RegionAuto as ResolverConfig.Region asks for the region to be detected.
const RegionAuto = "auto"

const (
	defaultIMDSEndpoint = "http://169.254.169.254"
	defaultHTTPTimeout  = 10 * time.Second
	// regionTimeout bounds region detection: off Azure, IMDS does not answer
	// at all, and a token request must not wait long for that.
	regionTimeout = 2 * time.Second
)

// ResolverConfig configures a Resolver. The zero value is usable: global
// endpoints, instance discovery on, os.Getenv for the environment.
type ResolverConfig struct {
	// HTTPClient sends the discovery and region-detection requests. It must
	// not present a client certificate. Nil means a client with a 10 s
	// timeout.
	HTTPClient *http.Client
	// DisableInstanceDiscovery trusts unknown Entra ID hosts as they are,
	// without asking them which host to use.
	DisableInstanceDiscovery bool
	// Region is "" (none), a region name such as "westus2", or RegionAuto
	// to detect it. With "", the environment variable MSAL_FORCE_REGION, if
	// it holds a valid region name (or "auto"), is used instead.
	Region string
	// IMDSEndpoint is the base URL of the Azure Instance Metadata Service,
	// for region detection. "" means http://169.254.169.254.
	IMDSEndpoint string
	// Getenv reads REGION_NAME and MSAL_FORCE_REGION. Nil means os.Getenv.
	Getenv func(string) string
	// Observer, if not nil, is told of each request.
	Observer entra.Observer
}

// Resolver turns authorities into endpoints. It remembers what it
// discovered: instance and OpenID Connect discovery results per host and
// issuer, and the detected region. It is safe for concurrent use; share
// one per application.
type Resolver struct {
	http             *transport.Client
	disableDiscovery bool
	region           string // lower-case region name, RegionAuto, or "" (global)
	imds             string
	getenv           func(string) string
	regionTimeout    time.Duration // regionTimeout; shorter in tests

	mu        sync.Mutex
	instances map[string]string     // unknown Entra ID host → host requests go to
	oidc      map[string]oidcConfig // issuer → its discovery document

	regionMu   sync.Mutex
	regionDone chan struct{} // closed when detection has finished; nil before it starts
	detected   string        // detected region, "" for global; written before regionDone closes
}

// NewResolver returns a Resolver for cfg. It makes no network call. An
// explicit Region that is neither RegionAuto nor a valid region name fails
// with entra.CodeInvalidArgument; an invalid MSAL_FORCE_REGION is ignored.
func NewResolver(cfg ResolverConfig) (*Resolver, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	r := &Resolver{
		http:             &transport.Client{HTTP: cfg.HTTPClient, MaxBodyBytes: maxDiscoveryBody, Observer: cfg.Observer},
		disableDiscovery: cfg.DisableInstanceDiscovery,
		imds:             strings.TrimRight(cfg.IMDSEndpoint, "/"),
		getenv:           cfg.Getenv,
		regionTimeout:    regionTimeout,
		instances:        map[string]string{},
		oidc:             map[string]oidcConfig{},
	}
	if r.getenv == nil {
		r.getenv = os.Getenv
	}
	if r.imds == "" {
		r.imds = defaultIMDSEndpoint
	} else if u, err := url.Parse(r.imds); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errs.New(entra.CodeInvalidArgument, "IMDS endpoint %q is not an http(s) URL", cfg.IMDSEndpoint)
	}
	switch region := cfg.Region; {
	case region == "":
		// The environment only fills in a region the code did not choose.
		if forced := r.getenv("MSAL_FORCE_REGION"); ValidRegion(forced) {
			r.region = strings.ToLower(forced)
		}
	case strings.EqualFold(region, RegionAuto):
		r.region = RegionAuto
	case ValidRegion(region):
		r.region = strings.ToLower(region)
	default:
		return nil, errs.New(entra.CodeInvalidArgument, "region %q is not a region name (letters and digits only, such as westus2) or %q", region, RegionAuto)
	}
	return r, nil
}

// ResolveOptions describe the request the endpoints are for.
type ResolveOptions struct {
	// Regional: the flow may use a regional endpoint. That is client
	// credentials, and user flows only over mutual TLS with a region
	// configured; the caller decides.
	Regional bool
	// MTLS: the request goes over mutual TLS. For Entra ID the token
	// endpoint then moves to the cloud's mTLS host; for OIDC it is the
	// discovery document's mtls_endpoint_aliases.token_endpoint (RFC 8705
	// §5) when there is one. B2C and AD FS endpoints are unchanged.
	MTLS bool
}

// Endpoints are the URLs for one request.
type Endpoints struct {
	// Token is the token endpoint URL to POST to.
	Token string
	// Authorization is the authorization endpoint URL, for user flows. It
	// is never an mTLS or regional URL.
	Authorization string
	// Issuer is the expected token issuer when it is known: from the OIDC
	// discovery document, for AD FS, and for Entra ID tenants given by ID.
	Issuer string
	// Region is the Azure region whose endpoint Token is; "" for global.
	Region string
}

// Resolve returns the endpoints for a, making discovery and
// region-detection requests the first time they are needed.
//
// Failures are *entra.Error: entra.CodeInvalidAuthority when a discovery
// service rejects the authority (with the server's error fields),
// entra.CodeMTLSNotSupportedForEnvironment for an Entra ID host without an
// mTLS endpoint, entra.CodeTransport when a discovery service cannot be
// reached, entra.CodeServerFailure, entra.CodeInvalidResponse or
// entra.CodeInvalidResponse when it answers badly, and entra.CodeCanceled
// when ctx ends first. Region detection never fails: the global endpoint
// is used instead.
func (r *Resolver) Resolve(ctx context.Context, a Authority, opts ResolveOptions) (Endpoints, error) {
	if err := a.check(); err != nil {
		return Endpoints{}, err
	}
	switch a.Kind {
	case KindADFS:
		base := "https://" + a.Host + "/adfs"
		return Endpoints{Token: base + "/oauth2/token", Authorization: base + "/oauth2/authorize", Issuer: base}, nil
	case KindB2C:
		// The issuer names the tenant by ID, which the URL does not give.
		base := "https://" + a.Host + "/" + a.Tenant + "/" + a.Policy + "/oauth2/v2.0"
		return Endpoints{Token: base + "/token", Authorization: base + "/authorize"}, nil
	case KindOIDC:
		doc, err := r.discoverOIDC(ctx, a)
		if err != nil {
			return Endpoints{}, err
		}
		e := Endpoints{Token: doc.TokenEndpoint, Authorization: doc.AuthorizationEndpoint, Issuer: doc.Issuer}
		if opts.MTLS && doc.MTLSEndpointAliases.TokenEndpoint != "" {
			e.Token = doc.MTLSEndpointAliases.TokenEndpoint
		}
		return e, nil
	}
	return r.resolveAAD(ctx, a, opts)
}

func (r *Resolver) resolveAAD(ctx context.Context, a Authority, opts ResolveOptions) (Endpoints, error) {
	var mtls string
	if opts.MTLS {
		// Refuse a host without an mTLS endpoint before any network call.
		var err error
		if mtls, err = mtlsHost(a.Host); err != nil {
			return Endpoints{}, err
		}
	}
	host, err := r.preferredHost(ctx, a)
	if err != nil {
		return Endpoints{}, err
	}
	var region string
	if opts.Regional {
		if region, err = r.regionName(ctx); err != nil {
			return Endpoints{}, err
		}
	}
	tokenHost := host
	switch {
	case opts.MTLS && region != "":
		tokenHost = region + "." + mtls
	case opts.MTLS:
		tokenHost = mtls
	case region != "":
		tokenHost = regionalHost(a.Host, host, region)
	}
	e := Endpoints{
		Token:         "https://" + tokenHost + "/" + a.Tenant + "/oauth2/v2.0/token",
		Authorization: "https://" + host + "/" + a.Tenant + "/oauth2/v2.0/authorize",
		Region:        region,
	}
	if isGUID(a.Tenant) {
		// Entra ID names the tenant by ID in v2.0 issuers, so only an ID
		// tells the issuer in advance.
		e.Issuer = "https://" + host + "/" + a.Tenant + "/v2.0"
	}
	return e, nil
}

// check rejects an Authority that Parse would not have returned: its
// fields are exported, and they end up in URLs.
func (a Authority) check() error {
	switch a.Kind {
	case KindAAD:
		if validHost(a.Host) && validTenant(a.Tenant) {
			return nil
		}
	case KindB2C:
		if validHost(a.Host) && validTenant(a.Tenant) && validPolicy(a.Policy) {
			return nil
		}
	case KindADFS:
		if validHost(a.Host) {
			return nil
		}
	case KindOIDC:
		u, err := url.Parse(a.Issuer)
		if err == nil && u.Scheme == "https" && u.Host == a.Host && validHost(a.Host) &&
			u.User == nil && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" {
			return nil
		}
	}
	return invalidf("the authority is incomplete or malformed; build it with authority.Parse")
}

// isGUID reports whether s is a lower-case 8-4-4-4-12 hexadecimal GUID.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
