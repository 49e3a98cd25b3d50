package entratest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/entra-go/entra/internal/jws"
)

const (
	grantClientCredentials = "client_credentials"
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantRefreshToken      = "refresh_token"
	assertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	assertionTypeJWTPoP    = "urn:ietf:params:oauth:client-assertion-type:jwt-pop"
	clockSkew              = 5 * time.Minute
)

type refreshGrant struct {
	clientID string
	user     User
}

// serveHTTPS routes a request on any emulated host by its path.
func (e *Emulator) serveHTTPS(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	p := r.URL.Path
	switch {
	case p == "/common/discovery/instance":
		e.instanceDiscovery(w, r)
	case p == "/oidc/.well-known/openid-configuration":
		e.openIDConfiguration(w, r, "https://"+r.Host+"/oidc", "/oidc/token", "/oidc/authorize", "/oidc/keys", "/oidc/mtls/token")
	case p == "/adfs/.well-known/openid-configuration":
		e.openIDConfiguration(w, r, "https://"+r.Host+"/adfs", "/adfs/oauth2/token", "/adfs/oauth2/authorize", "/adfs/discovery/keys", "")
	case p == "/oidc/token" || p == "/oidc/mtls/token" || p == "/adfs/oauth2/token":
		e.token(w, r, segs[0])
	case p == "/oidc/authorize" || p == "/adfs/oauth2/authorize":
		e.authorize(w, r, segs[0])
	case len(segs) == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "authorize":
		e.authorize(w, r, segs[0])
	case len(segs) == 5 && segs[2] == "oauth2" && segs[3] == "v2.0" && segs[4] == "authorize":
		e.authorize(w, r, segs[0])
	case p == "/oidc/keys" || p == "/adfs/discovery/keys":
		e.keys(w, r)
	case len(segs) == 4 && segs[1] == "v2.0" && segs[2] == ".well-known" && segs[3] == "openid-configuration":
		base := "/" + segs[0]
		e.openIDConfiguration(w, r, "https://"+r.Host+base+"/v2.0", base+"/oauth2/v2.0/token", base+"/oauth2/v2.0/authorize", base+"/discovery/v2.0/keys", "")
	case len(segs) == 5 && segs[2] == "v2.0" && segs[3] == ".well-known":
		base := "/" + segs[0] + "/" + segs[1]
		e.openIDConfiguration(w, r, "https://"+r.Host+base+"/v2.0", base+"/oauth2/v2.0/token", base+"/oauth2/v2.0/authorize", base+"/discovery/v2.0/keys", "")
	case len(segs) >= 3 && strings.HasSuffix(p, "/discovery/v2.0/keys"):
		e.keys(w, r)
	case len(segs) == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "token":
		e.token(w, r, segs[0])
	case len(segs) == 5 && segs[2] == "oauth2" && segs[3] == "v2.0" && segs[4] == "token":
		e.token(w, r, segs[0])
	default:
		if e.record(r, "unknown").apply(w, r) {
			return
		}
		writeError(w, r, http.StatusNotFound, "invalid_request", 90002, "No such endpoint.")
	}
}

