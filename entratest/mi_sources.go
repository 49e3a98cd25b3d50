package entratest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// miRefusal is an answer a real endpoint gives to a request it refuses.
type miRefusal struct {
	status    int
	code, msg string
}

func miRefuse(status int, code, msg string) *miRefusal {
	return &miRefusal{status: status, code: code, msg: msg}
}

// serveHTTP routes the plain-HTTP listener's sources by path.
func (e *ManagedIdentityEmulator) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var s MISource
	switch r.URL.Path {
	case miPathIMDS:
		s = MISourceIMDS
	case miPathAppService:
		s = MISourceAppService
	case miPathAzureArc:
		s = MISourceAzureArc
	case miPathCloudShell:
		s = MISourceCloudShell
	case miPathMachineLearning:
		s = MISourceMachineLearning
	}
	e.serve(w, r, s)
}

// serveServiceFabric serves the HTTPS listener.
func (e *ManagedIdentityEmulator) serveServiceFabric(w http.ResponseWriter, r *http.Request) {
	var s MISource
	if r.URL.Path == miPathServiceFabric {
		s = MISourceServiceFabric
	}
	e.serve(w, r, s)
}

func (e *ManagedIdentityEmulator) serve(w http.ResponseWriter, r *http.Request, s MISource) {
	fault := e.record(r, s)
	if fault.apply(w, r, s) {
		return
	}
	var tok MIToken
	var refusal *miRefusal
	switch s {
	case MISourceIMDS:
		tok, refusal = e.checkIMDS(r)
	case MISourceAppService:
		tok, refusal = e.checkAppService(r)
	case MISourceAzureArc:
		var answered bool
		if tok, refusal, answered = e.checkAzureArc(w, r); answered {
			return
		}
	case MISourceCloudShell:
		tok, refusal = e.checkCloudShell(r)
	case MISourceServiceFabric:
		tok, refusal = e.checkServiceFabric(r)
	case MISourceMachineLearning:
		tok, refusal = e.checkMachineLearning(r)
	default:
		refusal = miRefuse(http.StatusNotFound, "not_found", "No managed identity endpoint at this path.")
	}
	if refusal != nil {
		miWriteError(w, s, refusal.status, refusal.code, refusal.msg)
		return
	}
	tok.Source = s
	e.issue(w, tok)
}

// miQuery checks a query's parameters: each at most once, none unknown
// (allowed plus identity parameters), a resource, and at most one
// identity selector.
func miQuery(q url.Values, allowed, identity []string) (MIToken, *miRefusal) {
	var tok MIToken
	for k, vs := range q {
		if !slices.Contains(allowed, k) && !slices.Contains(identity, k) {
			return tok, miRefuse(http.StatusBadRequest, "invalid_request", "Unknown query parameter "+strconv.Quote(k)+".")
		}
		if len(vs) != 1 {
			return tok, miRefuse(http.StatusBadRequest, "invalid_request", "Repeated query parameter "+strconv.Quote(k)+".")
		}
		if slices.Contains(identity, k) {
			if tok.IdentityParam != "" {
				return tok, miRefuse(http.StatusBadRequest, "invalid_request", "More than one identity parameter.")
			}
			if vs[0] == "" {
				return tok, miRefuse(http.StatusBadRequest, "invalid_request", "Empty identity parameter "+strconv.Quote(k)+".")
			}
			tok.IdentityParam, tok.IdentityValue = k, vs[0]
		}
	}
	if tok.Resource = q.Get("resource"); tok.Resource == "" {
		return tok, miRefuse(http.StatusBadRequest, "invalid_request", "Required query variable 'resource' is missing.")
	}
	return tok, nil
}

