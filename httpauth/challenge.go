package httpauth

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// Challenge returns the claims of a CAE claims challenge in resp: a 401
// whose WWW-Authenticate (Bearer or PoP) carries error="insufficient_claims"
// and claims="<base64 JSON>". The claims are decoded (base64, padded or
// not, standard or URL alphabet) and ready to be a token request's Claims.
func Challenge(resp *http.Response) (claims string, ok bool) {
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		return "", false
	}
	for _, header := range resp.Header.Values("WWW-Authenticate") {
		params := authParams(header)
		if !strings.EqualFold(params["error"], "insufficient_claims") || params["claims"] == "" {
			continue
		}
		if decoded, ok := decodeClaims(params["claims"]); ok {
			return decoded, true
		}
	}
	return "", false
}

// authParams reads the auth-params of a challenge (RFC 9110 §11.2):
// name=value or name="quoted value", separated by commas, after the
// scheme. Names are lower-cased.
func authParams(header string) map[string]string {
	params := map[string]string{}
	if _, rest, ok := strings.Cut(strings.TrimSpace(header), " "); ok {
		header = rest
	}
	for s := header; s != ""; {
		s = strings.TrimLeft(s, " ,")
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		name = strings.ToLower(strings.TrimSpace(name))
		var value string
		if rest = strings.TrimLeft(rest, " "); strings.HasPrefix(rest, `"`) {
			value, s = quoted(rest[1:])
		} else {
			value, s, _ = strings.Cut(rest, ",")
			value = strings.TrimSpace(value)
		}
		params[name] = value
	}
	return params
}

// quoted reads a quoted-string's content up to its closing quote.
func quoted(s string) (value, rest string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), ""
}

func decodeClaims(s string) (string, bool) {
	s = strings.TrimRight(s, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "{") {
			return string(b), true
		}
	}
	return "", false
}
