package confidential

import (
	"fmt"
	"io"
	"log/slog"
)

// The values that carry an authorization code or a PKCE verifier print
// without them, whatever fmt verb or slog handler is used.

// String shows the redirect URI only.
func (a AuthCode) String() string {
	return fmt.Sprintf("confidential.AuthCode{redirect_uri=%s}", a.RedirectURI)
}

// Format prints String for every verb.
func (a AuthCode) Format(f fmt.State, _ rune) { io.WriteString(f, a.String()) }

// LogValue logs String.
func (a AuthCode) LogValue() slog.Value { return slog.StringValue(a.String()) }

// String omits the verifier (the URL, state and nonce travel in the open).
func (a Authorization) String() string {
	return fmt.Sprintf("confidential.Authorization{url=%s state=%s}", a.URL, a.State)
}

// Format prints String for every verb.
func (a Authorization) Format(f fmt.State, _ rune) { io.WriteString(f, a.String()) }

// LogValue logs String.
func (a Authorization) LogValue() slog.Value { return slog.StringValue(a.String()) }
