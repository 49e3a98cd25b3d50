package transport

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/budget"
)

// maxServiceRetryAfter bounds the Retry-After the token service's policy
// waits for; a longer one is returned to the caller at once.
const maxServiceRetryAfter = time.Minute

// ServicePolicy is the token service's reference policy: one retry, after
// a network failure or a 5xx (after 1 s), or after the Retry-After of a 429
// or 5xx when it is at most a minute.
func ServicePolicy(a entra.Attempt) (time.Duration, bool) {
	if a.Number > 1 {
		return 0, false
	}
	switch {
	case a.Err != nil:
		return time.Second, true
	case a.RetryAfter > 0 && (a.StatusCode == http.StatusTooManyRequests || a.StatusCode >= 500):
		return a.RetryAfter, a.RetryAfter <= maxServiceRetryAfter
	case a.StatusCode >= 500:
		return time.Second, true
	}
	return 0, false
}

// NoRetry never retries.
func NoRetry(entra.Attempt) (time.Duration, bool) { return 0, false }

// Retry calls send until an answer is 2xx or policy gives up, and returns
// the last answer (whatever its status) or failure. Only answers and
// network failures (entra.CodeTransport) reach the policy: cancellations,
// oversized answers and refused redirects are final. A pause that would
// outlast ctx is not taken: the answer is returned at once, carrying the
// Retry-After it asked for.
func (c *Client) Retry(ctx context.Context, policy entra.RetryPolicy, send func(context.Context) (*Response, error)) (*Response, error) {
	first := 0
	for n := 1; ; n++ {
		start := time.Now()
		resp, err := send(c.withAttempt(ctx, n))
		a := entra.Attempt{Number: n}
		switch {
		case err == nil && resp.OK():
			c.log(ctx, resp, err, a, time.Since(start), 0, false)
			return resp, nil
		case err != nil && entra.ErrorCode(err) != entra.CodeTransport:
			c.log(ctx, resp, err, a, time.Since(start), 0, false)
			return nil, err
		case err != nil:
			a.Err, a.Timeout = err, isTimeout(err)
		default:
			a.StatusCode, a.RetryAfter = resp.StatusCode, resp.RetryAfter()
		}
		if n == 1 {
			first = a.StatusCode
		}
		a.FirstStatusCode = first
		delay, retry := policy(a)
		if ctx.Err() != nil {
			return nil, budget.Err(ctx) // the caller left while the answer was judged
		}
		retry = retry && budget.Fits(ctx, delay)
		c.log(ctx, resp, err, a, time.Since(start), delay, retry)
		if !retry {
			return resp, err
		}
		if err := c.sleep(ctx, delay); err != nil {
			return nil, budget.Err(ctx)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *Client) log(ctx context.Context, resp *Response, err error, a entra.Attempt, took, delay time.Duration, retry bool) {
	if c.Logger == nil {
		return
	}
	attrs := []slog.Attr{slog.Int("attempt", a.Number), slog.Duration("took", took)}
	if resp != nil {
		attrs = append(attrs, slog.String("url", hostAndPath(resp.URL)), slog.Int("status", resp.StatusCode))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", string(entra.ErrorCode(err))))
	}
	if retry {
		attrs = append(attrs, slog.Duration("retry_in", delay))
	}
	c.Logger.LogAttrs(ctx, slog.LevelDebug, "entra: http", attrs...)
}

// hostAndPath drops the query, which may carry claims.
func hostAndPath(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i]
	}
	return raw
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits d, or until ctx ends (then it returns ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ParseRetryAfter reads a Retry-After value: delta-seconds (at most a day)
// or an HTTP date. ok is false for anything else.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
