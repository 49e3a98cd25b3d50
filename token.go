package entra

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"
)

// Token types as the token service names them.
const (
	TokenTypeBearer  = "Bearer"
	TokenTypeMTLSPoP = "mtls_pop"
)

// Token is an access token and what is known about it. No fmt verb and no
// log/slog handler prints the token itself.
type Token struct {
	// AccessToken is the token to send to the resource.
	AccessToken string
	// TokenType is the scheme: TokenTypeBearer or TokenTypeMTLSPoP.
	TokenType string
	// ExpiresOn is when the token stops being valid.
	ExpiresOn time.Time
	// RefreshOn is when the library starts refreshing the token proactively.
	// It is zero when the token service gave no hint.
	RefreshOn time.Time
	// Scopes are the scopes the token was granted for. A cache hit shares
	// them with every other hit: read them, never change them.
	Scopes []string
	// FromCache reports that the token was served from the cache, not
	// fetched by this call.
	FromCache bool
	// TokenEndpoint is the URL the token was requested from; empty for cache hits.
	TokenEndpoint string
	// Region is the Azure region whose endpoint issued the token, if any.
	Region string
	// Account is the user the token is for; nil for app tokens. Tokens of
	// one user may share it: read it, never change it.
	Account *Account
	// IDToken is the raw OpenID Connect ID token of a user flow, when the
	// token service sent one.
	IDToken string
	// BindingCertificate is the certificate a proof-of-possession token is
	// bound to (its cnf x5t#S256), with its key and its Leaf: the request
	// using the token must present it in the TLS handshake (package
	// httpauth does). Nil for bearer tokens.
	BindingCertificate *tls.Certificate
	// RefreshToken is the refresh token the token service sent with a user
	// flow's token, for callers that keep it themselves. The cache keeps it
	// too; most callers need not touch it.
	RefreshToken string
}

// AuthorizationHeader is the value of an HTTP Authorization header carrying the token.
func (t Token) AuthorizationHeader() string {
	scheme := t.TokenType
	if scheme == "" {
		scheme = TokenTypeBearer
	}
	return scheme + " " + t.AccessToken
}

// Format prints the token's type, expiry and origin, never the token, for
// every verb.
func (t Token) Format(f fmt.State, _ rune) { fmt.Fprint(f, t.describe()) }

// LogValue keeps log/slog handlers (JSON ones marshal fields) from
// printing the token.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.describe()) }

func (t Token) describe() string {
	source := "identity_provider"
	if t.FromCache {
		source = "cache"
	}
	return fmt.Sprintf("entra.Token{type=%s expires=%s source=%s}", t.TokenType, t.ExpiresOn.UTC().Format(time.RFC3339), source)
}
