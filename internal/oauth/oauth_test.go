package oauth

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/transport"
)

func response(status int, contentType, body string) *transport.Response {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return &transport.Response{StatusCode: status, Header: h, Body: []byte(body)}
}

func TestParseToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		resp     *transport.Response
		want     string // token type
		wantCode entra.Code
		check    func(t *testing.T, r TokenResponse)
	}{
		{name: "bearer", resp: response(200, "application/json; charset=utf-8",
			`{"token_type":"Bearer","expires_in":3599,"ext_expires_in":7199,"refresh_in":1800,"access_token":"at"}`),
			want: "Bearer", check: func(t *testing.T, r TokenResponse) {
				if r.AccessToken != "at" || r.ExpiresIn != 3599*time.Second || r.ExtExpiresIn != 7199*time.Second || r.RefreshIn != 1800*time.Second {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "numbers as strings", resp: response(200, "application/json", `{"token_type":"bearer","expires_in":"3600","access_token":"at"}`),
			want: "Bearer", check: func(t *testing.T, r TokenResponse) {
				if r.ExpiresIn != time.Hour || r.TokenType != "Bearer" {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "user flow fields", resp: response(200, "application/json",
			`{"token_type":"Bearer","expires_in":3600,"access_token":"at","refresh_token":"rt","id_token":"it","client_info":"ci","scope":"a b","foci":"1"}`),
			want: "Bearer", check: func(t *testing.T, r TokenResponse) {
				if r.RefreshToken != "rt" || r.IDToken != "it" || r.ClientInfo != "ci" || r.Scope != "a b" || r.FamilyID != "1" {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "pop requested, bearer issued", resp: response(200, "application/json", `{"token_type":"Bearer","expires_in":3600,"access_token":"at"}`),
			want: "mtls_pop", wantCode: entra.CodeTokenTypeMismatch},
		{name: "missing token type", resp: response(200, "application/json", `{"expires_in":3600,"access_token":"at"}`),
			want: "Bearer", wantCode: entra.CodeTokenTypeMissing},
		{name: "missing access token", resp: response(200, "application/json", `{"token_type":"Bearer","expires_in":3600}`),
			want: "Bearer", wantCode: entra.CodeInvalidResponse},
		{name: "missing expires_in", resp: response(200, "application/json", `{"token_type":"Bearer","access_token":"at"}`),
			want: "Bearer", wantCode: entra.CodeInvalidResponse},
		{name: "negative expires_in", resp: response(200, "application/json", `{"token_type":"Bearer","expires_in":-5,"access_token":"at"}`),
			want: "Bearer", wantCode: entra.CodeInvalidResponse},
		{name: "not JSON", resp: response(200, "text/html", `<html>proxy login</html>`),
			want: "Bearer", wantCode: entra.CodeInvalidResponse},
		{name: "malformed JSON", resp: response(200, "application/json", `{"token_type":`),
			want: "Bearer", wantCode: entra.CodeInvalidResponse},
		{name: "server error", resp: response(401, "application/json",
			`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x","error_codes":[7000215],"timestamp":"2026-11-23 12:00:00Z","trace_id":"tid","correlation_id":"cid"}`),
			want: "Bearer", wantCode: "invalid_client"},
		{name: "server error without OAuth body", resp: response(502, "text/html", `<html>bad gateway</html>`),
			want: "Bearer", wantCode: entra.CodeServerFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseToken(tt.resp, tt.want)
			if got := entra.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("code %q (%v), want %q", got, err, tt.wantCode)
			}
			if err == nil && tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestServerErrorFields(t *testing.T) {
	t.Parallel()
	resp := response(400, "application/json",
		`{"error":"invalid_grant","error_description":"AADSTS50076: MFA required.\r\nTrace ID: t","error_codes":[50076],"timestamp":"ts","trace_id":"tid","correlation_id":"cid","claims":"{\"access_token\":{\"capolids\":{\"essential\":true}}}"}`)
	err := ServerError(resp)
	if err.Code != "invalid_grant" || err.StatusCode != 400 || err.ErrorCodes[0] != 50076 ||
		err.CorrelationID != "cid" || err.TraceID != "tid" || err.Timestamp != "ts" || !strings.Contains(err.Claims, "capolids") {
		t.Fatalf("fields lost: %+v", err)
	}
	if err.Message != "AADSTS50076: MFA required." {
		t.Errorf("message %q", err.Message)
	}
	if strings.Contains(err.Error(), "capolids") {
		t.Errorf("Error() shows the claims challenge: %s", err)
	}
	var e *entra.Error
	if !errors.As(error(err), &e) {
		t.Fatal("not an *entra.Error")
	}
}

func TestTokenResponseStringHidesTokens(t *testing.T) {
	t.Parallel()
	r := TokenResponse{TokenType: "Bearer", AccessToken: "secret-at", RefreshToken: "secret-rt"}
	if s := r.String(); strings.Contains(s, "secret") {
		t.Fatalf("String() = %s", s)
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(200, `{"token_type":"Bearer","expires_in":3599,"access_token":"at"}`)
	f.Add(400, `{"error":"invalid_client","error_codes":[1]}`)
	f.Add(200, `{"expires_in":"1e3"}`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		r, err := ParseToken(response(status, "application/json", body), "Bearer")
		if err != nil {
			if entra.ErrorCode(err) == "" {
				t.Fatalf("error %v is not an *entra.Error", err)
			}
			return
		}
		if r.AccessToken == "" || r.ExpiresIn <= 0 {
			t.Fatalf("accepted a response without token or lifetime: %s", body)
		}
	})
}