func (e *ManagedIdentityEmulator) checkIMDS(r *http.Request) (MIToken, *miRefusal) {
	switch {
	case r.Method != http.MethodGet:
		return MIToken{}, miRefuse(http.StatusMethodNotAllowed, "invalid_request", "The request method is not supported.")
	case r.Header.Get("X-Forwarded-For") != "":
		return MIToken{}, miRefuse(http.StatusBadRequest, "invalid_request", "Request contains an X-Forwarded-For header.")
	case r.Header.Get("Metadata") != "true":
		return MIToken{}, miRefuse(http.StatusBadRequest, "invalid_request", "Required metadata header not specified.")
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != "2018-02-01" && v != "2019-08-01" {
		return MIToken{}, miRefuse(http.StatusBadRequest, "invalid_request", "Missing or unsupported api-version.")
	}
	tok, refusal := miQuery(q, []string{"api-version", "resource", "claims"}, []string{"client_id", "msi_res_id", "object_id"})
	if refusal != nil {
		return tok, refusal
	}
	if q.Has("claims") {
		var top map[string]json.RawMessage
		if json.Unmarshal([]byte(q.Get("claims")), &top) != nil || top == nil {
			return tok, miRefuse(http.StatusBadRequest, "invalid_request", "The claims parameter is not a JSON object.")
		}
		for k := range top {
			if k != "xms_az_nwperimid" {
				return tok, miRefuse(http.StatusBadRequest, "invalid_request", "The claim "+strconv.Quote(k)+" is not accepted.")
			}
		}
		tok.Claims = q.Get("claims")
	}
	return tok, nil
}

func (e *ManagedIdentityEmulator) checkAppService(r *http.Request) (MIToken, *miRefusal) {
	switch h := r.Header.Get("X-IDENTITY-HEADER"); {
	case r.Method != http.MethodGet:
		return MIToken{}, miRefuse(http.StatusMethodNotAllowed, "", "The request method is not supported.")
	case h == "":
		return MIToken{}, miRefuse(http.StatusBadRequest, "", "The X-IDENTITY-HEADER header is missing.")
	case h != e.identityHeader:
		return MIToken{}, miRefuse(http.StatusUnauthorized, "", "The X-IDENTITY-HEADER header is not valid.")
	}
	q := r.URL.Query()
	if q.Get("api-version") != "2019-08-01" {
		return MIToken{}, miRefuse(http.StatusBadRequest, "", "Unsupported api-version: use 2019-08-01.")
	}
	return miQuery(q, []string{"api-version", "resource"}, []string{"client_id", "mi_res_id", "object_id", "principal_id"})
}

// checkAzureArc answers the first request with a challenge file and
// accepts the second if it proves it read the file.
func (e *ManagedIdentityEmulator) checkAzureArc(w http.ResponseWriter, r *http.Request) (MIToken, *miRefusal, bool) {
	switch {
	case r.Method != http.MethodGet:
		return MIToken{}, miRefuse(http.StatusMethodNotAllowed, "invalid_request", "The request method is not supported."), false
	case r.Header.Get("Metadata") != "true":
		return MIToken{}, miRefuse(http.StatusBadRequest, "invalid_request", "Required metadata header not specified."), false
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != "2019-11-01" && v != "2020-06-01" {
		return MIToken{}, miRefuse(http.StatusBadRequest, "invalid_request", "Missing or unsupported api-version."), false
	}
	tok, refusal := miQuery(q, []string{"api-version", "resource"}, nil)
	if refusal != nil {
		return tok, refusal, false
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		secret := miRandom(32)
		path := filepath.Join(e.arcDir, miRandom(8)+".key")
		if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
			return tok, miRefuse(http.StatusInternalServerError, "server_error", "Cannot write the challenge file."), false
		}
		e.mu.Lock()
		e.arcSecrets[secret] = path
		e.mu.Unlock()
		w.Header().Set("WWW-Authenticate", "Basic realm="+path)
		miWriteError(w, MISourceAzureArc, http.StatusUnauthorized, "unauthorized", "Read the challenge file and retry.")
		return tok, nil, true
	}
	secret, basic := strings.CutPrefix(auth, "Basic ")
	e.mu.Lock()
	path, ok := e.arcSecrets[secret]
	if basic && ok {
		delete(e.arcSecrets, secret) // each challenge is answered once
	}
	e.mu.Unlock()
	if !basic || !ok {
		return tok, miRefuse(http.StatusUnauthorized, "unauthorized", "The challenge answer is not valid."), false
	}
	os.Remove(path)
	return tok, nil, false
}

func (e *ManagedIdentityEmulator) checkCloudShell(r *http.Request) (MIToken, *miRefusal) {
	switch {
	case r.Method != http.MethodPost:
		return MIToken{}, miRefuse(http.StatusMethodNotAllowed, "invalid_request", "The request method is not supported.")
	case r.Header.Get("Metadata") != "true":
		return MIToken{}, miRefuse(http.StatusBadRequest, "invalid_request", "Required metadata header not specified.")
	case r.Header.Get("Content-Type") != "application/x-www-form-urlencoded":
		return MIToken{}, miRefuse(http.StatusBadRequest, "invalid_request", "The body must be a form.")
	case r.URL.RawQuery != "":
		return MIToken{}, miRefuse(http.StatusBadRequest, "invalid_request", "Parameters go in the form, not the query.")
	}
	return miQuery(r.PostForm, []string{"resource"}, nil)
}

func (e *ManagedIdentityEmulator) checkServiceFabric(r *http.Request) (MIToken, *miRefusal) {
	switch h := r.Header.Get("secret"); {
	case r.Method != http.MethodGet:
		return MIToken{}, miRefuse(http.StatusMethodNotAllowed, "MethodNotAllowed", "The request method is not supported.")
	case h == "":
		return MIToken{}, miRefuse(http.StatusUnauthorized, "SecretHeaderNotFound", "Secret is not found in the request headers.")
	case h != e.identityHeader:
		return MIToken{}, miRefuse(http.StatusUnauthorized, "ManagedIdentityNotFound", "Managed identity not found for the specified application host.")
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != "2019-07-01-preview" && v != "2020-05-01" {
		return MIToken{}, miRefuse(http.StatusBadRequest, "InvalidApiVersion", "The api-version is not supported.")
	}
	tok, refusal := miQuery(q, []string{"api-version", "resource"}, []string{"object_id"})
	if refusal != nil {
		refusal.code = "ArgumentInvalid"
	}
	return tok, refusal
}

func (e *ManagedIdentityEmulator) checkMachineLearning(r *http.Request) (MIToken, *miRefusal) {
	switch h := r.Header.Get("secret"); {
	case r.Method != http.MethodGet:
		return MIToken{}, miRefuse(http.StatusMethodNotAllowed, "", "The request method is not supported.")
	case h != e.msiSecret:
		return MIToken{}, miRefuse(http.StatusUnauthorized, "", "The secret header is missing or not valid.")
	}
	q := r.URL.Query()
	if q.Get("api-version") != "2017-09-01" {
		return MIToken{}, miRefuse(http.StatusBadRequest, "", "Unsupported api-version: use 2017-09-01.")
	}
	tok, refusal := miQuery(q, []string{"api-version", "resource"}, []string{"clientid"})
	if refusal == nil && tok.IdentityParam == "" {
		refusal = miRefuse(http.StatusBadRequest, "", "Required query variable 'clientid' is missing.")
	}
	return tok, refusal
}

// issue answers with a new token in the source's response shape.
func (e *ManagedIdentityEmulator) issue(w http.ResponseWriter, tok MIToken) {
	now := e.opts.Now()
	lifetime := e.opts.TokenLifetime
	tok.ExpiresOn = now.Add(lifetime).Truncate(time.Second)
	token := "mi." + string(tok.Source) + "." + miRandom(24)
	e.mu.Lock()
	e.issued[token] = tok
	e.mu.Unlock()

	unix := strconv.FormatInt(tok.ExpiresOn.Unix(), 10)
	secs := strconv.FormatInt(int64(lifetime/time.Second), 10)
	clientID := tok.IdentityValue
	if tok.IdentityParam != "client_id" && tok.IdentityParam != "clientid" {
		clientID = miGUID()
	}
	var body map[string]any
	switch tok.Source {
	case MISourceIMDS, MISourceAzureArc, MISourceCloudShell:
		// IMDS sends every number as a string.
		body = map[string]any{
			"access_token": token, "client_id": clientID, "expires_in": secs, "expires_on": unix,
			"ext_expires_in": secs, "not_before": strconv.FormatInt(now.Unix(), 10),
			"resource": tok.Resource, "token_type": "Bearer",
		}
		if e.opts.RefreshIn > 0 {
			body["refresh_in"] = strconv.FormatInt(int64(e.opts.RefreshIn/time.Second), 10)
		}
	case MISourceAppService:
		expires := any(unix)
		if e.opts.AppServiceDateExpiry {
			expires = tok.ExpiresOn.UTC().Format("01/02/2006 15:04:05 -07:00")
		}
		body = map[string]any{"access_token": token, "expires_on": expires, "resource": tok.Resource,
			"token_type": "Bearer", "client_id": clientID}
	case MISourceServiceFabric:
		body = map[string]any{"token_type": "Bearer", "access_token": token,
			"expires_on": tok.ExpiresOn.Unix(), "resource": tok.Resource}
	case MISourceMachineLearning:
		// The 2017-09-01 protocol's date form.
		body = map[string]any{"access_token": token, "expires_on": tok.ExpiresOn.UTC().Format("01/02/2006 15:04:05 -07:00"),
			"resource": tok.Resource, "token_type": "Bearer", "client_id": clientID}
	}
	miWriteJSON(w, http.StatusOK, body)
}

// miWriteError answers with an error in the source's shape.
func miWriteError(w http.ResponseWriter, s MISource, status int, code, msg string) {
	switch s {
	case MISourceAppService, MISourceMachineLearning:
		miWriteJSON(w, status, map[string]any{"statusCode": status, "message": msg, "correlationId": miGUID()})
	case MISourceServiceFabric:
		if code == "" {
			code = http.StatusText(status)
		}
		miWriteJSON(w, status, map[string]any{"error": map[string]string{
			"correlationId": miGUID(), "code": code, "message": msg}})
	default:
		if code == "" {
			code = "invalid_request"
		}
		miWriteJSON(w, status, map[string]string{"error": code, "error_description": msg})
	}
}

func miWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
