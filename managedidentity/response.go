package managedidentity

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/transport"
)

// tokenResponse is a successful answer of any source.
type tokenResponse struct {
	accessToken string
	tokenType   string
	expiresOn   time.Time
	// refreshIn is the server's refresh_in hint; 0 when absent.
	refreshIn time.Duration
}

// String never reveals the token.
func (r tokenResponse) String() string {
	return fmt.Sprintf("managedidentity.tokenResponse{type=%s expires=%s}", r.tokenType, r.expiresOn.Format(time.RFC3339))
}

// wireToken is the union of the sources' token responses. Lifetimes come
// as JSON numbers or as strings, depending on the source.
type wireToken struct {
	AccessToken string          `json:"access_token"`
	TokenType   string          `json:"token_type"`
	ExpiresOn   json.RawMessage `json:"expires_on"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
	RefreshIn   json.RawMessage `json:"refresh_in"`
}

// parseToken reads a 2xx body. expires_on wins over expires_in, which is
// counted from requested. Errors never contain the body.
//
// A token whose expiry is not after requested is refused: handed out, it
// would fail at the resource, and a host's own token cache would keep
// handing it back. A token that expires soon after requested, within the
// cache's five-minute expiry buffer, is accepted on purpose: it is still
// valid, the host's cache gives the same token again until it renews it,
// so refusing it would turn a usable token into an outage for those
// minutes. The cache never serves it (it is inside the buffer), so the
// next call asks the host again and gets the renewed token once there is
// one. Expired is judged at requested, the only time parseToken is given;
// a token that expires during the round trip itself is not caught here.
func parseToken(body []byte, status int, requested time.Time) (tokenResponse, error) {
	bad := func(msg string) (tokenResponse, error) {
		return tokenResponse{}, &entra.Error{Code: entra.CodeInvalidResponse, StatusCode: status, Message: msg}
	}
	var w wireToken
	if err := json.Unmarshal(body, &w); err != nil {
		return bad("the managed identity endpoint answered with malformed JSON")
	}
	if w.AccessToken == "" {
		return bad("the token response has no access_token")
	}
	tr := tokenResponse{accessToken: w.AccessToken, tokenType: entra.TokenTypeBearer}
	if w.TokenType != "" && !strings.EqualFold(w.TokenType, entra.TokenTypeBearer) {
		return tokenResponse{}, &entra.Error{Code: entra.CodeTokenTypeMismatch, StatusCode: status,
			Message: fmt.Sprintf("requested a Bearer token but the server issued %s", quoteKey(w.TokenType))}
	}
	on, onSet, err := scalar(w.ExpiresOn)
	if err != nil {
		return bad("the token response's expires_on is neither a number nor a string")
	}
	in, inSet, err := scalar(w.ExpiresIn)
	if err != nil {
		return bad("the token response's expires_in is neither a number nor a string")
	}
	switch {
	case onSet:
		if tr.expiresOn, err = parseExpiresOn(on); err != nil {
			return tokenResponse{}, &entra.Error{Code: entra.CodeInvalidResponse, StatusCode: status,
				Message: "the token response's expires_on cannot be read", Err: err}
		}
	case inSet:
		d, ok := parseSeconds(in)
		if !ok || d == 0 {
			return bad("the token response's expires_in is not a positive number of seconds")
		}
		tr.expiresOn = requested.Add(d)
	default:
		return bad("the token response has neither expires_on nor expires_in")
	}
	if !tr.expiresOn.After(requested) {
		return bad("the managed identity endpoint issued a token that has already expired")
	}
	if ri, set, err := scalar(w.RefreshIn); err == nil && set {
		// refresh_in is only a hint: an unreadable one is ignored.
		tr.refreshIn, _ = parseSeconds(ri)
	}
	return tr, nil
}

// scalar returns the text of a JSON number or string; set is false for
// absent, null and blank values.
func scalar(raw json.RawMessage) (text string, set bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, err
		}
		s = strings.TrimSpace(s)
		return s, s != "", nil
	case c == '-' || '0' <= c && c <= '9':
		return string(raw), true, nil
	}
	return "", false, fmt.Errorf("not a number or string")
}

// expiryError reports an expires_on value that is not a time this package
// reads. It is the cause (Unwrap) of the *entra.Error with code
// entra.CodeInvalidResponse that AcquireToken returns.
type expiryError struct {
	// Reason says what is wrong; it never quotes the value.
	Reason string
}

// Error returns "expires_on " and the reason.
func (e *expiryError) Error() string { return "expires_on " + e.Reason }

// The latest expiry accepted: the end of year 9999, as Unix seconds.
const maxUnix = 253402300799

// parseExpiresOn reads an expiry given as Unix seconds (integer or
// decimal), an RFC 3339 time, or "MM/dd/yyyy HH:mm:ss" in one of the
// month/day/year form. Errors are *expiryError.
func parseExpiresOn(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, &expiryError{Reason: "is empty"}
	}
	var t time.Time
	if numeric(s) {
		secs, ok := parseUnix(s)
		if !ok {
			return time.Time{}, &expiryError{Reason: "is not a valid number of Unix seconds"}
		}
		t = time.Unix(secs, 0)
	} else if rt, err := time.Parse(time.RFC3339, s); err == nil {
		t = rt
	} else {
		parsed := false
		// The date forms App Service, Machine Learning and older sources
		// send: month/day/year with a 24-hour or AM/PM clock, with or
		// without an offset. A time without an offset is UTC.
		for _, layout := range [...]string{
			"1/2/2006 15:04:05",
			"1/2/2006 15:04:05 -07:00",
			"1/2/2006 3:04:05 PM",
			"1/2/2006 3:04:05 PM -07:00",
		} {
			if dt, err := time.Parse(layout, s); err == nil {
				t, parsed = dt, true
				break
			}
		}
		if !parsed {
			return time.Time{}, &expiryError{Reason: "is neither Unix seconds, RFC 3339 nor M/d/yyyy H:mm:ss"}
		}
	}
	if u := t.Unix(); u <= 0 || u > maxUnix {
		return time.Time{}, &expiryError{Reason: "is out of range"}
	}
	return t.UTC(), nil
}

// numeric reports whether s looks like a decimal number (what strconv
// would also read as hex, "Inf" or "NaN" is refused here).
func numeric(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', c == '.', c == 'e', c == 'E', c == '+', c == '-':
		default:
			return false
		}
	}
	return true
}

// parseUnix reads whole Unix seconds; a fraction is dropped.
func parseUnix(s string) (int64, bool) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, v > 0 && v <= maxUnix
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 1 || f > maxUnix {
		return 0, false
	}
	return int64(f), true
}

// parseSeconds reads a non-negative duration in seconds (expires_in,
// refresh_in), capped at 100 years.
func parseSeconds(s string) (time.Duration, bool) {
	const maxSeconds = 100 * 365 * 24 * 3600
	if !numeric(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 {
		return 0, false
	}
	return time.Duration(min(f, maxSeconds)) * time.Second, true
}

// wireError is the union of the sources' error bodies:
//
//	{"error":"invalid_request","error_description":"..."}           IMDS, Arc, Cloud Shell
//	{"statusCode":400,"message":"...","correlationId":"..."}        App Service, Machine Learning
//	{"error":{"code":"...","message":"...","correlationId":"..."}}  Service Fabric
type wireError struct {
	Error         json.RawMessage `json:"error"`
	Description   string          `json:"error_description"`
	Message       string          `json:"message"`
	CorrelationID string          `json:"correlationId"`
	CorrelationX  string          `json:"correlation_id"`
}

type wireErrorObject struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlationId"`
}

