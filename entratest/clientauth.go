package entratest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/entra-go/entra/internal/jws"
)

const (
	assertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	assertionTypeJWTPoP    = "urn:ietf:params:oauth:client-assertion-type:jwt-pop"
	clockSkew              = 5 * time.Minute
)

// authenticate checks the client's secret, assertion or, on the mTLS
// endpoints, certificate, and returns the client's id.
func (e *Emulator) authenticate(r *http.Request) (string, *refusal) {
	f := r.PostForm
	clientID := f.Get("client_id")
	overMTLS := isMTLSEndpoint(r)
	var cert *x509.Certificate
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		cert = r.TLS.PeerCertificates[0]
	}
	if overMTLS && cert == nil {
		return "", refuse(400, "invalid_client", 700027, "A client certificate is required on the mutual TLS endpoint; none was presented in the TLS handshake.")
	}
	pop := f.Get("token_type") == "mtls_pop"
	if pop && !overMTLS {
		return "", refuse(400, "invalid_request", 900144, "token_type mtls_pop requires mutual TLS: use the mtlsauth endpoint.")
	}
	assertion, refused := parseAssertion(r, overMTLS, pop)
	if refused != nil {
		return "", refused
	}
	if assertion != nil && clientID == "" {
		var claims struct{ Iss string }
		json.Unmarshal(assertion.Payload, &claims)
		clientID = claims.Iss
	}
	e.mu.Lock()
	client, ok := e.clients[clientID]
	e.mu.Unlock()
	switch {
	case !ok:
		return "", refuse(400, "unauthorized_client", 700016, "Application was not found in the directory.")
	case overMTLS && !client.hasCertificate(cert):
		return "", refuse(401, "invalid_client", 700027, "The client certificate presented in the TLS handshake is not registered for the application.")
	case pop && f.Has("client_secret"):
		return "", refuse(400, "invalid_request", 900144, "An mtls_pop request is authenticated by the TLS client certificate; it must not carry a client_secret.")
	}
	return clientID, e.checkCredential(r, client, assertion, overMTLS && (pop || r.URL.Path == "/oidc/mtls/token"))
}

// parseAssertion reads the client assertion, if the request has one, and
// checks that its type suits the endpoint.
func parseAssertion(r *http.Request, overMTLS, pop bool) (*jws.Token, *refusal) {
	a := r.PostForm.Get("client_assertion")
	if a == "" {
		return nil, nil
	}
	switch r.PostForm.Get("client_assertion_type") {
	case assertionTypeJWTBearer:
		if pop {
			return nil, refuse(400, "invalid_request", 900144, "An mtls_pop request is authenticated by the TLS client certificate; it must not carry a jwt-bearer client_assertion.")
		}
	case assertionTypeJWTPoP:
		if !overMTLS {
			return nil, refuse(400, "invalid_request", 700025, "A jwt-pop client assertion needs mutual TLS.")
		}
	default:
		return nil, refuse(400, "invalid_request", 700025, "client_assertion_type is missing or not supported.")
	}
	t, err := jws.Parse(a)
	if err != nil {
		return nil, refuse(401, "invalid_client", 700027, "Client assertion is not a well-formed JWT.")
	}
	return t, nil
}

