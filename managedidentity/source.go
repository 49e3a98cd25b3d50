package managedidentity

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

// Source is a kind of managed identity endpoint.
type Source string

// Sources. SourceAuto detects the source from the environment.
const (
	SourceAuto            Source = ""
	SourceIMDS            Source = "imds"
	SourceAppService      Source = "app_service"
	SourceAzureArc        Source = "azure_arc"
	SourceCloudShell      Source = "cloud_shell"
	SourceServiceFabric   Source = "service_fabric"
	SourceMachineLearning Source = "machine_learning"
)

// String returns the source's name as in error messages, e.g. "App Service".
func (s Source) String() string {
	switch s {
	case SourceAuto:
		return "auto-detected"
	case SourceIMDS:
		return "IMDS"
	case SourceAppService:
		return "App Service"
	case SourceAzureArc:
		return "Azure Arc"
	case SourceCloudShell:
		return "Cloud Shell"
	case SourceServiceFabric:
		return "Service Fabric"
	case SourceMachineLearning:
		return "Machine Learning"
	}
	return "unknown source " + string(s)
}

// Environment variables the hosts set.
const (
	envIdentityEndpoint     = "IDENTITY_ENDPOINT"
	envIdentityHeader       = "IDENTITY_HEADER"
	envIdentityThumbprint   = "IDENTITY_SERVER_THUMBPRINT"
	envIMDSEndpoint         = "IMDS_ENDPOINT"
	envMSIEndpoint          = "MSI_ENDPOINT"
	envMSISecret            = "MSI_SECRET"
	envPodIdentityHost      = "AZURE_POD_IDENTITY_AUTHORITY_HOST"
	envDefaultMLIdentityID  = "DEFAULT_IDENTITY_CLIENT_ID"
	defaultIMDSHost         = "http://169.254.169.254"
	imdsTokenPath           = "/metadata/identity/oauth2/token"
	defaultArcEndpoint      = "http://127.0.0.1:40342/metadata/identity/oauth2/token"
	serviceFabricAPIVersion = "2020-05-01"
)

// detection is the detection order (the reference order): the first
// source whose variables are all set is the host's.
var detection = []struct {
	source Source
	vars   []string
}{
	{SourceServiceFabric, []string{envIdentityEndpoint, envIdentityHeader, envIdentityThumbprint}},
	{SourceAppService, []string{envIdentityEndpoint, envIdentityHeader}},
	{SourceMachineLearning, []string{envMSIEndpoint, envMSISecret}},
	{SourceCloudShell, []string{envMSIEndpoint}},
	{SourceAzureArc, []string{envIdentityEndpoint, envIMDSEndpoint}},
}

// detect picks the source the environment describes, in the reference
// order. arcAgent reports whether the Azure Arc agent is installed; it is
// called only when no environment variable decided.
func detect(getenv func(string) string, arcAgent func() bool) Source {
	return detectWhy(getenv, arcAgent).Source
}

// Detection is the source a host's environment selects, and why.
type Detection struct {
	// Source is the source detected.
	Source Source
	// Variables are the environment variables that decided, all set; none
	// when the Azure Arc agent decided or IMDS is the default. For IMDS,
	// AZURE_POD_IDENTITY_AUTHORITY_HOST when it moves the endpoint.
	Variables []string
	// ArcAgent is set when the Azure Arc agent's presence decided.
	ArcAgent bool
}

// Detect reports the source a Client with SourceAuto would use in the
// environment getenv reads (nil means os.Getenv), and which variables, or
// the Azure Arc agent at arcAgentPath ("" for the default path), decided.
// It reads the environment and the file system only.
func Detect(getenv func(string) string, arcAgentPath string) Detection {
	if getenv == nil {
		getenv = os.Getenv
	}
	_, agentPath := arcDefaults(runtime.GOOS, getenv)
	if arcAgentPath != "" {
		agentPath = arcAgentPath
	}
	return detectWhy(func(name string) string { return strings.TrimSpace(getenv(name)) }, agentInstalled(agentPath))
}

func detectWhy(getenv func(string) string, arcAgent func() bool) Detection {
	set := func(name string) bool { return getenv(name) != "" }
	for _, d := range detection {
		if !slices.ContainsFunc(d.vars, func(v string) bool { return !set(v) }) {
			return Detection{Source: d.source, Variables: slices.Clone(d.vars)}
		}
	}
	if arcAgent() {
		return Detection{Source: SourceAzureArc, ArcAgent: true}
	}
	d := Detection{Source: SourceIMDS}
	if set(envPodIdentityHost) {
		d.Variables = []string{envPodIdentityHost}
	}
	return d
}

// agentInstalled reports whether the Azure Arc agent is at path.
func agentInstalled(path string) func() bool {
	return func() bool {
		fi, err := os.Stat(path)
		return err == nil && fi.Mode().IsRegular()
	}
}

// protocol is how one source is asked for a token.
type protocol struct {
	method     string
	apiVersion string
	// secretHeader carries the host's secret; "" when there is none.
	secretHeader string
	// metadata adds "Metadata: true", which IMDS-like endpoints require
	// to refuse forwarded (SSRF) requests.
	metadata bool
	// params names the query parameter for each user-assigned id kind; ""
	// means the source cannot select that kind.
	params [4]string
}

