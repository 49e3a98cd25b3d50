package entratest

import (
	"net/http"
	"strings"
)

// tokenServiceMux routes the token service's listener. Patterns name no
// host: every Entra host (global, regional, sovereign, mTLS, B2C) serves
// the same paths, and the handlers read the host where it matters.
func (e *Emulator) tokenServiceMux() *http.ServeMux {
	mux := http.NewServeMux()
	ep := func(name string, h http.HandlerFunc) http.Handler { return e.endpoint(name, estsErrors{}, h) }
	token, notPost := ep(epToken, e.token), ep(epToken, refuseNotPost)
	for _, path := range []string{
		"/{tenant}/oauth2/v2.0/token",
		"/{tenant}/{policy}/oauth2/v2.0/token", // B2C
		"/oidc/token", "/oidc/mtls/token", "/adfs/oauth2/token",
	} {
		mux.Handle("POST "+path, token)
		mux.Handle(path, notPost) // ESTS answers other methods with its own error
	}
	authorize := ep(epAuthorize, e.authorize)
	for _, path := range []string{
		"/{tenant}/oauth2/v2.0/authorize",
		"/{tenant}/{policy}/oauth2/v2.0/authorize",
		"/oidc/authorize", "/adfs/oauth2/authorize",
	} {
		mux.Handle("GET "+path, authorize)
		mux.Handle("POST "+path, authorize) // the sign-in page's form
	}
	keys := ep(epKeys, e.keys)
	for _, path := range []string{
		"/{tenant}/discovery/v2.0/keys",
		"/{tenant}/{policy}/discovery/v2.0/keys",
		"/oidc/keys", "/adfs/discovery/keys",
	} {
		mux.Handle("GET "+path, keys)
	}
	tenantConfig := ep(epOpenIDConfiguration, e.tenantConfiguration)
	mux.Handle("GET /{tenant}/v2.0/.well-known/openid-configuration", tenantConfig)
	mux.Handle("GET /{tenant}/{policy}/v2.0/.well-known/openid-configuration", tenantConfig)
	mux.Handle("GET /oidc/.well-known/openid-configuration", ep(epOpenIDConfiguration, e.configuration(issuerPaths{
		issuer: "/oidc", token: "/oidc/token", authorize: "/oidc/authorize", keys: "/oidc/keys", mtlsToken: "/oidc/mtls/token",
	})))
	mux.Handle("GET /adfs/.well-known/openid-configuration", ep(epOpenIDConfiguration, e.configuration(issuerPaths{
		issuer: "/adfs", token: "/adfs/oauth2/token", authorize: "/adfs/oauth2/authorize", keys: "/adfs/discovery/keys",
	})))
	mux.Handle("GET /common/discovery/instance", ep(epInstanceDiscovery, e.instanceDiscovery))
	mux.Handle("/", ep(epUnknown, notFound))
	return mux
}

// tokenServiceHandler routes the token service's listener: the paths of
// the issuers made by NewIssuer to issuerMux, those of the protected API
// to resourceHandler, the others to tokenServiceMux. Separate handlers,
// because ServeMux refuses patterns that overlap without one being more
// specific: /issuers/{name}/.well-known/openid-configuration and
// /{tenant}/v2.0/.well-known/openid-configuration both match
// /issuers/v2.0/.well-known/openid-configuration, and /api/{rest...}
// and /{tenant}/oauth2/v2.0/token both match /api/oauth2/v2.0/token. No
// tenant is named "issuers" or "api".
func (e *Emulator) tokenServiceHandler() http.Handler {
	entra, issuers, resource := e.tokenServiceMux(), e.issuerMux(), e.resourceHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, issuersPath):
			issuers.ServeHTTP(w, r)
		case p == resourcePath || strings.HasPrefix(p, resourcePath+"/"):
			resource.ServeHTTP(w, r)
		default:
			entra.ServeHTTP(w, r)
		}
	})
}

