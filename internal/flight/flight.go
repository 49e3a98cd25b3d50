// Package flight lets concurrent callers share one token request.
//
// It wraps golang.org/x/sync/singleflight to fix that package's pitfall for
// network calls: there, the first caller's context cancels the shared call
// for every waiter. Here the shared work runs on a context detached from all
// callers (bounded by its own timeout), and each caller waits on its own
// context, so a caller that gives up leaves without disturbing the others.
package flight

import (
	"context"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/entra-go/entra/internal/budget"
)

// Group deduplicates concurrent calls by key. The zero value is ready to use.
type Group[T any] struct {
	g singleflight.Group
}

// Do runs fn once for all concurrent callers with the same key and gives each
// the result. fn receives a context that keeps the first caller's values but
// not its cancellation, and ends when the time budget runs out (see package
// budget). A caller whose ctx ends first gets entra.CodeCanceled while fn
// goes on for the others (and for the cache).
func (g *Group[T]) Do(ctx context.Context, key string, timeout time.Duration, fn func(context.Context) (T, error)) (T, error) {
	ch := g.g.DoChan(key, func() (any, error) {
		work, cancel := budget.With(context.WithoutCancel(ctx), timeout)
		defer cancel()
		return fn(work)
	})
	select {
	case <-ctx.Done():
		var zero T
		return zero, budget.Err(ctx)
	case r := <-ch:
		if r.Err != nil {
			var zero T
			return zero, r.Err
		}
		return r.Val.(T), nil
	}
}
