package entra

import (
	"context"
	"net/http"
	"time"
)

// Observer sees the work of both clients, for telemetry: set one as
// Config.Observer of a confidential or managed identity client. Module
// github.com/entra-go/entra/entraotel is one that makes OpenTelemetry
// spans and metrics.
//
// Its methods are called by the goroutine doing the work, so they must be
// quick and safe for concurrent use. What they are given is never secret:
// no token, secret, assertion, claims payload, user name or query string.
type Observer interface {
	// StartAcquisition is called when an acquisition goes to the network:
	// a cache miss or bypass, a proactive refresh, the redemption of a
	// code or refresh token. The context it returns is that work's: the
	// exchanges and EndAcquisition get it, or one derived from it.
	StartAcquisition(ctx context.Context, a Acquisition) context.Context
	// EndAcquisition reports how an acquisition ended. Every acquisition
	// ends, cache hits included: a hit, told by its empty Reason, was not
	// started, and ctx is then the caller's. (FromCache alone does not
	// tell: a started acquisition may find the token another just stored.)
	EndAcquisition(ctx context.Context, a Acquisition)
	// StartExchange is called before each HTTP request to the token
	// service, discovery, a region or a managed identity endpoint. It may
	// set headers of the request in header (trace context, for one); the
	// context it returns is the request's.
	StartExchange(ctx context.Context, e Exchange, header http.Header) context.Context
	// EndExchange reports the request's outcome.
	EndExchange(ctx context.Context, e Exchange)
}

// Acquisition describes one call for a token, or a proactive refresh.
// Fields that depend on the outcome are set for EndAcquisition only.
type Acquisition struct {
	// Flow is client_credentials, on_behalf_of, authorization_code,
	// refresh_token, silent or managed_identity.
	Flow string
	// ManagedIdentitySource is the managed identity source (imds,
	// app_service, azure_arc, cloud_shell, service_fabric,
	// machine_learning); "" for a confidential client.
	ManagedIdentitySource string
	// Reason is why the token service is asked: no_cached_token, expired,
	// force_refresh, claims (a claims challenge), proactive_refresh, or
	// not_applicable (a code or refresh token is redeemed). It is "" for
	// a cache hit.
	Reason string
	// Background reports a proactive refresh, which no caller waits for.
	Background bool
	// FromCache reports a cache hit.
	FromCache bool
	// Coalesced reports a caller that waited on another caller's request
	// instead of making its own.
	Coalesced bool
	// TokenType is the type of the token asked for (Bearer or mtls_pop).
	TokenType string
	// Region is the region whose endpoint issued a fetched token; "" for
	// the global endpoint and for cache hits.
	Region string
	// ErrorCode is the failure's code; "" for success.
	ErrorCode Code
	// Duration is the acquisition's time, from the call to the answer.
	Duration time.Duration
	// Remaining is the token's remaining lifetime on success.
	Remaining time.Duration
}

// Exchange describes one HTTP request of an acquisition, a retry being
// another one. Fields that depend on the outcome are set for EndExchange
// only.
type Exchange struct {
	Method string
	// URL is the request's scheme, host and path, without its query.
	URL string
	// Host is the URL's host (and port, if any).
	Host string
	// Attempt is 1 for the first request, 2 for its first retry, ...
	Attempt int
	// StatusCode is the answer's status; 0 when none came.
	StatusCode int
	// ErrorCode is the failure when no answer was taken (transport,
	// timeout, canceled, redirect_refused, invalid_response); "" when the
	// answer was received, whatever its status.
	ErrorCode Code
	// Duration is the time from sending the request to reading the answer.
	Duration time.Duration
}
