package entratest

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// RevokeSessions revokes every session at Options.Now, as an admin's
// revocation, a password change or a disabled account does, and tells the
// protected API (ResourceURL) at once, as continuous access evaluation
// (CAE) does: from then on it refuses the tokens issued before. A token
// of a client that announced capability cp1 (xms_cc) gets 401 with
//
//	WWW-Authenticate: Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="..."
//
// where claims is the padded standard base64 of
// {"access_token":{"nbf":{"essential":true,"value":"<revocation time, Unix seconds>"}}},
// a claims request that any token the token service issues from then on
// satisfies; any other token gets error="invalid_token". Times are
// compared in seconds, the granularity of iat, so a token issued in the
// second of the revocation passes. Refresh tokens stay redeemable, so that
// a client can answer the challenge without the user; RevokeRefreshTokens
// forgets them.
func (e *Emulator) RevokeSessions() {
	now := e.opts.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.revoked = now
}

// checkSession refuses a token issued before the sessions were revoked:
// with a claims challenge if its client can answer one (cp1), else as an
// invalid token, which only a new sign-in or token request replaces.
func (e *Emulator) checkSession(claims map[string]any) *resourceRefusal {
	e.mu.Lock()
	revoked := e.revoked
	e.mu.Unlock()
	iat, _ := numericClaim(claims, "iat")
	switch {
	case revoked.IsZero() || iat >= revoked.Unix():
		return nil
	case slices.Contains(stringsClaim(claims, "xms_cc"), "cp1"):
		return claimsChallenge(revoked)
	}
	return invalidToken("The token was issued before the sessions were revoked.")
}

// authorizeURI is the authorization endpoint Entra-protected resources
// name in their challenges.
const authorizeURI = "https://login.microsoftonline.com/common/oauth2/authorize"

// resourceRefusal is the protected API's 401: a challenge, and the same
// error and description in a JSON body.
type resourceRefusal struct {
	challenge string
	body      resourceError
}

type resourceError struct {
	Code        string `json:"error,omitempty"`
	Description string `json:"error_description"`
}

func (f *resourceRefusal) write(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", f.challenge)
	writeJSON(w, http.StatusUnauthorized, f.body)
}

// noToken answers a request without a token: a challenge without an
// error code, as RFC 6750 §3.1 asks.
func noToken() *resourceRefusal {
	return &resourceRefusal{
		challenge: `Bearer realm="", authorization_uri="` + authorizeURI + `"`,
		body:      resourceError{Description: "The request has no Bearer or mtls_pop token in its Authorization header."},
	}
}

// invalidToken refuses a token; desc must not quote (it goes in a quoted
// string) nor reveal the token.
func invalidToken(desc string) *resourceRefusal {
	return &resourceRefusal{
		challenge: `Bearer error="invalid_token", error_description="` + desc + `"`,
		body:      resourceError{Code: "invalid_token", Description: desc},
	}
}

// claimsChallenge is CAE's challenge for a token older than revoked.
func claimsChallenge(revoked time.Time) *resourceRefusal {
	claims := `{"access_token":{"nbf":{"essential":true,"value":"` + strconv.FormatInt(revoked.Unix(), 10) + `"}}}`
	return &resourceRefusal{
		challenge: `Bearer realm="", authorization_uri="` + authorizeURI + `", error="insufficient_claims", claims="` +
			base64.StdEncoding.EncodeToString([]byte(claims)) + `"`,
		body: resourceError{Code: "insufficient_claims", Description: "The sessions were revoked after the token was issued; get a new token with the claims of the challenge."},
	}
}

// resourceErrors is the protected API's shape for the emulator's own
// refusals: the same JSON as its 401s.
type resourceErrors struct{}

func (resourceErrors) fault(w http.ResponseWriter, _ *http.Request, _ string, status int) {
	writeJSON(w, status, resourceError{Code: "injected_fault", Description: "The service is unavailable (injected fault)."})
}

func (resourceErrors) malformed(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusBadRequest, resourceError{Code: "invalid_request", Description: "The request's query or form is malformed."})
}
