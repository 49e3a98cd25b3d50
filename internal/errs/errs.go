// Package errs builds the *entra.Error values the library returns for
// failures found on the client side.
package errs

import (
	"fmt"

	"github.com/entra-go/entra"
)

// New returns a client-side *entra.Error. The message must not contain
// secrets.
func New(code entra.Code, format string, args ...any) *entra.Error {
	return &entra.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns a client-side *entra.Error with a cause. The cause's text
// becomes part of Error(), so it must not contain secrets either.
func Wrap(code entra.Code, err error, format string, args ...any) *entra.Error {
	return &entra.Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}
