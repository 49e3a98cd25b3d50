package entratest

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
)

// ResourceAudience is the audience of the emulator's protected API
// (ResourceURL): the aud of the tokens the token service issues for the
// scope ResourceAudience+"/.default" (an app's own) or for a delegated
// permission such as ResourceAudience+"/access_as_user" (a user's, as an
// on-behalf-of request gets), and of the managed identity tokens for the
// resource ResourceAudience.
const ResourceAudience = "api://entratest-resource"

// resourcePath is where the token service's listener serves the
// protected API.
const resourcePath = "/api"

// maxResourceBody bounds the request body the protected API reads.
const maxResourceBody = 64 << 20

// ResourceURL is https://localhost:PORT/api, the emulator's protected API,
// for tests of code that calls a resource with the tokens it gets. It
// answers every method at every path under it, on every host name the
// listener serves, once the Authorization header passes the checks of a
// real resource:
//   - the scheme is Bearer or mtls_pop (in any case), the token service
//     signed the token, its aud is ResourceAudience, and Options.Now is
//     within its nbf and exp (with no clock skew, so that a test that
//     moves the clock past exp sees the refusal at once);
//   - a token bound to a certificate (cnf: an mtls_pop token, or one of
//     the RFC 8705 endpoint or of a jwt-pop assertion) comes over a TLS
//     connection that presented that certificate, as
//     TransportWithCertificate does; the mtls_pop scheme carries bound
//     tokens only;
//   - the token was issued no earlier than the last RevokeSessions.
//
// A refused request gets 401 and a challenge in WWW-Authenticate: none
// but the realm for a request without a token, the one of continuous
// access evaluation described at RevokeSessions, else error="invalid_token"
// with an error_description of what is wrong. An accepted one gets 200
// and JSON that describes the caller and echoes the request, so that a
// test can check what arrived:
//
//	{"appid": "...", "oid": "...", "sub": "...",
//	 "scp": "access_as_user" (a user's token) or "roles": [...] (if any),
//	 "token_type": "Bearer" or "pop" (the mtls_pop scheme),
//	 "bound": true (the token has cnf),
//	 "method": "POST", "path": "/api/items", "body_length": 42}
//
// Requests and InjectFault name it "resource".
func (e *Emulator) ResourceURL() string { return e.URL() + resourcePath }

// resourceHandler serves the protected API as the endpoint "resource".
// The body is counted as it is read, by endpoint's form parsing or by
// serveResource, which reads what is left, so that the answer reports its
// length whatever its content type.
func (e *Emulator) resourceHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := &countingReader{ReadCloser: http.MaxBytesReader(w, r.Body, maxResourceBody)}
		r.Body = body
		e.endpoint(epResource, resourceErrors{}, func(w http.ResponseWriter, r *http.Request) {
			e.serveResource(w, r, body)
		}).ServeHTTP(w, r)
	})
}

// callerAnswer is the protected API's answer to an accepted request.
type callerAnswer struct {
	AppID      string   `json:"appid"`
	ObjectID   string   `json:"oid"`
	Subject    string   `json:"sub"`
	Scopes     string   `json:"scp,omitempty"`
	Roles      []string `json:"roles,omitempty"`
	TokenType  string   `json:"token_type"`
	Bound      bool     `json:"bound"`
	Method     string   `json:"method"`
	Path       string   `json:"path"`
	BodyLength int64    `json:"body_length"`
}

func (e *Emulator) serveResource(w http.ResponseWriter, r *http.Request, body *countingReader) {
	claims, pop, refused := e.checkCaller(r)
	if refused != nil {
		refused.write(w)
		return
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			writeJSON(w, http.StatusRequestEntityTooLarge, resourceError{Code: "request_too_large", Description: "The request body is too large."})
		}
		return // the client went away
	}
	a := callerAnswer{
		AppID: stringClaim(claims, "appid"), ObjectID: stringClaim(claims, "oid"), Subject: stringClaim(claims, "sub"),
		Scopes: stringClaim(claims, "scp"), Roles: stringsClaim(claims, "roles"),
		TokenType: "Bearer", Bound: boundThumbprint(claims) != "",
		Method: r.Method, Path: r.URL.Path, BodyLength: body.n,
	}
	if pop {
		a.TokenType = "pop"
	}
	writeJSON(w, http.StatusOK, a)
}

// checkCaller checks the Authorization header as a resource does and
// returns the token's claims and whether the scheme was mtls_pop.
func (e *Emulator) checkCaller(r *http.Request) (claims map[string]any, pop bool, refused *resourceRefusal) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	pop = strings.EqualFold(scheme, "mtls_pop")
	if token == "" || (!pop && !strings.EqualFold(scheme, "Bearer")) {
		return nil, pop, noToken()
	}
	claims, err := e.VerifyAccessToken(token)
	if err != nil {
		return nil, pop, invalidToken("The token is malformed or was not signed by the token service.")
	}
	if desc := e.checkValidity(claims); desc != "" {
		return nil, pop, invalidToken(desc)
	}
	if desc := checkBinding(r, claims, pop); desc != "" {
		return nil, pop, invalidToken(desc)
	}
	return claims, pop, e.checkSession(claims)
}

// checkValidity returns what is wrong with a token's audience and
// lifetime, or "".
func (e *Emulator) checkValidity(claims map[string]any) string {
	now := e.opts.Now().Unix()
	exp, hasExp := numericClaim(claims, "exp")
	nbf, _ := numericClaim(claims, "nbf")
	switch {
	case stringClaim(claims, "aud") != ResourceAudience:
		return "The token's audience is not " + ResourceAudience + "."
	case !hasExp || now >= exp:
		return "The token has expired."
	case nbf > now:
		return "The token is not valid yet."
	}
	return ""
}

// checkBinding returns what is wrong with a token's binding, or "": a
// bound token must come with the certificate its cnf names, over this
// connection (RFC 8705 §3), or whoever copied the token could use it.
func checkBinding(r *http.Request, claims map[string]any, pop bool) string {
	want := boundThumbprint(claims)
	switch {
	case want == "" && pop:
		return "The mtls_pop scheme needs a token bound to a certificate (cnf)."
	case want != "" && want != presentedThumbprint(r):
		return "The token is bound to a certificate that the TLS connection did not present."
	}
	return ""
}

// boundThumbprint is the x5t#S256 of a token's cnf, or "".
func boundThumbprint(claims map[string]any) string {
	cnf, _ := claims["cnf"].(map[string]any)
	return stringClaim(cnf, "x5t#S256")
}

// presentedThumbprint is the x5t#S256 (base64url SHA-256 of the DER) of
// the client certificate of the request's connection, or "".
func presentedThumbprint(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func stringClaim(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}

// numericClaim reads a NumericDate claim, which JSON decodes as float64.
func numericClaim(claims map[string]any, name string) (int64, bool) {
	f, ok := claims[name].(float64)
	return int64(f), ok
}

func stringsClaim(claims map[string]any, name string) []string {
	vs, _ := claims[name].([]any)
	var out []string
	for _, v := range vs {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// countingReader counts the bytes read through it.
type countingReader struct {
	io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}
