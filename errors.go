package entra

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Code is a stable, machine-readable error code. Client-side failures use
// the constants below; failures reported by a server carry the server's own
// OAuth "error" value (for example "invalid_client" or "invalid_grant").
type Code string

// Client-side error codes. They are part of the API and never change meaning.
const (
	// CodeInvalidArgument: the call's own arguments or configuration are
	// unusable (no scopes, an empty assertion, ...). Found before any
	// request: the token service's own "invalid_request" is another code.
	CodeInvalidArgument Code = "invalid_argument"
	// CodeInvalidCredentialMaterial: a secret, certificate, key or assertion cannot be used.
	CodeInvalidCredentialMaterial Code = "invalid_credential_material"
	// CodeInvalidAuthority: the authority URL is malformed, insecure or unknown.
	CodeInvalidAuthority Code = "invalid_authority"
	// CodeTokenTypeMismatch: the server issued another token type than the one requested.
	CodeTokenTypeMismatch Code = "token_type_mismatch"
	// CodeTokenTypeMissing: the server's token response named no token type.
	CodeTokenTypeMissing Code = "token_type_missing"
	// CodeInvalidResponse: the server's answer could not be understood, or
	// was larger than the library accepts.
	CodeInvalidResponse Code = "invalid_response"
	// CodeTransport: the request did not reach the server or its answer was lost.
	CodeTransport Code = "transport_error"
	// CodeCanceled: the caller's context ended first (it cancelled, or its
	// deadline passed). errors.Is matches the context error.
	CodeCanceled Code = "canceled"
	// CodeTimeout: the library's own time budget for the acquisition ran
	// out (Config.RequestTimeout) before an answer came. errors.Is matches
	// context.DeadlineExceeded.
	CodeTimeout Code = "timeout"
	// CodeRedirectRefused: a server answered with a redirect. Requests carry
	// credentials, so they never follow one; nothing was sent to the target.
	CodeRedirectRefused Code = "redirect_refused"
	// CodeInvalidIDToken: an ID token is not for this application, not from
	// the authority, or expired.
	CodeInvalidIDToken Code = "invalid_id_token"
	// CodeInvalidJSONClaims: a claims request is not a JSON object.
	CodeInvalidJSONClaims Code = "invalid_json_claims_format"
	// CodeExperimentalFeature: the caller used a preview feature without opting in.
	CodeExperimentalFeature Code = "experimental_feature"
	// CodeServerFailure: a server failed without an OAuth error body (the
	// token service's own "server_error" is another code).
	CodeServerFailure Code = "server_failure"
	// CodeMTLSNotSupportedForEnvironment: the authority's host has no mTLS
	// endpoint, or a managed identity source other than IMDS was asked for
	// an mTLS proof-of-possession token.
	CodeMTLSNotSupportedForEnvironment Code = "mtls_pop_not_supported_for_environment"
	// CodeMTLSPoPNotSupportedInIMDSv1: the host's IMDS has version 1 only
	// (its platform metadata endpoint answered 404), so it issues no
	// certificates and no mTLS proof-of-possession tokens; Bearer tokens
	// still work.
	CodeMTLSPoPNotSupportedInIMDSv1 Code = "mtls_pop_token_not_supported_in_imds_v1"
	// CodeMTLSCertificateNotProvided: mTLS was requested without a certificate to present.
	CodeMTLSCertificateNotProvided Code = "mtls_certificate_not_provided"
	// CodeMissingTenantedAuthority: the request needs a tenant, not common or organizations.
	CodeMissingTenantedAuthority Code = "missing_tenanted_authority"
	// CodeInvalidCacheData: a serialized cache (a cache file, a shared
	// store's entry) is not a valid cross-MSAL cache document. Nothing is
	// written over it.
	CodeInvalidCacheData Code = "invalid_cache_data"
	// CodeCacheStorage: reading or writing a cache's storage failed.
	CodeCacheStorage Code = "cache_storage_error"
	// CodeInteractionRequired: no token can be had silently; the user must
	// sign in (again), e.g. through the authorization code flow.
	CodeInteractionRequired Code = "interaction_required"
	// CodeStateMismatch: the state returned to a redirect URI is not the one
	// the authorization request was sent with.
	CodeStateMismatch Code = "state_mismatch"
)

// Error is the error every function of this module returns.
//
// Its message never contains a secret, assertion, token or claims text:
// such values are neither stored in it nor formatted by it.
type Error struct {
	// Code is the stable code: a client-side constant or the server's "error".
	Code Code
	// Message is a human-readable explanation.
	Message string

	// StatusCode is the HTTP status of the server's answer; 0 for client-side errors.
	StatusCode int
	// Description is the server's error_description.
	Description string
	// ErrorCodes are the server's numeric error_codes (AADSTS numbers).
	ErrorCodes []int
	// CorrelationID, TraceID and Timestamp identify the failed request for support.
	CorrelationID string
	TraceID       string
	Timestamp     string
	// Claims is the server's claims challenge. Pass it back as the claims of
	// the next request; it is never printed by Error().
	Claims string
	// RetryAfter is how long the server asked the client to wait before
	// trying again (its Retry-After header); 0 when it did not say.
	RetryAfter time.Duration

	// Err is the underlying cause, if any.
	Err error
}

// Error returns "code: message" (and, for server errors, the HTTP status and
// correlation id). It is what the CLI prints after "entra: ".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	msg := e.Message
	if msg == "" {
		msg = e.Description
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.StatusCode)
		if e.CorrelationID != "" {
			b.WriteString(", correlation id ")
			b.WriteString(e.CorrelationID)
		}
		b.WriteString(")")
	}
	if e.Err != nil && e.StatusCode == 0 {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// GoString is what %#v prints: the fields Error() shows, never the claims
// challenge.
func (e *Error) GoString() string {
	return fmt.Sprintf("&entra.Error{Code:%q, StatusCode:%d, Message:%q, CorrelationID:%q, RetryAfter:%s}",
		e.Code, e.StatusCode, e.Message, e.CorrelationID, e.RetryAfter)
}

// LogValue keeps log/slog handlers from marshalling the fields, among them
// the claims challenge: a logged error shows what Error() shows.
func (e *Error) LogValue() slog.Value { return slog.StringValue(e.Error()) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the Code of the first *Error in err's chain, or "" if none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
