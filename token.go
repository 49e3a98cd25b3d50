package entra

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Source says where a token came from.
type Source uint8

const (
	// SourceIdentityProvider means the token was fetched from the token service by this call.
	SourceIdentityProvider Source = iota
	// SourceCache means the token was served from the cache.
	SourceCache
)

// String returns "identity_provider" or "cache".
func (s Source) String() string {
	if s == SourceCache {
		return "cache"
	}
	return "identity_provider"
}

// Token types as the token service names them.
const (
	TokenTypeBearer  = "Bearer"
	TokenTypeMTLSPoP = "mtls_pop"
)

// Token is an access token and what is known about it.
//
// Its String method never prints the token itself.
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
	// Scopes are the scopes the token was granted for.
	Scopes []string
	// Source says whether the token was served from the cache.
	Source Source
	// TokenEndpoint is the URL the token was requested from; empty for cache hits.
	TokenEndpoint string
	// Region is the Azure region whose endpoint issued the token, if any.
	Region string
	// Account is the user the token is for; nil for app tokens.
	Account *Account
	// IDToken is the raw OpenID Connect ID token of a user flow, when the
	// token service sent one.
	IDToken string
	// BindingCertificate is the certificate a proof-of-possession token is
	// bound to (its cnf x5t#S256): the request using the token must present
	// it in the TLS handshake. Nil for bearer tokens.
	BindingCertificate *x509.Certificate
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

// String describes the token without revealing it.
func (t Token) String() string {
	return fmt.Sprintf("entra.Token{type=%s expires=%s source=%s}",
		t.TokenType, t.ExpiresOn.UTC().Format(time.RFC3339), t.Source)
}

// GoString is like String, so %#v does not reveal the token either.
func (t Token) GoString() string { return t.String() }

// Format makes every fmt verb print String, never the token.
func (t Token) Format(f fmt.State, _ rune) { io.WriteString(f, t.String()) }

// LogValue keeps log/slog handlers (JSON ones marshal fields) from
// printing the token.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// TokenSource supplies tokens. Implementations are safe for concurrent use.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}

// TokenSourceFunc adapts a function to TokenSource.
type TokenSourceFunc func(ctx context.Context) (Token, error)

// Token calls f.
func (f TokenSourceFunc) Token(ctx context.Context) (Token, error) { return f(ctx) }

// Version is this module's version, sent to the token service as x-client-Ver.
const Version = "0.1.0"
