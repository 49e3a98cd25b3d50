// Package oauth reads the token service's answers: token responses and
// OAuth error bodies. It is the one place that knows their JSON shapes.
package oauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/transport"
)

// TokenResponse is a successful token response.
type TokenResponse struct {
	TokenType    string
	AccessToken  string
	RefreshToken string
	IDToken      string
	ClientInfo   string
	Scope        string
	FamilyID     string
	ExpiresIn    time.Duration
	ExtExpiresIn time.Duration
	RefreshIn    time.Duration // zero when the server gave no hint
}

// String never reveals tokens.
func (r TokenResponse) String() string {
	return fmt.Sprintf("oauth.TokenResponse{type=%s expires_in=%s}", r.TokenType, r.ExpiresIn)
}

// wireToken accepts numbers sent as JSON numbers or strings, as some
// services (and older ESTS versions) do.
type wireToken struct {
	TokenType    string     `json:"token_type"`
	AccessToken  string     `json:"access_token"`
	RefreshToken string     `json:"refresh_token"`
	IDToken      string     `json:"id_token"`
	ClientInfo   string     `json:"client_info"`
	Scope        string     `json:"scope"`
	FamilyID     string     `json:"foci"`
	ExpiresIn    flexNumber `json:"expires_in"`
	ExtExpiresIn flexNumber `json:"ext_expires_in"`
	RefreshIn    flexNumber `json:"refresh_in"`
}

type wireError struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	Claims        string `json:"claims"`
}

// flexNumber is a non-negative integer sent as a JSON number or string.
type flexNumber struct {
	v   int64
	set bool
}

func (n *flexNumber) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "" || s == "null" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f < 0 || f > 1e12 {
			return fmt.Errorf("not a number of seconds")
		}
		v = int64(f)
	}
	if v < 0 {
		return fmt.Errorf("negative number of seconds")
	}
	n.v, n.set = v, true
	return nil
}

// ParseToken reads a token-endpoint answer. A non-2xx status becomes the
// server's *entra.Error; a 2xx body must be a JSON token response with an
// access token, a lifetime and a token type equal (ignoring case) to
// wantType.
func ParseToken(resp *transport.Response, wantType string) (TokenResponse, error) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return TokenResponse{}, ServerError(resp)
	}
	if !isJSON(resp.Header) {
		return TokenResponse{}, &entra.Error{Code: entra.CodeInvalidResponse, StatusCode: resp.StatusCode,
			Message: "the token endpoint answered with a body that is not JSON"}
	}
	var w wireToken
	if err := json.Unmarshal(resp.Body, &w); err != nil {
		return TokenResponse{}, &entra.Error{Code: entra.CodeInvalidResponse, StatusCode: resp.StatusCode,
			Message: "the token endpoint answered with malformed JSON"}
	}
	switch {
	case w.AccessToken == "":
		return TokenResponse{}, &entra.Error{Code: entra.CodeInvalidResponse, StatusCode: resp.StatusCode,
			Message: "the token response has no access_token"}
	case !w.ExpiresIn.set || w.ExpiresIn.v == 0:
		return TokenResponse{}, &entra.Error{Code: entra.CodeInvalidResponse, StatusCode: resp.StatusCode,
			Message: "the token response has no expires_in"}
	case w.TokenType == "":
		return TokenResponse{}, &entra.Error{Code: entra.CodeTokenTypeMissing, StatusCode: resp.StatusCode,
			Message: "the token response has no token_type"}
	case !strings.EqualFold(w.TokenType, wantType):
		return TokenResponse{}, &entra.Error{Code: entra.CodeTokenTypeMismatch, StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("requested a %s token but the server issued %s", wantType, TokenTypeName(w.TokenType))}
	}
	return TokenResponse{
		TokenType:    wantType,
		AccessToken:  w.AccessToken,
		RefreshToken: w.RefreshToken,
		IDToken:      w.IDToken,
		ClientInfo:   w.ClientInfo,
		Scope:        w.Scope,
		FamilyID:     w.FamilyID,
		ExpiresIn:    seconds(w.ExpiresIn.v),
		ExtExpiresIn: seconds(w.ExtExpiresIn.v),
		RefreshIn:    seconds(w.RefreshIn.v),
	}, nil
}

// ServerError turns a failed answer into an *entra.Error carrying the
// server's OAuth error fields when the body has them. Every value the
// request carried as a secret is redacted from every field first, in case
// the server echoes it.
func ServerError(resp *transport.Response) *entra.Error {
	scrub := resp.Secrets.String
	e := &entra.Error{Code: entra.CodeServerFailure, StatusCode: resp.StatusCode, RetryAfter: resp.RetryAfter(),
		CorrelationID: truncate(scrub(resp.Header.Get("client-request-id")), 128)}
	var w wireError
	// An error body is read whatever its declared type: only its fields are kept.
	if json.Unmarshal(resp.Body, &w) == nil && w.Error != "" {
		e.Code = entra.Code(truncate(scrub(w.Error), 128))
		e.Description = scrub(w.Description)
		e.ErrorCodes = w.ErrorCodes
		e.Timestamp = truncate(scrub(w.Timestamp), 64)
		e.TraceID = truncate(scrub(w.TraceID), 128)
		e.Claims = scrub(w.Claims)
		if w.CorrelationID != "" {
			e.CorrelationID = truncate(scrub(w.CorrelationID), 128)
		}
		e.Message = firstLine(e.Description)
		return resp.Secrets.Error(e)
	}
	e.Message = fmt.Sprintf("the server answered %d %s without an OAuth error", resp.StatusCode, http.StatusText(resp.StatusCode))
	return resp.Secrets.Error(e)
}

// TokenTypeName names a token type a server sent, for messages: known
// types by name, anything else not at all (it could be an echoed secret).
func TokenTypeName(t string) string {
	for _, known := range []string{entra.TokenTypeBearer, entra.TokenTypeMTLSPoP, "pop", "ssh-cert", "DPoP", "N_A"} {
		if strings.EqualFold(t, known) {
			return strconv.Quote(known)
		}
	}
	return "a token type it does not know"
}

func isJSON(h http.Header) bool {
	ct := h.Get("Content-Type")
	if ct == "" {
		return true // be lenient: some endpoints omit it; the JSON parser still decides
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func seconds(v int64) time.Duration {
	const max = int64(100 * 365 * 24 * time.Hour / time.Second)
	if v > max {
		v = max
	}
	return time.Duration(v) * time.Second
}

// firstLine keeps an ESTS description readable: the first line holds the
// message, later lines repeat trace and correlation ids held elsewhere.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return truncate(strings.TrimSpace(s), 512)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
