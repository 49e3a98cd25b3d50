// Package entraotel makes OpenTelemetry spans and metrics of what the entra
// clients do. Its Observer implements entra.Observer:
//
//	obs, err := entraotel.New(entraotel.Config{}) // the global providers
//	...
//	client, err := confidential.New(confidential.Config{..., Observer: obs})
//
// # Spans
//
// An acquisition that goes to the network (a cache miss or bypass, a
// proactive refresh, the redemption of a code or a refresh token) is an
// internal span "entra.acquire_token FLOW", a child of the caller's span.
// A proactive refresh, which no caller waits for, starts a trace of its
// own. Each HTTP request of an acquisition, a retry being another one, is
// a client span named after its method ("POST", "GET"), a child of the
// acquisition's, and its trace context is sent in the request's headers
// (W3C traceparent unless Config.Propagator says otherwise), so that the
// service's logs can be joined to the trace. Callers that wait on the
// same token share one request: each gets its span (entra.coalesced true
// for all but one), and the request's span is a child of the one that
// made it.
//
// A cache hit makes a span only when the caller's context carries a
// recording span, so that a traced request shows its token look-up; the
// span is dated back by the hit's duration. An untraced hit makes no span,
// and allocates nothing: its measurement options are made once per
// attribute combination.
//
// Acquisition spans carry entra.flow, entra.token.type,
// entra.cache.refresh_reason (for an acquisition that went to the
// network), entra.token.source (cache or identity_provider),
// entra.coalesced, entra.managed_identity.source and entra.region (when
// there is one) and, on failure, error.type (the entra.Code) with an Error
// status. Request spans follow the HTTP client conventions:
// http.request.method, server.address, server.port (when the URL has one),
// url.full (never with a query), http.response.status_code,
// http.request.resend_count (from the first retry on) and error.type (the
// entra.Code when no answer came, else a status of 400 or more, which makes
// the status Error).
//
// # Metrics
//
// The meter and the tracer are named ScopeName. Durations are in seconds.
//
//	name                              kind           unit           attributes
//	entra.token.acquisition.duration  histogram      s              entra.flow, entra.token.source, entra.token.type,
//	                                                                entra.cache.refresh_reason (not for a hit),
//	                                                                entra.managed_identity.source (if any), error.type
//	entra.token.acquisitions          counter        {acquisition}  entra.flow, entra.token.source, entra.outcome
//	                                                                (success or failure), error.type
//	entra.token.remaining_lifetime    histogram      s              entra.flow, entra.token.source
//	entra.token.coalesced             counter        {caller}       entra.flow
//	entra.token.proactive_refreshes   counter        {refresh}      entra.flow, entra.outcome, error.type
//	http.client.request.duration      histogram      s              http.request.method, server.address, server.port,
//	                                                                http.response.status_code, error.type
//
// Every acquisition, cache hits and proactive refreshes included, is
// measured by entra.token.acquisition.duration (a proactive refresh has
// entra.cache.refresh_reason proactive_refresh). entra.token.acquisitions
// and entra.token.remaining_lifetime count only what callers asked for and
// got; proactive refreshes are counted by entra.token.proactive_refreshes.
// error.type is set on failure only.
//
// Metric attributes take few values: no URL (its path names the tenant),
// client, scope or account is among them. Nothing this package records is
// secret: the observer is never given a token, secret, assertion, claims
// payload, user name or query string.
package entraotel
