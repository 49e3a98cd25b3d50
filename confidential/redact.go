package confidential

import (
	"fmt"
	"log/slog"
)

// The values that carry an authorization code or a PKCE verifier print
// without them, whatever fmt verb or slog handler is used.

// Format shows the redirect URI only, for every verb.
func (a AuthCode) Format(f fmt.State, _ rune) { fmt.Fprint(f, a.describe()) }

// LogValue logs what Format prints.
func (a AuthCode) LogValue() slog.Value { return slog.StringValue(a.describe()) }

func (a AuthCode) describe() string {
	return fmt.Sprintf("confidential.AuthCode{redirect_uri=%s}", a.RedirectURI)
}

// Format omits the verifier, for every verb (the URL, state and nonce
// travel in the open).
func (a Authorization) Format(f fmt.State, _ rune) { fmt.Fprint(f, a.describe()) }

// LogValue logs what Format prints.
func (a Authorization) LogValue() slog.Value { return slog.StringValue(a.describe()) }

func (a Authorization) describe() string {
	return fmt.Sprintf("confidential.Authorization{url=%s state=%s}", a.URL, a.State)
}

// Format prints the request without its claims, for every verb.
func (r TokenRequest) Format(f fmt.State, _ rune) { fmt.Fprint(f, r.describe()) }

// LogValue logs what Format prints.
func (r TokenRequest) LogValue() slog.Value { return slog.StringValue(r.describe()) }

func (r TokenRequest) describe() string {
	return fmt.Sprintf("confidential.TokenRequest{Scopes:%q Tenant:%q Claims:%s ClientClaims:%s ForceRefresh:%t MTLSPoP:%t}",
		r.Scopes, r.Tenant, presence(r.Claims), presence(r.ClientClaims), r.ForceRefresh, r.MTLSPoP)
}

func presence(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}