// serverError turns a failed answer into an *entra.Error with the status
// and, when the body has one, the server's code and message. Every value
// the request carried as a secret (the host's secret header, an Arc
// challenge, client claims) is redacted from every field first, in case
// the server echoes it.
func serverError(src Source, resp *transport.Response) *entra.Error {
	scrub := resp.Secrets.String
	e := &entra.Error{Code: entra.CodeServerFailure, StatusCode: resp.StatusCode, RetryAfter: resp.RetryAfter()}
	var w wireError
	if json.Unmarshal(resp.Body, &w) == nil {
		var code string
		var obj wireErrorObject
		switch {
		case json.Unmarshal(w.Error, &code) == nil && code != "":
			e.Code, e.Description = entra.Code(limit(scrub(code), 128)), w.Description
		case json.Unmarshal(w.Error, &obj) == nil && (obj.Code != "" || obj.Message != ""):
			if obj.Code != "" {
				e.Code = entra.Code(limit(scrub(obj.Code), 128))
			}
			e.Description, e.CorrelationID = obj.Message, obj.CorrelationID
		default:
			e.Description = w.Message
		}
		if e.CorrelationID == "" {
			e.CorrelationID = w.CorrelationID
		}
		if e.CorrelationID == "" {
			e.CorrelationID = w.CorrelationX
		}
	}
	e.Description = scrub(e.Description)
	e.CorrelationID = limit(scrub(e.CorrelationID), 128)
	e.Message = firstLine(e.Description)
	if e.Message == "" {
		e.Message = fmt.Sprintf("the %s endpoint answered %d %s", src, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return resp.Secrets.Error(e)
}

// firstLine keeps a server message readable: one line, bounded.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return limit(strings.TrimSpace(s), 512)
}

func limit(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
