package oauth

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/entra-go/entra"
)

// IDClaims are the ID token claims an account is made of, and those it is
// checked by.
type IDClaims struct {
	Audiences         []string
	Issuer            string
	Expiry            time.Time
	Subject           string
	ObjectID          string
	TenantID          string
	PreferredUsername string
	Name              string
	Nonce             string
}

// ParseIDToken reads the claims of an ID token. Its signature is not
// checked: the token came from the token endpoint itself over TLS, which
// OpenID Connect Core §3.1.3.7 accepts in place of the signature.
func ParseIDToken(raw string) (IDClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return IDClaims{}, invalidIDToken("it is not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return IDClaims{}, invalidIDToken("its payload is not base64url")
	}
	var w struct {
		Aud               json.RawMessage `json:"aud"`
		Exp               json.Number     `json:"exp"`
		Iss               string          `json:"iss"`
		Sub               string          `json:"sub"`
		Oid               string          `json:"oid"`
		Tid               string          `json:"tid"`
		PreferredUsername string          `json:"preferred_username"`
		UPN               string          `json:"upn"`
		Email             string          `json:"email"`
		Name              string          `json:"name"`
		Nonce             string          `json:"nonce"`
	}
	if err := json.Unmarshal(payload, &w); err != nil {
		return IDClaims{}, invalidIDToken("its payload is not a JSON object")
	}
	c := IDClaims{Issuer: w.Iss, Subject: w.Sub, ObjectID: w.Oid, TenantID: w.Tid, Name: w.Name, Nonce: w.Nonce,
		PreferredUsername: firstNonEmpty(w.PreferredUsername, w.UPN, w.Email)}
	// aud is a string or an array of strings (OpenID Connect Core §2).
	var one string
	switch {
	case json.Unmarshal(w.Aud, &one) == nil:
		c.Audiences = []string{one}
	default:
		_ = json.Unmarshal(w.Aud, &c.Audiences)
	}
	// exp is a NumericDate: seconds, possibly with a fraction (RFC 7519 §2).
	if f, err := w.Exp.Float64(); err == nil && f > 0 && f < 1e11 {
		c.Expiry = time.Unix(int64(f), 0)
	}
	if c.ObjectID == "" {
		c.ObjectID = c.Subject
	}
	return c, nil
}

// ClockSkew is how far an ID token's exp may lie in the past: clocks of
// the client and the token service differ a little.
const ClockSkew = 5 * time.Minute

// IDCheck is what an ID token is checked against.
type IDCheck struct {
	ClientID string
	// Issuer reports whether iss is the authority's issuer for tenant tid.
	Issuer func(iss, tid string) bool
	// Nonce, if set, must equal the token's nonce.
	Nonce string
	Now   time.Time
}

// Check verifies that the token is for the client (aud), from the
// authority (iss), not expired (exp, with ClockSkew) and, when one was
// sent, answers the authorization request (nonce). Failures are
// entra.CodeInvalidIDToken.
func (c IDClaims) Check(want IDCheck) error {
	switch {
	case !slices.Contains(c.Audiences, want.ClientID):
		return invalidIDClaims("it is not for this application (aud)")
	case !want.Issuer(c.Issuer, c.TenantID):
		return invalidIDClaims("its issuer is not the authority's (iss)")
	case c.Expiry.IsZero():
		return invalidIDClaims("it has no expiry (exp)")
	case !want.Now.Before(c.Expiry.Add(ClockSkew)):
		return invalidIDClaims("it has expired (exp)")
	case want.Nonce != "" && subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(want.Nonce)) != 1:
		return invalidIDClaims("its nonce is not the authorization request's")
	}
	return nil
}

func invalidIDClaims(why string) error {
	return &entra.Error{Code: entra.CodeInvalidIDToken, Message: "the token response's id_token is refused: " + why}
}

// ParseClientInfo decodes client_info (base64url JSON {"uid","utid"}) into
// a home account id "uid.utid".
func ParseClientInfo(raw string) (homeAccountID string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(raw, "="))
	if err != nil {
		return "", &entra.Error{Code: entra.CodeInvalidResponse, Message: "the token response's client_info is not base64url"}
	}
	var ci struct {
		UID  string `json:"uid"`
		UTID string `json:"utid"`
	}
	if json.Unmarshal(b, &ci) != nil || ci.UID == "" || ci.UTID == "" {
		return "", &entra.Error{Code: entra.CodeInvalidResponse, Message: `the token response's client_info is not {"uid","utid"}`}
	}
	return ci.UID + "." + ci.UTID, nil
}

func invalidIDToken(why string) error {
	return &entra.Error{Code: entra.CodeInvalidResponse, Message: "the token response's id_token is malformed: " + why}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