func protocolOf(s Source) protocol {
	switch s {
	case SourceIMDS:
		return protocol{method: http.MethodGet, apiVersion: "2018-02-01", metadata: true,
			params: [4]string{kindClientID: "client_id", kindResourceID: "msi_res_id", kindObjectID: "object_id"}}
	case SourceAppService:
		return protocol{method: http.MethodGet, apiVersion: "2019-08-01", secretHeader: "X-IDENTITY-HEADER",
			params: [4]string{kindClientID: "client_id", kindResourceID: "mi_res_id", kindObjectID: "object_id"}}
	case SourceAzureArc:
		return protocol{method: http.MethodGet, apiVersion: "2020-06-01", metadata: true}
	case SourceCloudShell:
		return protocol{method: http.MethodPost, metadata: true}
	case SourceServiceFabric:
		// Service Fabric binds identities to the application in its
		// manifest and selects one at run time only by principal (object)
		// id, as principalId from api-version 2020-05-01. It ignores any
		// parameter it does not know, object_id included, and then
		// answers with the system-assigned identity: no error, the wrong
		// identity (MSAL.NET issue 6065). The parameter name is also part
		// of the cache key, so tokens cached under object_id, which may
		// be the system-assigned identity's, are not served again.
		return protocol{method: http.MethodGet, apiVersion: serviceFabricAPIVersion, secretHeader: "secret",
			params: [4]string{kindObjectID: "principalId"}}
	case SourceMachineLearning:
		return protocol{method: http.MethodGet, apiVersion: "2017-09-01", secretHeader: "secret",
			params: [4]string{kindClientID: "clientid"}}
	}
	return protocol{}
}

// endpoint is a resolved source: where to send requests and with what.
type endpoint struct {
	source Source
	url    *url.URL
	// secret is the value of the protocol's secretHeader. Never logged.
	secret string
	// thumbprint pins the Service Fabric server certificate (SHA-1).
	thumbprint []byte
	// mlClientID is DEFAULT_IDENTITY_CLIENT_ID, the Machine Learning
	// system-assigned identity's client id.
	mlClientID string
}

// resolve detects or checks the source and reads its environment.
func resolve(forced Source, getenv func(string) string, arcAgent func() bool) (endpoint, error) {
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	s := forced
	if s == SourceAuto {
		s = detect(env, arcAgent)
	}
	ep := endpoint{source: s}
	var err error
	switch s {
	case SourceIMDS:
		base := strings.TrimRight(env(envPodIdentityHost), "/")
		name := envPodIdentityHost
		if base == "" {
			base, name = defaultIMDSHost, "the IMDS address"
		}
		ep.url, err = parseEndpoint(base+imdsTokenPath, name, false)
	case SourceAppService:
		if err = require(s, env, envIdentityEndpoint, envIdentityHeader); err == nil {
			ep.url, err = parseEndpoint(env(envIdentityEndpoint), envIdentityEndpoint, false)
			ep.secret = env(envIdentityHeader)
		}
	case SourceMachineLearning:
		if err = require(s, env, envMSIEndpoint, envMSISecret); err == nil {
			ep.url, err = parseEndpoint(env(envMSIEndpoint), envMSIEndpoint, false)
			ep.secret = env(envMSISecret)
			ep.mlClientID = env(envDefaultMLIdentityID)
		}
	case SourceCloudShell:
		if err = require(s, env, envMSIEndpoint); err == nil {
			ep.url, err = parseEndpoint(env(envMSIEndpoint), envMSIEndpoint, false)
		}
	case SourceAzureArc:
		switch raw := env(envIdentityEndpoint); {
		case raw != "":
			ep.url, err = parseEndpoint(raw, envIdentityEndpoint, false)
		case arcAgent():
			ep.url, err = parseEndpoint(defaultArcEndpoint, "the Azure Arc agent address", false)
		default:
			err = errs.New(entra.CodeInvalidArgument,
				"the Azure Arc source needs %s or the Azure Arc agent installed", envIdentityEndpoint)
		}
	case SourceServiceFabric:
		if err = require(s, env, envIdentityEndpoint, envIdentityHeader, envIdentityThumbprint); err == nil {
			ep.url, err = parseEndpoint(env(envIdentityEndpoint), envIdentityEndpoint, true)
			ep.secret = env(envIdentityHeader)
			if err == nil {
				ep.thumbprint, err = parseThumbprint(env(envIdentityThumbprint))
			}
		}
	default:
		err = errs.New(entra.CodeInvalidArgument, "unknown managed identity source %q", string(s))
	}
	if err != nil {
		return endpoint{}, err
	}
	return ep, nil
}

// require fails naming every missing variable the source needs.
func require(s Source, env func(string) string, names ...string) error {
	var missing []string
	for _, n := range names {
		if env(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return errs.New(entra.CodeInvalidArgument, "the %s source needs the environment variable(s) %s, which are not set",
		s, strings.Join(missing, ", "))
}

// parseEndpoint accepts an absolute http(s) URL. The value is not quoted
// in errors: only the variable that held it is named.
func parseEndpoint(raw, name string, httpsOnly bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" ||
		(u.Scheme != "https" && (httpsOnly || u.Scheme != "http")) {
		want := "an http or https URL"
		if httpsOnly {
			want = "an https URL"
		}
		return nil, errs.New(entra.CodeInvalidArgument, "%s is not %s with a host", name, want)
	}
	return u, nil
}

// parseThumbprint reads a hex SHA-1 thumbprint (any case; colons and
// spaces between bytes are tolerated).
func parseThumbprint(s string) ([]byte, error) {
	clean := strings.NewReplacer(":", "", " ", "").Replace(s)
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) != 20 {
		return nil, errs.New(entra.CodeInvalidArgument, "%s is not a hex SHA-1 certificate thumbprint", envIdentityThumbprint)
	}
	return b, nil
}
