package managedidentity

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/entra-go/entra/internal/transport"
)

// Attempt describes a failed request, for a RetryPolicy to judge.
type Attempt struct {
	// Source is the client's source.
	Source Source
	// Number is 1 for the first request of an acquisition, 2 for the first retry, ...
	Number int
	// StatusCode is the answer's HTTP status; 0 when no answer came.
	StatusCode int
	// Err is the failure when no answer came (an *entra.Error with code
	// entra.CodeTransport); nil otherwise. Cancellations never reach a policy.
	Err error
	// RetryAfter is the answer's Retry-After; 0 when absent or unreadable.
	RetryAfter time.Duration
	// FirstStatusCode is the status of the acquisition's first answer
	// (0 if the first request got none).
	FirstStatusCode int
}

// Timeout reports whether the attempt failed because it timed out.
func (a Attempt) Timeout() bool {
	var ne net.Error
	return a.Err != nil && errors.As(a.Err, &ne) && ne.Timeout()
}

// RetryPolicy decides whether a failed request is retried, and after what
// pause. Implementations must be safe for concurrent use. The pause is
// bounded by the acquisition's context: a client never waits past it.
type RetryPolicy interface {
	Retry(a Attempt) (delay time.Duration, retry bool)
}

// RetryFunc adapts a function to a RetryPolicy.
type RetryFunc func(a Attempt) (time.Duration, bool)

// Retry calls f.
func (f RetryFunc) Retry(a Attempt) (time.Duration, bool) { return f(a) }

// DefaultRetryPolicy is the reference policy:
//
//   - IMDS retries 404, 408, 410, 429, 5xx and timeouts three times,
//     after 1 s, 2 s and 4 s; but when the first answer was 410 (IMDS is
//     being updated) it retries up to seven times, 10 s apart.
//   - Every other source retries 404, 408, 429, 500, 503, 504 and timeouts
//     three times, after the answer's Retry-After but at least 1 s.
func DefaultRetryPolicy() RetryPolicy { return referencePolicy{} }

// NoRetry is a policy that never retries.
func NoRetry() RetryPolicy { return RetryFunc(func(Attempt) (time.Duration, bool) { return 0, false }) }

type referencePolicy struct{}

func (referencePolicy) Retry(a Attempt) (time.Duration, bool) {
	n := max(a.Number, 1)
	switch {
	case a.Source != SourceIMDS:
		if n > 3 || !retryableOther(a) {
			return 0, false
		}
		return max(time.Second, a.RetryAfter), true
	case a.FirstStatusCode == http.StatusGone:
		if n > 7 || !retryableIMDS(a) {
			return 0, false
		}
		return 10 * time.Second, true
	default:
		if n > 3 || !retryableIMDS(a) {
			return 0, false
		}
		return time.Second << (n - 1), true
	}
}

func retryableIMDS(a Attempt) bool {
	switch s := a.StatusCode; {
	case s == 0:
		return a.Timeout()
	case s == http.StatusNotFound, s == http.StatusRequestTimeout, s == http.StatusGone,
		s == http.StatusTooManyRequests, s >= 500 && s <= 599:
		return true
	}
	return false
}

func retryableOther(a Attempt) bool {
	switch a.StatusCode {
	case 0:
		return a.Timeout()
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// maxRetryAfter caps a server's Retry-After so that a bogus value cannot
// park an acquisition for days.
const maxRetryAfter = 10 * time.Minute

// parseRetryAfter reads Retry-After, bounded by maxRetryAfter; 0 if absent
// or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	d, _ := transport.ParseRetryAfter(v, now)
	return min(d, maxRetryAfter)
}
