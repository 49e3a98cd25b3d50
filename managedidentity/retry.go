package managedidentity

import (
	"net/http"
	"time"

	"github.com/entra-go/entra"
)

// sourcePolicy is the reference retry policy of a source:
//
//   - IMDS retries 404, 408, 410, 429, 5xx and timeouts three times,
//     after 1 s, 2 s and 4 s; but when the first answer was 410 (IMDS is
//     being updated) it retries up to seven times, 10 s apart.
//   - Every other source retries 404, 408, 429, 500, 503, 504 and timeouts
//     three times, after the answer's Retry-After (at most maxRetryAfter)
//     but at least 1 s.
func sourcePolicy(s Source) entra.RetryPolicy {
	if s != SourceIMDS {
		return func(a entra.Attempt) (time.Duration, bool) {
			if a.Number > 3 || !retryableOther(a) {
				return 0, false
			}
			return max(time.Second, min(a.RetryAfter, maxRetryAfter)), true
		}
	}
	return func(a entra.Attempt) (time.Duration, bool) {
		n := max(a.Number, 1)
		switch {
		case a.FirstStatusCode == http.StatusGone:
			if n > 7 || !retryableIMDS(a) {
				return 0, false
			}
			return 10 * time.Second, true
		case n > 3 || !retryableIMDS(a):
			return 0, false
		}
		return time.Second << (n - 1), true
	}
}

func retryableIMDS(a entra.Attempt) bool {
	switch s := a.StatusCode; {
	case s == 0:
		return a.Timeout
	case s == http.StatusNotFound, s == http.StatusRequestTimeout, s == http.StatusGone,
		s == http.StatusTooManyRequests, s >= 500 && s <= 599:
		return true
	}
	return false
}

func retryableOther(a entra.Attempt) bool {
	switch a.StatusCode {
	case 0:
		return a.Timeout
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// maxRetryAfter caps a server's Retry-After so that a bogus value cannot
// park an acquisition for days.
const maxRetryAfter = 10 * time.Minute
