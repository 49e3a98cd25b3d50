package entra

import "time"

// Attempt is a request that failed, for a RetryPolicy to judge.
type Attempt struct {
	// Number is 1 for an acquisition's first request, 2 for its first retry, ...
	Number int
	// StatusCode is the answer's HTTP status; 0 when no answer came.
	StatusCode int
	// FirstStatusCode is the status of the acquisition's first answer (0
	// if none came).
	FirstStatusCode int
	// RetryAfter is the answer's Retry-After; 0 when it has none.
	RetryAfter time.Duration
	// Err is the failure when no answer came (code CodeTransport); nil
	// otherwise. Cancellations and time-outs of the budget never reach a
	// policy.
	Err error
	// Timeout reports that the request timed out without an answer.
	Timeout bool
}

// RetryPolicy decides whether a failed request is tried again, and after
// what pause. A pause that would outlast the time budget is never taken:
// the failure is returned at once, with the Retry-After the server asked
// for. Policies are called concurrently.
//
// Nil in a client's Config means the service's reference policy: for the
// token service one retry of a network failure or a 5xx (after 1 s, or the
// Retry-After of a 429 or 5xx up to a minute); for managed identity the
// policy of each source (see managedidentity.Config.RetryPolicy).
type RetryPolicy func(a Attempt) (delay time.Duration, retry bool)
