// Package redact keeps the values a request carried out of what a server
// answered. A token service, or anything pretending to be one, may echo a
// client secret, an assertion or a refresh token in its error description,
// its error code or a header; errors built from its answer must never print
// them.
package redact

import (
	"net/url"
	"strings"

	"github.com/entra-go/entra"
)

// Mark replaces a redacted value.
const Mark = "[redacted]"

// minLen is the shortest value redacted: shorter ones (a "1", "true") would
// mangle every message, and no secret the library sends is that short.
const minLen = 6

// minJWT is the shortest run starting with "eyJ" taken for a JWT (or a cut
// piece of one): a base64url JSON object is never shorter in practice.
const minJWT = 20

// Set is the secret values one request carried. The zero value is empty.
type Set struct {
	values []string
}

// Add records v, and the encodings it travels in (form, query and path
// escaping), as secret.
func (s *Set) Add(v string) {
	if len(v) < minLen {
		return
	}
	for _, enc := range []string{v, url.QueryEscape(v), url.PathEscape(v), EscapeUnreserved(v)} {
		if !contains(s.values, enc) {
			s.values = append(s.values, enc)
		}
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// String replaces every secret value in text with Mark, and every JWT-like
// run (an echoed token or assertion, whole or cut) as well.
func (s Set) String(text string) string {
	for _, v := range s.values {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Mark)
		}
	}
	return jwts(text)
}

// Error redacts every text field of e in place and returns it.
func (s Set) Error(e *entra.Error) *entra.Error {
	e.Code = entra.Code(s.String(string(e.Code)))
	for _, f := range []*string{&e.Message, &e.Description, &e.CorrelationID, &e.TraceID, &e.Timestamp, &e.Claims} {
		*f = s.String(*f)
	}
	return e
}

// jwts replaces runs of base64url characters and dots that start with
// "eyJ" (the encoding of `{"`) and are long enough to be a JWT.
func jwts(text string) string {
	if !strings.Contains(text, "eyJ") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "eyJ")
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		end := i
		for end < len(text) && jwtChar(text[end]) {
			end++
		}
		b.WriteString(text[:i])
		if end-i >= minJWT {
			b.WriteString(Mark)
		} else {
			b.WriteString(text[i:end])
		}
		text = text[end:]
	}
}

func jwtChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// EscapeUnreserved percent-encodes every byte outside RFC 3986's
// unreserved set (letters, digits, "-", ".", "_", "~"), as managed
// identity query parameters are sent.
func EscapeUnreserved(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