func (e *Emulator) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	if e.record(r, "instance_discovery").apply(w, r) {
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeError(w, r, http.StatusBadRequest, "invalid_request", 900561, "api-version is required.")
		return
	}
	host := strings.ToLower(r.Host)
	if ep := r.URL.Query().Get("authorization_endpoint"); ep != "" {
		if i := strings.Index(ep, "://"); i >= 0 {
			host = strings.ToLower(strings.SplitN(ep[i+3:], "/", 2)[0])
		}
	}
	metadata := []map[string]any{
		{"preferred_network": "login.microsoftonline.com", "preferred_cache": "login.windows.net",
			"aliases": []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"}},
		{"preferred_network": "login.partner.microsoftonline.cn", "preferred_cache": "login.partner.microsoftonline.cn",
			"aliases": []string{"login.partner.microsoftonline.cn", "login.chinacloudapi.cn"}},
		{"preferred_network": "login.microsoftonline.us", "preferred_cache": "login.microsoftonline.us",
			"aliases": []string{"login.microsoftonline.us", "login.usgovcloudapi.net"}},
	}
	known := false
	for _, m := range metadata {
		for _, a := range m["aliases"].([]string) {
			known = known || a == host
		}
	}
	if !known {
		metadata = append(metadata, map[string]any{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": "https://" + host + "/common/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata":                  metadata,
	})
}

// openIDConfiguration serves a discovery document; mtlsToken, if set, is
// the RFC 8705 mTLS alias of the token endpoint.
func (e *Emulator) openIDConfiguration(w http.ResponseWriter, r *http.Request, issuer, token, authorize, keys, mtlsToken string) {
	if e.record(r, "openid_configuration").apply(w, r) {
		return
	}
	base := "https://" + r.Host
	doc := map[string]any{
		"issuer":                                issuer,
		"token_endpoint":                        base + token,
		"authorization_endpoint":                base + authorize,
		"jwks_uri":                              base + keys,
		"response_types_supported":              []string{"code", "id_token", "code id_token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt"},
		"code_challenge_methods_supported":      []string{"S256"},
	}
	if mtlsToken != "" {
		doc["mtls_endpoint_aliases"] = map[string]string{"token_endpoint": base + mtlsToken}
		doc["tls_client_certificate_bound_access_tokens"] = true
		doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_post", "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"}
	}
	writeJSON(w, http.StatusOK, doc)
}

func (e *Emulator) keys(w http.ResponseWriter, r *http.Request) {
	if e.record(r, "keys").apply(w, r) {
		return
	}
	pub := e.signer.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": e.keyID,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// token is the token endpoint of every authority kind.
func (e *Emulator) token(w http.ResponseWriter, r *http.Request, tenant string) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	formErr := r.ParseForm()
	if e.record(r, "token").apply(w, r) {
		return
	}
	if r.Method != http.MethodPost || mt != "application/x-www-form-urlencoded" || formErr != nil {
		writeError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded and sent with POST.")
		return
	}
	f := r.PostForm
	clientID, status, code, aadsts, msg := e.authenticate(r)
	if code != "" {
		writeError(w, r, status, code, aadsts, msg)
		return
	}
	if c := f.Get("claims"); c != "" {
		var v map[string]any
		if json.Unmarshal([]byte(c), &v) != nil || v == nil {
			writeError(w, r, http.StatusBadRequest, "invalid_request", 90014, "The claims parameter is not a valid JSON object.")
			return
		}
	}
	scopes := strings.Fields(f.Get("scope"))
	var user *User
	var nonce string
	pop := f.Get("token_type") == "mtls_pop"
	if pop && (tenant == "common" || tenant == "organizations") {
		writeError(w, r, http.StatusBadRequest, "invalid_request", 90009, "mtls_pop tokens need a tenanted authority.")
		return
	}
	switch f.Get("grant_type") {
	case grantClientCredentials:
		// The reserved OpenID scopes some libraries add mean nothing here.
		scopes = slices.DeleteFunc(scopes, func(s string) bool { return s == "openid" || s == "profile" || s == "offline_access" })
		if len(scopes) != 1 || !strings.HasSuffix(scopes[0], "/.default") {
			writeError(w, r, http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
			return
		}
		if tenant == "common" || tenant == "organizations" {
			writeError(w, r, http.StatusBadRequest, "invalid_request", 90009, "Application is requesting a token for itself. This scenario is supported only if resource is specified using the GUID based App Identifier.")
			return
		}
	case grantJWTBearer:
		if f.Get("requested_token_use") != "on_behalf_of" {
			writeError(w, r, http.StatusBadRequest, "invalid_request", 50027, "requested_token_use must be on_behalf_of.")
			return
		}
		u, ok := e.verifyUserToken(f.Get("assertion"), clientID)
		if !ok {
			writeError(w, r, http.StatusBadRequest, "invalid_grant", 50013, "Assertion failed signature validation, has expired or is not for this application.")
			return
		}
		user = &u
	case grantRefreshToken:
		e.mu.Lock()
		g, ok := e.refresh[f.Get("refresh_token")]
		family := e.clients[clientID].FamilyID
		if ok && (g.clientID == clientID || (family != "" && e.clients[g.clientID].FamilyID == family)) {
			delete(e.refresh, f.Get("refresh_token")) // rotation: a refresh token is good once
		} else {
			ok = false
		}
		e.mu.Unlock()
		if !ok {
			writeError(w, r, http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. The refresh token is malformed, expired, was already used or belongs to another application.")
			return
		}
		user = &g.user
	case grantAuthorizationCode:
		code, status, errCode, aadsts, msg := e.redeemCode(r, clientID)
		if errCode != "" {
			writeError(w, r, status, errCode, aadsts, msg)
			return
		}
		user, nonce = &code.user, code.nonce
		if len(scopes) == 0 {
			scopes = strings.Fields(code.scope)
		}
	default:
		writeError(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
		return
	}
	e.issue(w, r, tenant, clientID, scopes, user, nonce, pop)
}

// authenticate checks the client's secret, assertion or, on the mTLS
// endpoints, certificate.
func (e *Emulator) authenticate(r *http.Request) (clientID string, status int, code string, aadsts int, msg string) {
	f := r.PostForm
	clientID = f.Get("client_id")
	overMTLS := isMTLSEndpoint(r)
	var cert *x509.Certificate
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		cert = r.TLS.PeerCertificates[0]
	}
	if overMTLS && cert == nil {
		return "", 400, "invalid_client", 700027, "A client certificate is required on the mutual TLS endpoint; none was presented in the TLS handshake."
	}
	popType := f.Get("token_type") == "mtls_pop"
	if popType && !overMTLS {
		return "", 400, "invalid_request", 900144, "token_type mtls_pop requires mutual TLS: use the mtlsauth endpoint."
	}
	var assertion *jws.Token
	if a := f.Get("client_assertion"); a != "" {
		switch f.Get("client_assertion_type") {
		case assertionTypeJWTBearer:
			if popType {
				return "", 400, "invalid_request", 900144, "An mtls_pop request is authenticated by the TLS client certificate; it must not carry a jwt-bearer client_assertion."
			}
		case assertionTypeJWTPoP:
			if !overMTLS {
				return "", 400, "invalid_request", 700025, "A jwt-pop client assertion needs mutual TLS."
			}
		default:
			return "", 400, "invalid_request", 700025, "client_assertion_type is missing or not supported."
		}
		t, err := jws.Parse(a)
		if err != nil {
			return "", 401, "invalid_client", 700027, "Client assertion is not a well-formed JWT."
		}
		assertion = t
		var claims struct{ Iss string }
		json.Unmarshal(t.Payload, &claims)
		if clientID == "" {
			clientID = claims.Iss
		}
	}
	e.mu.Lock()
	client, ok := e.clients[clientID]
	e.mu.Unlock()
	if !ok {
		return "", 400, "unauthorized_client", 700016, "Application was not found in the directory."
	}
	if overMTLS && !client.hasCertificate(cert) {
		return "", 401, "invalid_client", 700027, "The client certificate presented in the TLS handshake is not registered for the application."
	}
	if popType && f.Has("client_secret") {
		return "", 400, "invalid_request", 900144, "An mtls_pop request is authenticated by the TLS client certificate; it must not carry a client_secret."
	}
	switch {
	case assertion != nil:
		if m := e.verifyAssertion(r, assertion, client); m != "" {
			return "", 401, "invalid_client", 700027, "Client assertion failed validation: " + m + "."
		}
	case f.Has("client_secret"):
		if client.Secret == "" || subtle.ConstantTimeCompare([]byte(client.Secret), []byte(f.Get("client_secret"))) != 1 {
			return "", 401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."
		}
	case overMTLS && (popType || r.URL.Path == "/oidc/mtls/token"):
		// The registered certificate in the handshake authenticates the
		// client (mtls_pop; RFC 8705 tls_client_auth). A bearer request to
		// an Entra ID mTLS host still needs its assertion.
	default:
		return "", 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
	}
	return clientID, 0, "", 0, ""
}

// isMTLSEndpoint reports a request to an mTLS token endpoint: an Entra ID
// mtlsauth host (global, regional or sovereign) or the OIDC mTLS alias.
func isMTLSEndpoint(r *http.Request) bool {
	host := hostOnly(r.Host)
	return strings.HasPrefix(host, "mtlsauth.") || strings.Contains(host, ".mtlsauth.") || r.URL.Path == "/oidc/mtls/token"
}

func hostOnly(hostport string) string {
	host := strings.ToLower(hostport)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return host
}

// loginEquivalent is the URL of the login host that an mTLS host stands
// for, which assertions made for the regular endpoint name as audience.
func loginEquivalent(r *http.Request) string {
	host := hostOnly(r.Host)
	switch {
	case host == "mtlsauth.microsoft.com":
		host = "login.microsoftonline.com"
	case strings.HasSuffix(host, ".mtlsauth.microsoft.com"):
		host = strings.TrimSuffix(host, ".mtlsauth.microsoft.com") + ".login.microsoft.com"
	case strings.HasPrefix(host, "mtlsauth."):
		host = "login." + strings.TrimPrefix(host, "mtlsauth.")
	}
	return "https://" + host + r.URL.Path
}

func (c Client) hasCertificate(cert *x509.Certificate) bool {
	for _, reg := range c.Certificates {
		if cert != nil && bytes.Equal(reg.Raw, cert.Raw) {
			return true
		}
	}
	return false
}

// verifyAssertion returns "" for a valid assertion, else what is wrong.
func (e *Emulator) verifyAssertion(r *http.Request, t *jws.Token, client Client) string {
	var cert *x509.Certificate
	s256, s1 := t.HeaderString("x5t#S256"), t.HeaderString("x5t")
	for _, c := range client.Certificates {
		h256 := sha256.Sum256(c.Raw)
		h1 := sha1.Sum(c.Raw)
		if (s256 != "" && s256 == base64.RawURLEncoding.EncodeToString(h256[:])) ||
			(s256 == "" && s1 != "" && s1 == base64.RawURLEncoding.EncodeToString(h1[:])) {
			cert = c
		}
	}
	if cert == nil {
		return "the certificate is not registered for the application"
	}
	if x5c, ok := t.Header["x5c"].([]any); ok {
		first, _ := x5c[0].(string)
		if der, err := base64.StdEncoding.DecodeString(first); err != nil || string(der) != string(cert.Raw) {
			return "the x5c chain does not start with the registered certificate"
		}
	}
	if err := t.Verify(cert.PublicKey, "PS256", "RS256", "ES256", "ES384", "ES512"); err != nil {
		return "the signature is invalid"
	}
	var c struct {
		Aud, Iss, Sub, Jti string
		Nbf, Exp           int64
	}
	if json.Unmarshal(t.Payload, &c) != nil {
		return "the claims are malformed"
	}
	now := e.opts.Now()
	want := "https://" + r.Host + r.URL.Path
	switch {
	case c.Iss != client.ID || c.Sub != client.ID:
		return "iss and sub must be the client id"
	case !strings.EqualFold(c.Aud, want) && !(isMTLSEndpoint(r) && strings.EqualFold(c.Aud, loginEquivalent(r))):
		return "the audience is not this token endpoint"
	case c.Exp <= now.Unix():
		return "the assertion has expired"
	case c.Nbf > now.Add(clockSkew).Unix():
		return "the assertion is not yet valid"
	case c.Exp-c.Nbf > int64((10*time.Minute+clockSkew)/time.Second) || c.Exp-c.Nbf <= 0:
		return "the assertion lives longer than 10 minutes"
	case c.Jti == "":
		return "jti is missing"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	key := client.ID + "|" + c.Jti
	if _, seen := e.jtis[key]; seen {
		return "the jti was already used"
	}
	e.jtis[key] = time.Unix(c.Exp, 0)
	return ""
}

// issue answers with a signed access token (and a rotated refresh token
// for user flows that asked for offline_access, an ID token for openid).
// Tokens issued over mTLS for PoP, or on the RFC 8705 endpoint, are bound
// to the client certificate (cnf).
func (e *Emulator) issue(w http.ResponseWriter, r *http.Request, tenant, clientID string, scopes []string, user *User, nonce string, pop bool) {
	now := e.opts.Now()
	var resource string
	var names []string
	for _, s := range scopes {
		switch s {
		case "openid", "profile", "offline_access":
			continue
		}
		after := 0 // the resource's path starts after its scheme (api://x/.default)
		if j := strings.Index(s, "://"); j >= 0 {
			after = j + len("://")
		}
		if i := strings.LastIndex(s, "/"); i > after {
			resource = s[:i]
			names = append(names, s[i+1:])
		} else {
			resource = s
		}
	}
	claims := map[string]any{
		"aud": resource, "iss": "https://sts.windows.net/" + tenant + "/", "tid": tenant,
		"appid": clientID, "azp": clientID, "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(e.opts.TokenLifetime).Unix(), "uti": newGUID(),
		"oid": clientID, "sub": clientID,
	}
	host := hostOnly(r.Host)
	for _, suffix := range []string{".login.microsoft.com", ".mtlsauth.microsoft.com"} {
		if strings.HasSuffix(host, suffix) {
			claims["region"] = strings.TrimSuffix(host, suffix)
		}
	}
	bound := pop || r.URL.Path == "/oidc/mtls/token"
	if bound {
		sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		claims["cnf"] = map[string]string{"x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}
	}
	if c := r.PostForm.Get("claims"); c != "" {
		var v struct {
			AccessToken struct {
				XMSCC struct {
					Values []string `json:"values"`
				} `json:"xms_cc"`
			} `json:"access_token"`
		}
		if json.Unmarshal([]byte(c), &v) == nil && len(v.AccessToken.XMSCC.Values) > 0 {
			claims["xms_cc"] = v.AccessToken.XMSCC.Values
		}
	}
	if user != nil {
		claims["sub"], claims["oid"], claims["scp"] = user.Subject, user.ObjectID, strings.Join(names, " ")
		if user.Username != "" {
			claims["preferred_username"] = user.Username
		}
	}
	at, err := jws.Sign(e.signer, "RS256", map[string]any{"typ": "JWT", "kid": e.keyID}, claims)
	if err != nil {
		writeError(w, r, http.StatusInternalServerError, "server_error", 90004, "Signing failed.")
		return
	}
	secs := int64(e.opts.TokenLifetime / time.Second)
	tokenType := "Bearer"
	if pop {
		tokenType = "mtls_pop"
	}
	body := map[string]any{"token_type": tokenType, "expires_in": secs, "ext_expires_in": secs, "access_token": at}
	if e.opts.RefreshIn > 0 {
		body["refresh_in"] = int64(e.opts.RefreshIn / time.Second)
	}
	if user != nil {
		body["scope"] = strings.Join(scopes, " ")
		if hasScope(scopes, "openid") {
			idt, err := e.idToken(r, tenant, clientID, *user, nonce)
			if err != nil {
				writeError(w, r, http.StatusInternalServerError, "server_error", 90004, "Signing failed.")
				return
			}
			body["id_token"] = idt
		}
		if r.PostForm.Get("client_info") == "1" && user.ObjectID != "" && user.TenantID != "" {
			body["client_info"] = clientInfo(*user)
		}
		e.mu.Lock()
		if family := e.clients[clientID].FamilyID; family != "" {
			body["foci"] = family
		}
		e.mu.Unlock()
		if hasScope(scopes, "offline_access") || r.PostForm.Get("grant_type") == grantRefreshToken {
			rt := "rt." + newGUID() + newGUID()
			e.mu.Lock()
			e.refresh[rt] = refreshGrant{clientID: clientID, user: *user}
			e.mu.Unlock()
			body["refresh_token"] = rt
		}
	}
	if r.Header.Get("return-client-request-id") == "true" {
		w.Header().Set("client-request-id", r.Header.Get("client-request-id"))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
}

// IssueUserToken returns a token the emulator signed for a user, usable as
// an on-behalf-of user assertion by the client named in Audience.
func (e *Emulator) IssueUserToken(u User) string {
	if u.ObjectID == "" {
		u.ObjectID = newGUID()
	}
	now := e.opts.Now()
	t, err := jws.Sign(e.signer, "RS256", map[string]any{"typ": "JWT", "kid": e.keyID}, map[string]any{
		"aud": u.Audience, "sub": u.Subject, "oid": u.ObjectID, "tid": u.TenantID,
		"preferred_username": u.Username, "iss": "https://sts.windows.net/" + u.TenantID + "/",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "uti": newGUID(),
	})
	if err != nil {
		panic(fmt.Sprintf("entratest: signing a user token: %v", err)) // an RSA key in memory cannot fail
	}
	return t
}

// VerifyAccessToken checks that the emulator signed token and returns its
// claims, so tests can look at cnf, scp, region, xms_cc and the rest.
func (e *Emulator) VerifyAccessToken(token string) (map[string]any, error) {
	t, err := jws.Parse(token)
	if err != nil {
		return nil, err
	}
	if err := t.Verify(&e.signer.PublicKey, "RS256"); err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(t.Payload, &claims); err != nil {
		return nil, err
	}
	return claims, nil
}

func (e *Emulator) verifyUserToken(token, clientID string) (User, bool) {
	t, err := jws.Parse(token)
	if err != nil || t.Verify(&e.signer.PublicKey, "RS256") != nil {
		return User{}, false
	}
	var raw map[string]any
	if json.Unmarshal(t.Payload, &raw) != nil {
		return User{}, false
	}
	str := func(k string) string { s, _ := raw[k].(string); return s }
	exp, _ := raw["exp"].(float64)
	if int64(exp) <= e.opts.Now().Unix() || str("aud") != clientID {
		return User{}, false
	}
	return User{Audience: str("aud"), Subject: str("sub"), ObjectID: str("oid"), TenantID: str("tid"), Username: str("preferred_username")}, true
}

func hasScope(scopes []string, s string) bool {
	for _, x := range scopes {
		if x == s {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers like ESTS: OAuth error JSON with AADSTS numbers,
// timestamp, trace and correlation ids.
func writeError(w http.ResponseWriter, r *http.Request, status int, code string, aadsts int, msg string) {
	now := time.Now().UTC()
	trace := newGUID()
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = newGUID()
	}
	if r.Header.Get("return-client-request-id") == "true" {
		w.Header().Set("client-request-id", corr)
	}
	ts := now.Format("2006-01-02 15:04:05Z")
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, msg, trace, corr, ts),
		"error_codes":       []int{aadsts},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         "https://login.microsoftonline.com/error?code=" + fmt.Sprint(aadsts),
	})
}