// plainMux routes the plain-HTTP listener: IMDS at its real paths, so
// that the listener's URL is an IMDS base URL, and the other sources at
// paths of their own.
func (e *Emulator) plainMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metadata/instance/compute", e.endpoint(epIMDSCompute, miErrors{}, e.imdsCompute))
	mux.Handle("GET "+imdsPlatformMetadataPath, e.endpoint(epIMDSPlatformMetadata, miErrors{}, e.platformMetadata))
	mux.Handle("POST "+imdsIssueCredentialPath, e.endpoint(epIMDSIssueCredential, miErrors{}, e.issueCredential))
	e.handleSource(mux, "GET", srcIMDS, e.checkIMDS)
	e.handleSource(mux, "GET", srcAppService, e.checkAppService)
	e.handleSource(mux, "GET", srcAzureArc, e.checkAzureArc)
	e.handleSource(mux, "POST", srcCloudShell, e.checkCloudShell)
	e.handleSource(mux, "GET", srcMachineLearning, e.checkMachineLearning)
	mux.Handle("/", e.endpoint(epUnknown, miErrors{}, notFoundMI))
	return mux
}

// serviceFabricMux routes the Service Fabric listener.
func (e *Emulator) serviceFabricMux() *http.ServeMux {
	mux := http.NewServeMux()
	e.handleSource(mux, "GET", srcServiceFabric, e.checkServiceFabric)
	mux.Handle("/", e.endpoint(epUnknown, miErrors{}, notFoundMI))
	return mux
}

// handleSource serves a managed identity source at its path: requests of
// the method it takes are checked and answered with a token; others are
// refused in the source's own shape, which ServeMux's 405 is not.
func (e *Emulator) handleSource(mux *http.ServeMux, method, source string, check miCheck) {
	paths := []string{miPath(source)}
	if source == srcIMDS {
		// IMDS answers its token path with a trailing slash too, which
		// MSAL Node asks for.
		paths = append(paths, miPath(source)+"/{$}") // not its subtree
	}
	for _, path := range paths {
		mux.Handle(method+" "+path, e.endpoint(source, miErrors{}, e.serveSource(source, check)))
		mux.Handle(path, e.endpoint(source, miErrors{}, func(w http.ResponseWriter, r *http.Request) {
			code := "invalid_request"
			if source == srcServiceFabric {
				code = "MethodNotAllowed"
			}
			miWriteError(w, source, &miRefusal{status: http.StatusMethodNotAllowed, code: code, msg: "The request method is not supported."})
		}))
	}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, http.StatusNotFound, "invalid_request", 90002, "No such endpoint.")
}

func refuseNotPost(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded and sent with POST.")
}

func notFoundMI(w http.ResponseWriter, r *http.Request) {
	miWriteError(w, "", &miRefusal{status: http.StatusNotFound, code: "not_found", msg: "No managed identity endpoint at this path."})
}

// tenantOf is the tenant a token service path names: its {tenant}
// segment, or the first segment of the generic OIDC and ADFS paths.
func tenantOf(r *http.Request) string {
	if t := r.PathValue("tenant"); t != "" {
		return t
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return first
}

// errorShape answers the emulator's own refusals, an injected fault
// without a body or a malformed request, as the endpoints of a listener
// answer errors.
type errorShape interface {
	fault(w http.ResponseWriter, r *http.Request, endpoint string, status int)
	malformed(w http.ResponseWriter, r *http.Request, endpoint string)
}

// estsErrors is the token service's shape: ESTS error JSON.
type estsErrors struct{}

func (estsErrors) fault(w http.ResponseWriter, r *http.Request, _ string, status int) {
	code, aadsts := "temporarily_unavailable", 90033
	switch {
	case status == http.StatusInternalServerError:
		code, aadsts = "server_error", 90004
	case status < 500 && status != http.StatusTooManyRequests:
		code, aadsts = "invalid_request", 90000
	}
	writeError(w, r, status, code, aadsts, "The service is unavailable (injected fault).")
}

func (estsErrors) malformed(w http.ResponseWriter, r *http.Request, _ string) {
	writeError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request's query or form is malformed.")
}

// miErrors is the managed identity listeners' shape: each source's own.
type miErrors struct{}

func (miErrors) fault(w http.ResponseWriter, _ *http.Request, endpoint string, status int) {
	miWriteError(w, endpoint, &miRefusal{status: status, code: "injected_fault", msg: "The service is unavailable (injected fault)."})
}

func (miErrors) malformed(w http.ResponseWriter, _ *http.Request, endpoint string) {
	miWriteError(w, endpoint, &miRefusal{status: http.StatusBadRequest, code: "invalid_request", msg: "The request's query or form is malformed."})
}
