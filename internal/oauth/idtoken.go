package oauth

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/entra-go/entra"
)

// IDClaims are the ID token claims an account is made of.
type IDClaims struct {
	Audience          string
	Issuer            string
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
	var many []string
	switch {
	case json.Unmarshal(w.Aud, &one) == nil:
		c.Audience = one
	case json.Unmarshal(w.Aud, &many) == nil && len(many) > 0:
		c.Audience = many[0]
	}
	if c.ObjectID == "" {
		c.ObjectID = c.Subject
	}
	return c, nil
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
