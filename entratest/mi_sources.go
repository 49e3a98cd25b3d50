package entratest

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The checks below are each source's, as the real endpoint makes them.
// ServeMux patterns have already checked the method (see handleSource).

// miQuery checks a query's parameters: each at most once, none unknown
// (allowed plus identity parameters), a resource, and at most one
// identity selector.
func miQuery(q url.Values, allowed, identity []string) (miGrant, *miRefusal) {
	var g miGrant
	for k, vs := range q {
		if !slices.Contains(allowed, k) && !slices.Contains(identity, k) {
			return g, miRefuse(http.StatusBadRequest, "invalid_request", "Unknown query parameter "+strconv.Quote(k)+".")
		}
		if len(vs) != 1 {
			return g, miRefuse(http.StatusBadRequest, "invalid_request", "Repeated query parameter "+strconv.Quote(k)+".")
		}
		if slices.Contains(identity, k) {
			if g.param != "" {
				return g, miRefuse(http.StatusBadRequest, "invalid_request", "More than one identity parameter.")
			}
			if vs[0] == "" {
				return g, miRefuse(http.StatusBadRequest, "invalid_request", "Empty identity parameter "+strconv.Quote(k)+".")
			}
			g.param, g.value = k, vs[0]
		}
	}
	if g.resource = q.Get("resource"); g.resource == "" {
		return g, miRefuse(http.StatusBadRequest, "invalid_request", "Required query variable 'resource' is missing.")
	}
	return g, nil
}

func (e *Emulator) checkIMDS(r *http.Request) (miGrant, *miRefusal) {
	switch {
	case r.Header.Get("X-Forwarded-For") != "":
		return miGrant{}, miRefuse(http.StatusBadRequest, "invalid_request", "Request contains an X-Forwarded-For header.")
	case r.Header.Get("Metadata") != "true":
		return miGrant{}, miRefuse(http.StatusBadRequest, "invalid_request", "Required metadata header not specified.")
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != "2018-02-01" && v != "2019-08-01" {
		return miGrant{}, miRefuse(http.StatusBadRequest, "invalid_request", "Missing or unsupported api-version.")
	}
	g, refused := miQuery(q, []string{"api-version", "resource", "claims"}, []string{"client_id", "msi_res_id", "object_id"})
	if refused != nil || !q.Has("claims") {
		return g, refused
	}
	// IMDS passes on only the network perimeter client claim.
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(q.Get("claims")), &top) != nil || top == nil {
		return g, miRefuse(http.StatusBadRequest, "invalid_request", "The claims parameter is not a JSON object.")
	}
	for k := range top {
		if k != "xms_az_nwperimid" {
			return g, miRefuse(http.StatusBadRequest, "invalid_request", "The claim "+strconv.Quote(k)+" is not accepted.")
		}
	}
	return g, nil
}

func (e *Emulator) checkAppService(r *http.Request) (miGrant, *miRefusal) {
	switch h := r.Header.Get("X-IDENTITY-HEADER"); {
	case h == "":
		return miGrant{}, miRefuse(http.StatusBadRequest, "", "The X-IDENTITY-HEADER header is missing.")
	case h != e.mi.identityHeader:
		return miGrant{}, miRefuse(http.StatusUnauthorized, "", "The X-IDENTITY-HEADER header is not valid.")
	}
	q := r.URL.Query()
	if q.Get("api-version") != "2019-08-01" {
		return miGrant{}, miRefuse(http.StatusBadRequest, "", "Unsupported api-version: use 2019-08-01.")
	}
	return miQuery(q, []string{"api-version", "resource"}, []string{"client_id", "mi_res_id", "object_id", "principal_id"})
}

