package entratest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/entra-go/entra/internal/csr"
)

// IMDSv2: managed identity over mTLS with proof-of-possession tokens. The
// host describes itself (platform metadata), issues a certificate for a
// key the client holds, and the token service's regional mTLS host
// issues mtls_pop tokens to whoever presents such a certificate.
const (
	epIMDSPlatformMetadata = "imds_platform_metadata"
	epIMDSIssueCredential  = "imds_issue_credential"

	imdsPlatformMetadataPath = "/metadata/identity/getplatformmetadata"
	imdsIssueCredentialPath  = "/metadata/identity/issuecredential"
	imdsCredAPIVersion       = "2.0"
	// imdsServer is the Server header real IMDS sends; clients look for
	// "IMDS" in it.
	imdsServer     = "IMDS/150.870.65.1854"
	emulatedVMID   = "00000000-0000-4000-8000-000000000e1a"
	emulatedVMSSID = "00000000-0000-4000-8000-000000000e1b"
	// defaultIMDSCertificateLifetime is how long IMDS certificates live.
	defaultIMDSCertificateLifetime = 7 * 24 * time.Hour
	// maxCredentialBody bounds an issuecredential request's body.
	maxCredentialBody = 64 << 10
)

// IssuedCredential is a certificate the emulated IMDS issued.
type IssuedCredential struct {
	// ClientID is the identity's client id, the certificate's CN.
	ClientID string
	// Certificate is the issued certificate.
	Certificate *x509.Certificate
	// Request is the DER of the certificate request the client sent.
	Request []byte
	// AttestationToken is what the client sent as attestation_token; "" if
	// it sent none.
	AttestationToken string
	// Revoked reports that RevokeIMDSCertificates revoked it.
	Revoked bool
	// grant is the identity selector of the request, for the tokens.
	grant miGrant
}

// RevokeIMDSCertificates revokes every certificate IMDSv2 has issued so
// far: the mTLS hosts answer requests presenting one with invalid_client
// (AADSTS1000613), which clients answer by minting a new certificate.
// Certificates issued afterwards are good.
func (e *Emulator) RevokeIMDSCertificates() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.imdsIssued {
		e.imdsIssued[i].Revoked = true
	}
}

// IssuedCredentials are the certificates the emulated IMDS issued, oldest first.
func (e *Emulator) IssuedCredentials() []IssuedCredential {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.imdsIssued)
}

// imdsCredentialIdentity checks what both IMDSv2 calls check: the
// Metadata header, cred-api-version, no other parameter than one identity
// selector.
func imdsCredentialIdentity(r *http.Request) (miGrant, *miRefusal) {
	var g miGrant
	switch {
	case r.Header.Get("X-Forwarded-For") != "":
		return g, miRefuse(http.StatusBadRequest, "invalid_request", "Request contains an X-Forwarded-For header.")
	case r.Header.Get("Metadata") != "true":
		return g, miRefuse(http.StatusBadRequest, "invalid_request", "Required metadata header not specified.")
	}
	q := r.URL.Query()
	if q.Get("cred-api-version") != imdsCredAPIVersion {
		return g, miRefuse(http.StatusBadRequest, "invalid_request", "Missing or unsupported cred-api-version.")
	}
	identity := []string{"client_id", "object_id", "mi_res_id"}
	for k, vs := range q {
		switch {
		case k == "cred-api-version":
		case !slices.Contains(identity, k):
			return g, miRefuse(http.StatusBadRequest, "invalid_request", "Unknown query parameter "+strconv.Quote(k)+".")
		case len(vs) != 1 || vs[0] == "" || g.param != "":
			return g, miRefuse(http.StatusBadRequest, "invalid_request", "One identity parameter, once, with a value.")
		default:
			g.param, g.value = k, vs[0]
		}
	}
	return g, nil
}

// cuID is the emulated VM's compute unit id, as platform metadata has it.
func cuID() map[string]string {
	return map[string]string{"vmId": emulatedVMID, "vmssId": emulatedVMSSID}
}

