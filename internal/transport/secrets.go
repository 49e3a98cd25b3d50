package transport

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/entra-go/entra/internal/redact"
)

// secretFields are the form fields, and secretHeaders the headers, whose
// values are secrets; a query's claims parameter is one too.
var (
	secretFields  = [...]string{"client_secret", "client_assertion", "assertion", "refresh_token", "code", "code_verifier", "claims"}
	secretHeaders = [...]string{"Authorization", "X-Identity-Header", "Secret"}
)

// secretsOf collects the secret values of a request and its form.
func secretsOf(req *http.Request, form url.Values) redact.Set {
	var s redact.Set
	for _, f := range secretFields {
		for _, v := range form[f] {
			s.Add(v)
		}
	}
	for _, h := range secretHeaders {
		for _, v := range req.Header.Values(h) {
			s.Add(v)
			if _, cred, ok := strings.Cut(v, " "); ok {
				s.Add(cred) // "Basic <secret>"
			}
		}
	}
	for _, v := range req.URL.Query()["claims"] {
		s.Add(v)
	}
	return s
}
