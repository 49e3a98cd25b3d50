package entratest

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

const (
	grantClientCredentials = "client_credentials"
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantRefreshToken      = "refresh_token"
	grantAuthorizationCode = "authorization_code"
)

// refusal is an ESTS error answer: status, OAuth code, AADSTS number.
type refusal struct {
	status int
	code   string
	aadsts int
	msg    string
}

func refuse(status int, code string, aadsts int, msg string) *refusal {
	return &refusal{status: status, code: code, aadsts: aadsts, msg: msg}
}

func (f *refusal) write(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, f.status, f.code, f.aadsts, f.msg)
}

// grant is what a token request was granted: who the token is for.
type grant struct {
	tenant, clientID string
	scopes           []string
	user             *User // nil for the client itself
	nonce            string
	pop              bool // an mTLS proof-of-possession token
}

// refreshGrant is what a refresh token stands for.
type refreshGrant struct {
	clientID string
	user     User
}

// token is the token endpoint of every authority kind.
func (e *Emulator) token(w http.ResponseWriter, r *http.Request) {
	if c, ok := e.imdsCredential(r); ok {
		e.imdsPoPToken(w, r, c)
		return
	}
	g, refused := e.grant(r)
	if refused != nil {
		refused.write(w, r)
		return
	}
	e.issue(w, r, g)
}

// grant authenticates the client and checks the grant it asks for.
func (e *Emulator) grant(r *http.Request) (grant, *refusal) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return grant{}, refuse(400, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded and sent with POST.")
	}
	f := r.PostForm
	clientID, refused := e.authenticate(r)
	if refused != nil {
		return grant{}, refused
	}
	if c := f.Get("claims"); c != "" {
		var v map[string]any
		if json.Unmarshal([]byte(c), &v) != nil || v == nil {
			return grant{}, refuse(400, "invalid_request", 90014, "The claims parameter is not a valid JSON object.")
		}
	}
	g := grant{tenant: e.authorityTenant(r), clientID: clientID, scopes: strings.Fields(f.Get("scope")), pop: f.Get("token_type") == "mtls_pop"}
	if g.pop && isCommon(g.tenant) {
		return g, refuse(400, "invalid_request", 90009, "mtls_pop tokens need a tenanted authority.")
	}
	switch f.Get("grant_type") {
	case grantClientCredentials:
		refused = g.clientCredentials()
	case grantJWTBearer:
		refused = e.onBehalfOf(f, &g)
	case grantRefreshToken:
		refused = e.redeemRefreshToken(f, &g)
	case grantAuthorizationCode:
		refused = e.redeemCode(f, &g)
	default:
		refused = refuse(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
	}
	return g, refused
}

// isCommon reports the multi-tenant aliases, which name no tenant.
func isCommon(tenant string) bool { return tenant == "common" || tenant == "organizations" }

// clientCredentials checks a client's request for a token of its own.
func (g *grant) clientCredentials() *refusal {
	// The reserved OpenID scopes some libraries add mean nothing here.
	g.scopes = slices.DeleteFunc(g.scopes, func(s string) bool { return s == "openid" || s == "profile" || s == "offline_access" })
	if len(g.scopes) != 1 || !strings.HasSuffix(g.scopes[0], "/.default") {
		return refuse(400, "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
	}
	if isCommon(g.tenant) {
		return refuse(400, "invalid_request", 90009, "Application is requesting a token for itself. This scenario is supported only if resource is specified using the GUID based App Identifier.")
	}
	return nil
}

// onBehalfOf checks the user assertion of an on-behalf-of request.
func (e *Emulator) onBehalfOf(f url.Values, g *grant) *refusal {
	if f.Get("requested_token_use") != "on_behalf_of" {
		return refuse(400, "invalid_request", 50027, "requested_token_use must be on_behalf_of.")
	}
	u, ok := e.verifyUserToken(f.Get("assertion"), g.clientID)
	if !ok {
		return refuse(400, "invalid_grant", 50013, "Assertion failed signature validation, has expired or is not for this application.")
	}
	g.user = &u
	return nil
}

// redeemRefreshToken spends a refresh token of the client or of its
// family: a refresh token is good once (rotation).
func (e *Emulator) redeemRefreshToken(f url.Values, g *grant) *refusal {
	e.mu.Lock()
	defer e.mu.Unlock()
	rt, ok := e.refresh[f.Get("refresh_token")]
	family := e.clients[g.clientID].FamilyID
	if !ok || (rt.clientID != g.clientID && (family == "" || e.clients[rt.clientID].FamilyID != family)) {
		return refuse(400, "invalid_grant", 9002313, "Invalid request. The refresh token is malformed, expired, was already used or belongs to another application.")
	}
	delete(e.refresh, f.Get("refresh_token"))
	g.user = &rt.user
	return nil
}