// platformMetadata answers getplatformmetadata: 404 on a host with IMDS
// v1 only (Options.IMDSv1Only), else the VM and the identity.
func (e *Emulator) platformMetadata(w http.ResponseWriter, r *http.Request) {
	if e.opts.IMDSv1Only {
		miWriteError(w, srcIMDS, miRefuse(http.StatusNotFound, "not_found", "The requested resource was not found."))
		return
	}
	g, refused := imdsCredentialIdentity(r)
	if refused != nil {
		miWriteError(w, srcIMDS, refused)
		return
	}
	clientID, _ := e.identityClaims(g)
	w.Header().Set("Server", imdsServer)
	writeJSON(w, http.StatusOK, map[string]any{
		"cuId": cuID(), "clientId": clientID, "tenantId": e.tenant,
		"attestationEndpoint": "https://entratest" + e.opts.Region + ".attest.azure.net",
	})
}

// issueCredential answers issuecredential: it checks the certificate
// request as the real issuer does and issues a certificate for its key.
func (e *Emulator) issueCredential(w http.ResponseWriter, r *http.Request) {
	if e.opts.IMDSv1Only {
		miWriteError(w, srcIMDS, miRefuse(http.StatusNotFound, "not_found", "The requested resource was not found."))
		return
	}
	g, refused := imdsCredentialIdentity(r)
	if refused == nil {
		var issued IssuedCredential
		if issued, refused = e.checkCredentialRequest(r, g); refused == nil {
			refused = e.answerCredential(w, issued)
		}
	}
	if refused != nil {
		miWriteError(w, srcIMDS, refused)
	}
}

func (e *Emulator) checkCredentialRequest(r *http.Request, g miGrant) (IssuedCredential, *miRefusal) {
	bad := func(msg string) (IssuedCredential, *miRefusal) {
		return IssuedCredential{}, miRefuse(http.StatusBadRequest, "invalid_request", msg)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return bad("The body must be application/json.")
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxCredentialBody+1))
	if err != nil || len(raw) > maxCredentialBody {
		return bad("The body cannot be read or is too large.")
	}
	var body struct {
		CSR              string `json:"csr"`
		AttestationToken string `json:"attestation_token"`
	}
	if json.Unmarshal(raw, &body) != nil || body.CSR == "" {
		return bad("The body must be a JSON object with a csr.")
	}
	der, err := base64.StdEncoding.DecodeString(body.CSR)
	if err != nil {
		return bad("The csr is not base64.")
	}
	req, err := csr.Parse(der)
	if err != nil {
		return bad("The certificate request is not valid: " + err.Error() + ".")
	}
	clientID, _ := e.identityClaims(g)
	var got map[string]string
	switch {
	case req.ClientID != clientID:
		return bad("The certificate request's CN is not the identity's client id.")
	case req.TenantID != e.tenant:
		return bad("The certificate request's DC is not the identity's tenant id.")
	case json.Unmarshal([]byte(req.CuID), &got) != nil || got["vmId"] != emulatedVMID || got["vmssId"] != emulatedVMSSID:
		return bad("The certificate request's cuId is not this VM's.")
	}
	now := e.opts.Now()
	lifetime := e.opts.IMDSCertificateLifetime
	if lifetime <= 0 {
		lifetime = defaultIMDSCertificateLifetime
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: clientID},
		NotBefore:    now.Add(-5 * time.Minute), NotAfter: now.Add(lifetime),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, e.ca.cert, req.CSR.PublicKey, e.ca.key)
	if err != nil {
		return IssuedCredential{}, miRefuse(http.StatusInternalServerError, "server_error", "Issuing the certificate failed.")
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return IssuedCredential{}, miRefuse(http.StatusInternalServerError, "server_error", "Issuing the certificate failed.")
	}
	return IssuedCredential{ClientID: clientID, Certificate: cert, Request: der, AttestationToken: body.AttestationToken, grant: g}, nil
}

