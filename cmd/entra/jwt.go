package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// decodedToken is what a token's text shows without any key: a JWS's
// header and claims (never its signature), a JWE's header, or nothing of
// an opaque token.
type decodedToken struct {
	// Format is "jwt" (a signed JWT), "jwe" (an encrypted one, whose
	// claims only its recipient can read) or "opaque".
	Format string `json:"format"`
	// Length is the token's length in bytes.
	Length int             `json:"length"`
	Header json.RawMessage `json:"header,omitempty"`
	Claims json.RawMessage `json:"claims,omitempty"`
}

// jwtError is text that looks like a JWT but is not a well-formed one.
type jwtError struct{ reason string }

func (e *jwtError) Error() string { return "the token looks like a JWT but " + e.reason }

// decodeJWT splits a compact JWS or JWE and decodes what is readable.
// Text that does not start like a JWT (a base64url JSON object, "eyJ")
// with the segments of one is opaque; text that does but fails to decode
// is a *jwtError.
func decodeJWT(token string) (decodedToken, error) {
	out := decodedToken{Format: "opaque", Length: len(token)}
	parts := strings.Split(token, ".")
	if !strings.HasPrefix(token, "eyJ") || (len(parts) != 3 && len(parts) != 5) {
		return out, nil
	}
	header, err := segmentObject(parts[0], "header")
	if err != nil {
		return out, err
	}
	out.Header = header
	if len(parts) == 5 {
		out.Format = "jwe"
		return out, nil
	}
	if out.Claims, err = segmentObject(parts[1], "claims"); err != nil {
		return decodedToken{Format: "opaque", Length: len(token)}, err
	}
	out.Format = "jwt"
	return out, nil
}

// segmentObject decodes one base64url segment (padding tolerated), which
// must hold one JSON object. The object is returned as written, compacted.
func segmentObject(seg, name string) (json.RawMessage, error) {
	is := "its " + name + " is"
	if name == "claims" {
		is = "its claims are"
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return nil, &jwtError{reason: is + " not base64url"}
	}
	raw = bytes.TrimSpace(raw)
	var obj map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return nil, &jwtError{reason: is + " not a JSON object"}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, &jwtError{reason: is + " not JSON"}
	}
	return b.Bytes(), nil
}
