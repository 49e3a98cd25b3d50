package entraotel

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// instruments are the Observer's metrics; doc.go lists them.
type instruments struct {
	acquisitionDuration metric.Float64Histogram
	acquisitions        metric.Int64Counter
	remainingLifetime   metric.Float64Histogram
	coalesced           metric.Int64Counter
	proactiveRefreshes  metric.Int64Counter
	requestDuration     metric.Float64Histogram
}

// newInstruments makes the instruments. Bucket boundaries are seconds: an
// acquisition spans from a cache hit (microseconds) to the retries of a
// slow service (a minute); HTTP requests use the conventions' advice; a
// token lives an hour to a day.
func newInstruments(m metric.Meter) (instruments, error) {
	var i instruments
	var errs [6]error
	i.acquisitionDuration, errs[0] = m.Float64Histogram("entra.token.acquisition.duration",
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(
			0.00001, 0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
		metric.WithDescription("Duration of token acquisitions, cache hits included."))
	i.acquisitions, errs[1] = m.Int64Counter("entra.token.acquisitions",
		metric.WithUnit("{acquisition}"),
		metric.WithDescription("Token acquisitions of callers, by outcome; proactive refreshes are not counted."))
	i.remainingLifetime, errs[2] = m.Float64Histogram("entra.token.remaining_lifetime",
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(
			60, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400, 172800),
		metric.WithDescription("Remaining lifetime of the tokens handed to callers."))
	i.coalesced, errs[3] = m.Int64Counter("entra.token.coalesced",
		metric.WithUnit("{caller}"),
		metric.WithDescription("Callers that waited on another caller's request instead of making their own."))
	i.proactiveRefreshes, errs[4] = m.Int64Counter("entra.token.proactive_refreshes",
		metric.WithUnit("{refresh}"),
		metric.WithDescription("Background refreshes of tokens due for refresh, by outcome."))
	i.requestDuration, errs[5] = m.Float64Histogram("http.client.request.duration",
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(
			0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10),
		metric.WithDescription("Duration of HTTP client requests."))
	return i, errors.Join(errs[:]...)
}
