// Package xoauth2 gives the many Go libraries that take a
// golang.org/x/oauth2 TokenSource (gRPC per-RPC credentials, Google API
// clients, oauth2.Transport) the tokens of this library. It is a module of
// its own, so the core does not import x/oauth2.
package xoauth2

import (
	"context"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/httpauth"
)

// DefaultTimeout bounds one Token call when TokenSource is given zero.
const DefaultTimeout = time.Minute

// TokenSource adapts token (see package httpauth's ForClient and
// ForManagedIdentity) to an oauth2.TokenSource. oauth2.TokenSource's Token
// takes no context: each call runs under ctx (its values and its
// cancellation) and at most timeout (zero: DefaultTimeout). The client
// behind token caches and refreshes, so the result needs no
// oauth2.ReuseTokenSource. A proof-of-possession token is refused: x/oauth2
// can only send bearer tokens (use httpauth.Transport for those).
func TokenSource(ctx context.Context, token httpauth.TokenFunc, timeout time.Duration) oauth2.TokenSource {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return source{ctx: ctx, token: token, timeout: timeout}
}

type source struct {
	ctx     context.Context
	token   httpauth.TokenFunc
	timeout time.Duration
}

func (s source) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	tok, err := s.token(ctx, "")
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(tok.TokenType, entra.TokenTypeBearer) {
		return nil, &entra.Error{Code: entra.CodeTokenTypeMismatch,
			Message: "an oauth2.TokenSource sends bearer tokens only; a " + tok.TokenType + " token needs httpauth.Transport"}
	}
	return &oauth2.Token{AccessToken: tok.AccessToken, TokenType: entra.TokenTypeBearer, Expiry: tok.ExpiresOn}, nil
}
