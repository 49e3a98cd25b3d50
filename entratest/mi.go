package entratest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// miHost is what the emulated Azure host holds for its managed identity
// endpoints: their secrets, the system-assigned identity and the Azure Arc
// challenge folder.
type miHost struct {
	identityHeader, msiSecret string // IDENTITY_HEADER, MSI_SECRET
	clientID, objectID        string // the system-assigned identity
	thumbprint                string // IDENTITY_SERVER_THUMBPRINT
	arcDir                    string
	// ownArcDir: the emulator chose arcDir and makes it at the first
	// challenge (making a folder costs a millisecond or more, and most
	// emulators never see an Arc request); arcDirMade, guarded by the
	// emulator's mu, says it did, and Close removes it.
	ownArcDir, arcDirMade bool
}

func newMIHost(arcDir string, serviceFabricCert *x509.Certificate) miHost {
	h := miHost{
		identityHeader: randomHex(16), msiSecret: randomHex(16),
		clientID: newGUID(), objectID: newGUID(),
		thumbprint: thumbprint(serviceFabricCert), arcDir: arcDir,
	}
	if h.arcDir == "" {
		h.arcDir, h.ownArcDir = filepath.Join(os.TempDir(), "entratest-arc-"+randomHex(8)), true
	}
	return h
}

// arcDirReady makes the Arc folder if the emulator owns it and has not
// made it yet. Mkdir, not MkdirAll: a folder someone else made is refused.
func (e *Emulator) arcDirReady() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.mi.ownArcDir || e.mi.arcDirMade {
		return nil
	}
	if e.closing {
		return errors.New("entratest: the emulator is closed")
	}
	if err := os.Mkdir(e.mi.arcDir, 0o700); err != nil {
		return err
	}
	e.mi.arcDirMade = true
	return nil
}

// removeArcDir removes the Arc folder the emulator made. Close calls it
// once no handler runs.
func (e *Emulator) removeArcDir() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mi.arcDirMade {
		os.RemoveAll(e.mi.arcDir)
	}
}

// miPath is the token path of a source: IMDS's real one on the plain-HTTP
// listener, so that the listener's URL is an IMDS base URL, paths of our
// choosing for the other plain-HTTP sources, and Service Fabric's real
// one on its own listener.
func miPath(source string) string {
	switch source {
	case srcIMDS, srcServiceFabric:
		return "/metadata/identity/oauth2/token"
	case srcAppService:
		return "/appservice/msi/token"
	case srcAzureArc:
		return "/arc/metadata/identity/oauth2/token"
	case srcCloudShell:
		return "/cloudshell/oauth2/token"
	case srcMachineLearning:
		return "/ml/msi/token"
	}
	return ""
}

// isSource reports whether an endpoint name is a managed identity source.
func isSource(endpoint string) bool { return miPath(endpoint) != "" }

// ManagedIdentityURL is the token endpoint of a managed identity source
// ("imds", "app_service", "azure_arc", "cloud_shell", "service_fabric",
// "machine_learning"); "" for another name.
func (e *Emulator) ManagedIdentityURL(source string) string {
	switch {
	case source == srcServiceFabric:
		return "https://" + e.sfLn.Addr().String() + miPath(source)
	case isSource(source):
		return e.IMDSURL() + miPath(source)
	}
	return ""
}

// ManagedIdentityEnv is the environment a host of the source sets for its
// processes: what a client needs to detect the source and reach it.
func (e *Emulator) ManagedIdentityEnv(source string) map[string]string {
	u := e.ManagedIdentityURL(source)
	switch source {
	case srcIMDS:
		return map[string]string{"AZURE_POD_IDENTITY_AUTHORITY_HOST": e.IMDSURL()}
	case srcAppService:
		return map[string]string{"IDENTITY_ENDPOINT": u, "IDENTITY_HEADER": e.mi.identityHeader}
	case srcAzureArc:
		return map[string]string{"IDENTITY_ENDPOINT": u, "IMDS_ENDPOINT": e.IMDSURL()}
	case srcCloudShell:
		return map[string]string{"MSI_ENDPOINT": u}
	case srcServiceFabric:
		return map[string]string{"IDENTITY_ENDPOINT": u, "IDENTITY_HEADER": e.mi.identityHeader,
			"IDENTITY_SERVER_THUMBPRINT": e.mi.thumbprint}
	case srcMachineLearning:
		return map[string]string{"MSI_ENDPOINT": u, "MSI_SECRET": e.mi.msiSecret,
			"DEFAULT_IDENTITY_CLIENT_ID": e.mi.clientID}
	}
	return map[string]string{}
}