// checkCredential verifies the assertion (the client's own or a
// federated one) or the secret; certified means the TLS handshake's
// registered certificate is enough (mtls_pop, RFC 8705 tls_client_auth).
// A bearer request to an Entra ID mTLS host still needs its assertion.
func (e *Emulator) checkCredential(r *http.Request, client Client, assertion *jws.Token, certified bool) *refusal {
	switch {
	case assertion != nil && isFederated(r, assertion, client.ID):
		return e.verifyFederated(assertion, client)
	case assertion != nil:
		if m := e.verifyAssertion(r, assertion, client); m != "" {
			return refuse(401, "invalid_client", 700027, "Client assertion failed validation: "+m+".")
		}
	case r.PostForm.Has("client_secret"):
		if client.Secret == "" || subtle.ConstantTimeCompare([]byte(client.Secret), []byte(r.PostForm.Get("client_secret"))) != 1 {
			return refuse(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		}
	case certified:
	default:
		return refuse(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	return nil
}

// clientAuthKind names the credential a token request presents, in the
// order checkCredential looks at them (Request.ClientAuth).
func clientAuthKind(r *http.Request) string {
	f := r.PostForm
	switch {
	case f.Get("client_assertion") != "":
		t, err := jws.Parse(f.Get("client_assertion"))
		if err == nil && isFederated(r, t, f.Get("client_id")) {
			return "federated"
		}
		return "certificate"
	case f.Has("client_secret"):
		return "secret"
	case isMTLSEndpoint(r) && r.TLS != nil && len(r.TLS.PeerCertificates) > 0:
		return "certificate_tls"
	}
	return ""
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

// certificateOf is the registered certificate an assertion's thumbprint
// header names, or nil. The thumbprints are compared as bytes: clients
// encode them in base64url without padding (MSAL Node, MSAL.NET), with
// padding (MSAL Python) or in standard base64 (MSAL Go's x5t#S256).
func (c Client) certificateOf(t *jws.Token) *x509.Certificate {
	s256, ok256 := decodeThumbprint(t.HeaderString("x5t#S256"), sha256.Size)
	s1, ok1 := decodeThumbprint(t.HeaderString("x5t"), sha1.Size)
	for _, cert := range c.Certificates {
		h256 := sha256.Sum256(cert.Raw)
		h1 := sha1.Sum(cert.Raw)
		if (ok256 && bytes.Equal(s256, h256[:])) || (!ok256 && ok1 && bytes.Equal(s1, h1[:])) {
			return cert
		}
	}
	return nil
}

// decodeThumbprint decodes a thumbprint of size bytes written in any
// base64 form: standard or URL alphabet, with or without padding.
func decodeThumbprint(s string, size int) ([]byte, bool) {
	if s == "" || len(s) > 2*base64.StdEncoding.EncodedLen(size) {
		return nil, false
	}
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") && strings.ContainsAny(s, "+/") {
		return nil, false // two alphabets mixed
	}
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || len(b) != size {
		return nil, false
	}
	return b, true
}

// verifyAssertion returns "" for a valid assertion, else what is wrong.
func (e *Emulator) verifyAssertion(r *http.Request, t *jws.Token, client Client) string {
	cert := client.certificateOf(t)
	if cert == nil {
		return "the certificate is not registered for the application"
	}
	if x5c, ok := t.Header["x5c"].([]any); ok {
		first, _ := x5c[0].(string)
		if der, err := base64.StdEncoding.DecodeString(first); err != nil || !bytes.Equal(der, cert.Raw) {
			return "the x5c chain does not start with the registered certificate"
		}
	}
	if err := t.Verify(cert.PublicKey, "PS256", "RS256", "ES256", "ES384", "ES512"); err != nil {
		return "the signature is invalid"
	}
	c, ok := parseAssertionClaims(t.Payload)
	if !ok {
		return "the claims are malformed"
	}
	now := float64(e.opts.Now().UnixNano()) / 1e9
	skew := clockSkew.Seconds()
	// The lifetime starts at nbf, or at iat when nbf is absent (MSAL
	// Python sends none); with neither, only exp bounds it.
	start, hasStart := c.nbf, c.hasNbf
	if !hasStart {
		start, hasStart = c.iat, c.hasIat
	}
	want := "https://" + r.Host + r.URL.Path
	switch {
	case c.Iss != client.ID || c.Sub != client.ID:
		return "iss and sub must be the client id"
	case !strings.EqualFold(c.Aud, want) && !(isMTLSEndpoint(r) && strings.EqualFold(c.Aud, loginEquivalent(r))):
		return "the audience is not this token endpoint"
	case !c.hasExp:
		return "exp is missing"
	case c.exp <= now:
		return "the assertion has expired"
	case c.hasNbf && c.nbf > now+skew:
		return "the assertion is not yet valid"
	case hasStart && (c.exp-start > (10*time.Minute+clockSkew).Seconds() || c.exp-start <= 0):
		return "the assertion lives longer than 10 minutes"
	case !hasStart && c.exp-now > (10*time.Minute+clockSkew).Seconds():
		return "the assertion lives longer than 10 minutes"
	case c.Jti == "":
		return "jti is missing"
	}
	// A jti is not spent: Entra ID accepts the same assertion again until
	// it expires, and clients (MSAL Node, MSAL Python, entra) reuse one.
	return ""
}

// assertionClaims are the claims of a client assertion the token service
// checks. The times are RFC 7519 NumericDates: numbers of seconds, which
// may have a fraction (MSAL Python sends them).
type assertionClaims struct {
	Aud, Iss, Sub, Jti     string
	nbf, iat, exp          float64
	hasNbf, hasIat, hasExp bool
}

// parseAssertionClaims reads an assertion's payload; false if it is not a
// JSON object, a string claim is not a string or a time is not a finite
// number.
func parseAssertionClaims(payload []byte) (assertionClaims, bool) {
	var raw struct {
		Aud, Iss, Sub, Jti string
		Nbf, Iat, Exp      *json.Number
	}
	var c assertionClaims
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	if d.Decode(&raw) != nil {
		return c, false
	}
	c.Aud, c.Iss, c.Sub, c.Jti = raw.Aud, raw.Iss, raw.Sub, raw.Jti
	for _, f := range []struct {
		n   *json.Number
		v   *float64
		has *bool
	}{{raw.Nbf, &c.nbf, &c.hasNbf}, {raw.Iat, &c.iat, &c.hasIat}, {raw.Exp, &c.exp, &c.hasExp}} {
		if f.n == nil {
			continue
		}
		v, err := strconv.ParseFloat(string(*f.n), 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return c, false
		}
		*f.v, *f.has = v, true
	}
	return c, true
}