// checkAzureArc answers the first request with a challenge file and
// accepts the second if it proves it read the file.
func (e *Emulator) checkAzureArc(r *http.Request) (miGrant, *miRefusal) {
	if r.Header.Get("Metadata") != "true" {
		return miGrant{}, miRefuse(http.StatusBadRequest, "invalid_request", "Required metadata header not specified.")
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != "2019-11-01" && v != "2020-06-01" {
		return miGrant{}, miRefuse(http.StatusBadRequest, "invalid_request", "Missing or unsupported api-version.")
	}
	g, refused := miQuery(q, []string{"api-version", "resource"}, nil)
	if refused != nil {
		return g, refused
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return g, e.arcChallenge()
	}
	secret, basic := strings.CutPrefix(auth, "Basic ")
	e.mu.Lock()
	path, ok := e.arcSecrets[secret]
	if basic && ok {
		delete(e.arcSecrets, secret) // each challenge is answered once
	}
	e.mu.Unlock()
	if !basic || !ok {
		return g, miRefuse(http.StatusUnauthorized, "unauthorized", "The challenge answer is not valid.")
	}
	os.Remove(path)
	return g, nil
}

// arcChallenge writes a secret to a new file and refuses the request,
// naming the file in WWW-Authenticate.
func (e *Emulator) arcChallenge() *miRefusal {
	secret := randomHex(32)
	path := filepath.Join(e.mi.arcDir, randomHex(8)+".key")
	if err := e.arcDirReady(); err != nil {
		return miRefuse(http.StatusInternalServerError, "server_error", "Cannot make the challenge folder.")
	}
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		return miRefuse(http.StatusInternalServerError, "server_error", "Cannot write the challenge file.")
	}
	e.mu.Lock()
	e.arcSecrets[secret] = path
	e.mu.Unlock()
	f := miRefuse(http.StatusUnauthorized, "unauthorized", "Read the challenge file and retry.")
	f.header = http.Header{"Www-Authenticate": {"Basic realm=" + path}}
	return f
}

func (e *Emulator) checkCloudShell(r *http.Request) (miGrant, *miRefusal) {
	// A media type with parameters is the same media type: MSAL Node
	// sends application/x-www-form-urlencoded;charset=utf-8.
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case r.Header.Get("Metadata") != "true":
		return miGrant{}, miRefuse(http.StatusBadRequest, "invalid_request", "Required metadata header not specified.")
	case mt != "application/x-www-form-urlencoded":
		return miGrant{}, miRefuse(http.StatusBadRequest, "invalid_request", "The body must be a form.")
	case r.URL.RawQuery != "":
		return miGrant{}, miRefuse(http.StatusBadRequest, "invalid_request", "Parameters go in the form, not the query.")
	}
	return miQuery(r.PostForm, []string{"resource"}, nil)
}

// checkServiceFabric checks a request as the Service Fabric token service
// does: it knows api-version, resource and, from 2020-05-01, principalId
// (a user-assigned identity's object id), and ignores every other
// parameter. A client that names an identity otherwise (object_id,
// client_id) gets the system-assigned identity's token, without an error.
func (e *Emulator) checkServiceFabric(r *http.Request) (miGrant, *miRefusal) {
	switch h := r.Header.Get("secret"); {
	case h == "":
		return miGrant{}, miRefuse(http.StatusUnauthorized, "SecretHeaderNotFound", "Secret is not found in the request headers.")
	case h != e.mi.identityHeader:
		return miGrant{}, miRefuse(http.StatusUnauthorized, "ManagedIdentityNotFound", "Managed identity not found for the specified application host.")
	}
	q := r.URL.Query()
	version := q.Get("api-version")
	if version != "2019-07-01-preview" && version != "2020-05-01" {
		return miGrant{}, miRefuse(http.StatusBadRequest, "InvalidApiVersion", "The api-version is not supported.")
	}
	known := []string{"api-version", "resource"}
	if version == "2020-05-01" {
		known = append(known, "principalId")
	}
	for k := range q {
		if !slices.Contains(known, k) {
			delete(q, k)
		}
	}
	g, refused := miQuery(q, known, []string{"principalId"})
	if refused != nil {
		refused.code = "ArgumentInvalid"
	}
	return g, refused
}

func (e *Emulator) checkMachineLearning(r *http.Request) (miGrant, *miRefusal) {
	if r.Header.Get("secret") != e.mi.msiSecret {
		return miGrant{}, miRefuse(http.StatusUnauthorized, "", "The secret header is missing or not valid.")
	}
	q := r.URL.Query()
	if q.Get("api-version") != "2017-09-01" {
		return miGrant{}, miRefuse(http.StatusBadRequest, "", "Unsupported api-version: use 2017-09-01.")
	}
	g, refused := miQuery(q, []string{"api-version", "resource"}, []string{"clientid"})
	if refused == nil && g.param == "" {
		refused = miRefuse(http.StatusBadRequest, "", "Required query variable 'clientid' is missing.")
	}
	return g, refused
}
