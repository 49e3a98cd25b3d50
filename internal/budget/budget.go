// Package budget bounds an acquisition by the library's own time budget and
// tells, when a context ends, whether the budget ran out or the caller left:
// entra.CodeTimeout and entra.CodeCanceled are different answers.
package budget

import (
	"context"
	"errors"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

// errExhausted is the cause of a context that ended because the library's
// own time budget ran out, not because its caller cancelled.
var errExhausted = errors.New("the library's time budget ran out")

// With bounds ctx by the budget d. When the budget, and not ctx, ends the
// returned context, Err reports entra.CodeTimeout.
func With(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, d, errExhausted)
}

// Err reports why ctx ended: entra.CodeTimeout when the budget of With ran
// out, else entra.CodeCanceled (the caller cancelled, or its own deadline
// passed). errors.Is matches context.DeadlineExceeded or context.Canceled
// accordingly.
func Err(ctx context.Context) error {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errExhausted):
		return errs.Wrap(entra.CodeTimeout, context.DeadlineExceeded, "no answer within the time budget")
	case cause == nil:
		cause = context.Canceled
	}
	return errs.Wrap(entra.CodeCanceled, cause, "the request was abandoned")
}

// Fits reports whether a pause of d leaves ctx time for another attempt.
func Fits(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > d
}
