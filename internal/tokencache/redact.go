package tokencache

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// The entry types hold tokens. Their String, Format and LogValue methods
// describe them without the secret, whatever fmt verb or slog handler is used.

// String describes the token without its secret.
func (t AccessToken) String() string {
	return fmt.Sprintf("cache.AccessToken{env=%s client=%s tenant=%s target=%q expires=%s}",
		t.Environment, t.ClientID, t.Tenant, t.Target, t.ExpiresOn.UTC().Format(time.RFC3339))
}

// Format prints String for every verb.
func (t AccessToken) Format(f fmt.State, _ rune) { io.WriteString(f, t.String()) }

// LogValue logs String.
func (t AccessToken) LogValue() slog.Value { return slog.StringValue(t.String()) }

// String describes the token without its secret.
func (t RefreshToken) String() string {
	return fmt.Sprintf("cache.RefreshToken{env=%s client=%s}", t.Environment, t.ClientID)
}

// Format prints String for every verb.
func (t RefreshToken) Format(f fmt.State, _ rune) { io.WriteString(f, t.String()) }

// LogValue logs String.
func (t RefreshToken) LogValue() slog.Value { return slog.StringValue(t.String()) }

// String describes the hit without its secret.
func (c Cached) String() string {
	return fmt.Sprintf("cache.Cached{type=%s expires=%s}", c.TokenType, c.ExpiresOn.UTC().Format(time.RFC3339))
}

// Format prints String for every verb.
func (c Cached) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// LogValue logs String.
func (c Cached) LogValue() slog.Value { return slog.StringValue(c.String()) }

// String describes the ID token without it.
func (t IDToken) String() string {
	return fmt.Sprintf("cache.IDToken{env=%s client=%s realm=%s}", t.Environment, t.ClientID, t.Realm)
}

// Format prints String for every verb.
func (t IDToken) Format(f fmt.State, _ rune) { io.WriteString(f, t.String()) }

// LogValue logs String.
func (t IDToken) LogValue() slog.Value { return slog.StringValue(t.String()) }