// Getenv looks names up in ManagedIdentityEnv(source): a process's
// environment on a host of the source, for managedidentity.Config.Getenv.
func (e *Emulator) Getenv(source string) func(string) string {
	env := e.ManagedIdentityEnv(source)
	return func(name string) string { return env[name] }
}

// ArcTokenDir is the folder Azure Arc challenge files are written to,
// made at the first call if it is the emulator's own.
func (e *Emulator) ArcTokenDir() string {
	// A failure to make it shows where it matters: the challenge answers
	// 500, and a test writing there gets the error from the file system.
	e.arcDirReady()
	return e.mi.arcDir
}

// ManagedIdentityObjectID is the object id of the identity that a request
// naming it by param=value gets a token for: the subject of its tokens,
// to register in a FederatedCredential. param is an identity parameter of
// the sources (client_id, object_id, msi_res_id and the sources' other
// spellings of these); "" names the system-assigned identity.
func (e *Emulator) ManagedIdentityObjectID(param, value string) string {
	_, claims := e.identityClaims(miGrant{param: param, value: value})
	return claims["oid"].(string)
}

// DefaultIdentityClientID is the client id of the host's system-assigned
// managed identity (Machine Learning's DEFAULT_IDENTITY_CLIENT_ID), the
// appid of the tokens every source issues for it.
func (e *Emulator) DefaultIdentityClientID() string { return e.mi.clientID }

// miGrant is what a managed identity request asked for.
type miGrant struct {
	resource string
	// param and value are the identity selector sent (e.g. client_id);
	// both "" for the system-assigned identity.
	param, value string
}

// miCheck checks a request to a source the way the real one does.
type miCheck func(*http.Request) (miGrant, *miRefusal)

// miRefusal is an answer a source gives to a request it refuses.
type miRefusal struct {
	status    int
	code, msg string
	header    http.Header
}

func miRefuse(status int, code, msg string) *miRefusal {
	return &miRefusal{status: status, code: code, msg: msg}
}

// serveSource answers a source's token requests that check passes.
func (e *Emulator) serveSource(source string, check miCheck) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g, refused := check(r)
		if refused != nil {
			miWriteError(w, source, refused)
			return
		}
		e.issueManagedIdentityToken(w, source, g)
	}
}

// miLifetime is the lifetime of managed identity tokens.
func (e *Emulator) miLifetime() time.Duration {
	if e.opts.TokenLifetime > 0 {
		return e.opts.TokenLifetime
	}
	return 24 * time.Hour
}

// issueManagedIdentityToken answers with a signed token in the source's
// response shape.
func (e *Emulator) issueManagedIdentityToken(w http.ResponseWriter, source string, g miGrant) {
	now := e.opts.Now()
	expires := now.Add(e.miLifetime()).Truncate(time.Second)
	clientID, claims := e.identityClaims(g)
	claims["aud"], claims["tid"], claims["iss"] = g.resource, e.tenant, "https://sts.windows.net/"+e.tenant+"/"
	if aud, ok := exchangeAudience(g.resource); ok {
		// A token meant as a federated credential is in Entra's v2.0
		// form, whose issuer and subject an app registration trusts.
		claims["aud"], claims["iss"], claims["ver"] = aud, e.miIssuer(), "2.0"
	}
	claims["iat"], claims["nbf"], claims["exp"] = now.Unix(), now.Unix(), expires.Unix()
	claims["uti"], claims["idtyp"] = newGUID(), "app"
	token, err := e.sign(claims)
	if err != nil {
		miWriteError(w, source, miRefuse(http.StatusInternalServerError, "server_error", "Signing failed."))
		return
	}
	writeJSON(w, http.StatusOK, e.miBody(source, token, clientID, g.resource, now, expires))
}

