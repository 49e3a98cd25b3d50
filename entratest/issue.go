package entratest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/entra-go/entra/internal/jws"
	"github.com/entra-go/entra/internal/uuid"
)

// tokenLifetime is the lifetime of the token service's access tokens.
func (e *Emulator) tokenLifetime() time.Duration {
	if e.opts.TokenLifetime > 0 {
		return e.opts.TokenLifetime
	}
	return time.Hour
}

// issue answers a granted request with a signed access token, plus, for a
// user, a rotated refresh token if offline_access was asked for (or a
// refresh token redeemed) and an ID token for openid. Tokens issued for
// PoP, on the RFC 8705 endpoint, or for a jwt-pop assertion are bound to
// the client certificate (cnf).
func (e *Emulator) issue(w http.ResponseWriter, r *http.Request, g grant) {
	at, err := e.sign(e.accessTokenClaims(r, g))
	if err != nil {
		writeError(w, r, http.StatusInternalServerError, "server_error", 90004, "Signing failed.")
		return
	}
	secs := int64(e.tokenLifetime() / time.Second)
	tokenType := "Bearer"
	if g.pop {
		tokenType = "mtls_pop"
	}
	body := map[string]any{"token_type": tokenType, "expires_in": secs, "ext_expires_in": secs, "access_token": at}
	if e.opts.RefreshIn > 0 {
		body["refresh_in"] = int64(e.opts.RefreshIn / time.Second)
	}
	if g.user != nil {
		if err := e.addUserTokens(body, r, g); err != nil {
			writeError(w, r, http.StatusInternalServerError, "server_error", 90004, "Signing failed.")
			return
		}
	}
	if r.Header.Get("return-client-request-id") == "true" {
		w.Header().Set("client-request-id", r.Header.Get("client-request-id"))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
}

// accessTokenClaims are the claims of a granted access token.
func (e *Emulator) accessTokenClaims(r *http.Request, g grant) map[string]any {
	now := e.opts.Now()
	resource, names := resourceOf(g.scopes)
	claims := map[string]any{
		"aud": resource, "iss": "https://sts.windows.net/" + g.tenant + "/", "tid": g.tenant,
		"appid": g.clientID, "azp": g.clientID, "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(e.tokenLifetime()).Unix(), "uti": newGUID(),
		"oid": g.clientID, "sub": g.clientID,
	}
	host := hostOnly(r.Host)
	for _, suffix := range []string{".login.microsoft.com", ".mtlsauth.microsoft.com"} {
		if strings.HasSuffix(host, suffix) {
			claims["region"] = strings.TrimSuffix(host, suffix)
		}
	}
	// PoP tokens, RFC 8705 tokens and the tokens of a jwt-pop assertion
	// (an assertion bound to the certificate presented) are bound to it.
	if g.pop || r.URL.Path == "/oidc/mtls/token" || r.PostForm.Get("client_assertion_type") == assertionTypeJWTPoP {
		sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		claims["cnf"] = map[string]string{"x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}
	}
	if cc := clientCapabilities(r.PostForm.Get("claims")); len(cc) > 0 {
		claims["xms_cc"] = cc
	}
	if g.user != nil {
		claims["sub"], claims["oid"], claims["scp"] = g.user.Subject, g.user.ObjectID, strings.Join(names, " ")
		if g.user.Username != "" {
			claims["preferred_username"] = g.user.Username
		}
	}
	return claims
}

// resourceOf splits scopes into the resource and the permission names.
func resourceOf(scopes []string) (resource string, names []string) {
	for _, s := range scopes {
		if s == "openid" || s == "profile" || s == "offline_access" {
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
	return resource, names
}

// clientCapabilities are the xms_cc values of a claims request.
func clientCapabilities(claims string) []string {
	var v struct {
		AccessToken struct {
			XMSCC struct {
				Values []string `json:"values"`
			} `json:"xms_cc"`
		} `json:"access_token"`
	}
	if claims == "" || json.Unmarshal([]byte(claims), &v) != nil {
		return nil
	}
	return v.AccessToken.XMSCC.Values
}

// addUserTokens adds to a user flow's answer its scope, ID token, client
// info, family and refresh token.
func (e *Emulator) addUserTokens(body map[string]any, r *http.Request, g grant) error {
	user := *g.user
	body["scope"] = strings.Join(g.scopes, " ")
	if slices.Contains(g.scopes, "openid") {
		idt, err := e.idToken(r, g.tenant, g.clientID, user, g.nonce)
		if err != nil {
			return err
		}
		body["id_token"] = idt
	}
	if r.PostForm.Get("client_info") == "1" && user.ObjectID != "" && user.TenantID != "" {
		body["client_info"] = clientInfo(user)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if family := e.clients[g.clientID].FamilyID; family != "" {
		body["foci"] = family
	}
	if slices.Contains(g.scopes, "offline_access") || r.PostForm.Get("grant_type") == grantRefreshToken {
		rt := "rt." + newGUID() + newGUID()
		e.refresh[rt] = refreshGrant{clientID: g.clientID, user: user}
		body["refresh_token"] = rt
	}
	return nil
}

// idToken signs an ID token for a user flow's answer.
func (e *Emulator) idToken(r *http.Request, tenant, clientID string, u User, nonce string) (string, error) {
	now := e.opts.Now()
	// tid is the tenant signed in to: the authority's when it is an id,
	// else (a domain, common, organizations) the user's home tenant.
	tid := u.TenantID
	if isGUID(tenant) {
		tid = strings.ToLower(tenant)
	}
	iss := "https://" + issuerHost(hostOnly(r.Host)) + "/" + tid + "/v2.0"
	switch {
	case r.PathValue("policy") != "": // B2C: the tenant's id, as its discovery document names it
		tid = b2cTenantID(tenant)
		iss = "https://" + hostOnly(r.Host) + "/" + tid + "/v2.0/"
	case strings.HasPrefix(r.URL.Path, "/oidc/"): // the generic OIDC issuer's own
		iss = "https://" + r.Host + "/oidc"
	case strings.HasPrefix(r.URL.Path, "/adfs/"):
		iss = "https://" + r.Host + "/adfs"
	}
	claims := map[string]any{
		"aud": clientID, "iss": iss, "tid": tid,
		"oid": u.ObjectID, "sub": u.Subject, "preferred_username": u.Username, "name": u.Name,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "ver": "2.0",
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	return e.sign(claims)
}

// b2cTenantID is the id of a B2C tenant named by its domain: a stable
// GUID derived from the name, as the real service has one per tenant.
func b2cTenantID(tenant string) string {
	if isGUID(tenant) {
		return strings.ToLower(tenant)
	}
	sum := sha256.Sum256([]byte("b2c:" + strings.ToLower(tenant)))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// clientInfo is client_info for a user: base64url {"uid","utid"}.
func clientInfo(u User) string {
	b, _ := json.Marshal(map[string]string{"uid": u.ObjectID, "utid": u.TenantID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func (e *Emulator) sign(claims map[string]any) (string, error) {
	return jws.Sign(e.signer, "RS256", map[string]any{"typ": "JWT", "kid": e.keyID}, claims)
}

// IssueUserToken returns a token the emulator signed for a user, usable as
// an on-behalf-of user assertion by the client named in Audience.
func (e *Emulator) IssueUserToken(u User) string {
	if u.ObjectID == "" {
		u.ObjectID = newGUID()
	}
	now := e.opts.Now()
	t, err := e.sign(map[string]any{
		"aud": u.Audience, "sub": u.Subject, "oid": u.ObjectID, "tid": u.TenantID,
		"preferred_username": u.Username, "iss": "https://sts.windows.net/" + u.TenantID + "/",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "uti": newGUID(),
	})
	if err != nil {
		panic(fmt.Sprintf("entratest: signing a user token: %v", err)) // an RSA key in memory cannot fail
	}
	return t
}

// VerifyAccessToken checks that the emulator signed token, one of the
// token service or of a managed identity endpoint, and returns its claims,
// so tests can look at aud, oid, cnf, scp, region, xms_cc and the rest.
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

// verifyUserToken reads an on-behalf-of user assertion for clientID.
func (e *Emulator) verifyUserToken(token, clientID string) (User, bool) {
	raw, err := e.VerifyAccessToken(token)
	if err != nil {
		return User{}, false
	}
	str := func(k string) string { s, _ := raw[k].(string); return s }
	exp, _ := raw["exp"].(float64)
	if int64(exp) <= e.opts.Now().Unix() || str("aud") != clientID {
		return User{}, false
	}
	return User{Audience: str("aud"), Subject: str("sub"), ObjectID: str("oid"), TenantID: str("tid"), Username: str("preferred_username")}, true
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

func newGUID() string { return uuid.New() }