func (e *Emulator) answerCredential(w http.ResponseWriter, issued IssuedCredential) *miRefusal {
	e.mu.Lock()
	e.imdsIssued = append(e.imdsIssued, issued)
	e.mu.Unlock()
	kind := "SystemAssigned"
	if issued.grant.param != "" {
		kind = "UserAssigned"
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"client_id": issued.ClientID, "tenant_id": e.tenant,
		"certificate":                  base64.StdEncoding.EncodeToString(issued.Certificate.Raw),
		"identity_type":                kind,
		"mtls_authentication_endpoint": "https://" + e.opts.Region + ".mtlsauth.microsoft.com",
	})
	return nil
}

// imdsCredential is the IMDS certificate a request to an mTLS host
// presents, if it presents one the emulator issued.
func (e *Emulator) imdsCredential(r *http.Request) (IssuedCredential, bool) {
	if !isMTLSEndpoint(r) || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return IssuedCredential{}, false
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.imdsIssued {
		if sha256.Sum256(c.Certificate.Raw) == sum {
			return c, true
		}
	}
	return IssuedCredential{}, false
}

// imdsPoPToken answers a token request authenticated by an IMDS
// certificate: an mtls_pop token for the identity, bound to it.
func (e *Emulator) imdsPoPToken(w http.ResponseWriter, r *http.Request, c IssuedCredential) {
	f := r.PostForm
	now := e.opts.Now()
	scopes := strings.Fields(f.Get("scope"))
	var refused *refusal
	switch {
	case c.Revoked:
		refused = refuse(401, "invalid_client", 1000613, "The managed identity certificate has been revoked.")
	case now.After(c.Certificate.NotAfter):
		refused = refuse(401, "invalid_client", 1000611, "The managed identity certificate has expired.")
	case f.Get("client_id") != c.ClientID:
		refused = refuse(401, "invalid_client", 1000610, "The client_id is not the certificate's identity.")
	case tenantOf(r) != e.tenant:
		refused = refuse(400, "invalid_request", 90002, "Tenant not found.")
	case f.Get("grant_type") != grantClientCredentials:
		refused = refuse(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
	case f.Get("token_type") != "mtls_pop":
		refused = refuse(400, "invalid_request", 900144, "A managed identity certificate gets mtls_pop tokens only.")
	case f.Has("client_assertion") || f.Has("client_secret"):
		refused = refuse(400, "invalid_request", 900144, "An mtls_pop request is authenticated by the TLS client certificate alone.")
	case len(scopes) != 1 || !strings.HasSuffix(scopes[0], "/.default"):
		refused = refuse(400, "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
	}
	if cl := f.Get("claims"); refused == nil && cl != "" {
		var v map[string]any
		if json.Unmarshal([]byte(cl), &v) != nil || v == nil {
			refused = refuse(400, "invalid_request", 90014, "The claims parameter is not a valid JSON object.")
		}
	}
	if refused != nil {
		refused.write(w, r)
		return
	}
	resource, _ := resourceOf(scopes)
	_, claims := e.identityClaims(c.grant)
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	claims["aud"], claims["tid"], claims["iss"] = resource, e.tenant, "https://sts.windows.net/"+e.tenant+"/"
	claims["iat"], claims["nbf"], claims["exp"] = now.Unix(), now.Unix(), now.Add(e.tokenLifetime()).Unix()
	claims["uti"], claims["idtyp"] = newGUID(), "app"
	claims["cnf"] = map[string]string{"x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}
	if region, ok := strings.CutSuffix(hostOnly(r.Host), ".mtlsauth.microsoft.com"); ok {
		claims["region"] = region
	}
	if cc := clientCapabilities(f.Get("claims")); len(cc) > 0 {
		claims["xms_cc"] = cc
	}
	at, err := e.sign(claims)
	if err != nil {
		writeError(w, r, http.StatusInternalServerError, "server_error", 90004, "Signing failed.")
		return
	}
	secs := int64(e.tokenLifetime() / time.Second)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "mtls_pop", "expires_in": secs, "ext_expires_in": secs, "access_token": at})
}