// identityClaims are the claims that name the identity a grant is for:
// the system-assigned identity, or the user-assigned one its selector
// names. The emulator keeps no registry of user-assigned identities: the
// ids a request does not name are derived from the one it names, the same
// at every request.
func (e *Emulator) identityClaims(g miGrant) (clientID string, claims map[string]any) {
	objectID := e.mi.objectID
	clientID = e.mi.clientID
	claims = map[string]any{}
	switch g.param {
	case "client_id", "clientid":
		if g.value != e.mi.clientID {
			clientID, objectID = g.value, derivedID("object", g.value)
		}
	case "object_id", "principal_id", "principalId":
		clientID, objectID = derivedID("client", g.value), g.value
	case "msi_res_id", "mi_res_id":
		clientID, objectID = derivedID("client", g.value), derivedID("object", g.value)
		claims["xms_mirid"] = g.value
	}
	claims["appid"], claims["azp"], claims["oid"], claims["sub"] = clientID, clientID, objectID, objectID
	return clientID, claims
}

// miBody is a token answer in the source's shape.
func (e *Emulator) miBody(source, token, clientID, resource string, now, expires time.Time) map[string]any {
	unix := strconv.FormatInt(expires.Unix(), 10)
	secs := strconv.FormatInt(int64(e.miLifetime()/time.Second), 10)
	// App Service's older date form.
	date := expires.UTC().Format("01/02/2006 15:04:05 -07:00")
	switch source {
	case srcAppService:
		body := map[string]any{"access_token": token, "expires_on": unix, "resource": resource, "token_type": "Bearer", "client_id": clientID}
		if e.opts.AppServiceDateExpiry {
			body["expires_on"] = date
		}
		return body
	case srcServiceFabric:
		return map[string]any{"token_type": "Bearer", "access_token": token, "expires_on": expires.Unix(), "resource": resource}
	case srcMachineLearning:
		// Unix seconds, as a number: the real endpoint's answer, which
		// azidentity and MSAL Node parse (a date string they do not).
		return map[string]any{"access_token": token, "expires_on": expires.Unix(), "resource": resource, "token_type": "Bearer", "client_id": clientID}
	}
	// IMDS, Azure Arc and Cloud Shell send every number as a string.
	body := map[string]any{
		"access_token": token, "client_id": clientID, "expires_in": secs, "expires_on": unix,
		"ext_expires_in": secs, "not_before": strconv.FormatInt(now.Unix(), 10),
		"resource": resource, "token_type": "Bearer",
	}
	if e.opts.RefreshIn > 0 {
		body["refresh_in"] = strconv.FormatInt(int64(e.opts.RefreshIn/time.Second), 10)
	}
	return body
}

// miWriteError answers with an error in the source's shape.
func miWriteError(w http.ResponseWriter, source string, f *miRefusal) {
	for k, vs := range f.header {
		w.Header()[k] = vs
	}
	switch source {
	case srcAppService, srcMachineLearning:
		writeJSON(w, f.status, map[string]any{"statusCode": f.status, "message": f.msg, "correlationId": newGUID()})
	case srcServiceFabric:
		code := f.code
		if code == "" {
			code = http.StatusText(f.status)
		}
		writeJSON(w, f.status, map[string]any{"error": map[string]string{"correlationId": newGUID(), "code": code, "message": f.msg}})
	default:
		code := f.code
		if code == "" {
			code = "invalid_request"
		}
		writeJSON(w, f.status, map[string]string{"error": code, "error_description": f.msg})
	}
}

// derivedID is a GUID made from a name: the same name, the same GUID.
func derivedID(kind, name string) string {
	sum := sha256.Sum256([]byte("entratest " + kind + "\x00" + name))
	sum[6] = sum[6]&0x0f | 0x80 // version 8: a custom GUID
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
