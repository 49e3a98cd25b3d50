package managedidentity

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/tokencache"
	"github.com/entra-go/entra/internal/transport"
)

func TestParseExpiresOn(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"1795435200", want},
		{" 1795435200 ", want},
		{"1795435200.75", want},
		{"1.7954352e9", want},
		{"2026-11-23T12:00:00Z", want},
		{"2026-11-23T13:00:00+01:00", want},
		{"2026-11-23T12:00:00.5Z", want.Add(500 * time.Millisecond)},
		{"11/23/2026 12:00:00", want},
		{"11/23/2026 12:00:00 +00:00", want},
		{"11/23/2026 14:00:00 +02:00", want},
		{"1/2/2026 3:04:05", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"11/23/2026 12:00:00 PM +00:00", want},
		{"11/23/2026 01:30:00 PM", time.Date(2026, 11, 23, 13, 30, 0, 0, time.UTC)},
		{"11/23/2026 12:00:00 AM", time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)},
		// The 2017 App Service documentation's own example.
		{"09/14/2017 00:00:00 PM +00:00", time.Date(2017, 9, 14, 12, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseExpiresOn(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("parseExpiresOn(%q) = %v, %v; want %v UTC", tt.in, got, err, tt.want)
		}
	}
}

func TestParseExpiresOnInvalid(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", " ", "tomorrow", "0", "-1", "-1795435200", "0x6A", "1e400", "NaN", "Inf", "+1795435200",
		"1795435200s", "253402300800", "99999999999999999999", "13/01/2026 12:00:00", "11/23/2026",
		"11/23/2026 25:00:00", "2026-11-23", "2026-11-23 12:00:00", "11/23/2026 12:00:00 UTC",
		"1969-12-31T23:59:59Z", "12/31/1969 23:59:59",
	} {
		_, err := parseExpiresOn(in)
		var ee *expiryError
		if !errors.As(err, &ee) {
			t.Errorf("parseExpiresOn(%q) = %v, want an *expiryError", in, err)
			continue
		}
		if in != "" && strings.Contains(err.Error(), strings.TrimSpace(in)) && strings.TrimSpace(in) != "" {
			t.Errorf("parseExpiresOn(%q) error %q quotes the value", in, err)
		}
	}
}

func TestParseToken(t *testing.T) {
	t.Parallel()
	requested := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
	expires := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		body      string
		expires   time.Time
		refreshIn time.Duration
	}{
		{"IMDS strings", `{"access_token":"t","expires_in":"3600","expires_on":"1795435200","token_type":"Bearer"}`, expires, 0},
		{"Service Fabric number", `{"token_type":"Bearer","access_token":"t","expires_on":1795435200,"resource":"r"}`, expires, 0},
		{"App Service date", `{"access_token":"t","expires_on":"11/23/2026 12:00:00 +00:00","token_type":"Bearer"}`, expires, 0},
		{"expires_on wins", `{"access_token":"t","expires_in":60,"expires_on":"1795435200"}`, expires, 0},
		{"expires_in number", `{"access_token":"t","expires_in":3600}`, expires, 0},
		{"expires_in string", `{"access_token":"t","expires_in":"3600"}`, expires, 0},
		{"null expires_on falls back", `{"access_token":"t","expires_on":null,"expires_in":"3600"}`, expires, 0},
		{"blank expires_on falls back", `{"access_token":"t","expires_on":"","expires_in":"3600"}`, expires, 0},
		{"token_type default", `{"access_token":"t","expires_on":1795435200}`, expires, 0},
		{"token_type any case", `{"access_token":"t","expires_on":1795435200,"token_type":"bearer"}`, expires, 0},
		{"refresh_in number", `{"access_token":"t","expires_on":1795435200,"refresh_in":1800}`, expires, 30 * time.Minute},
		{"refresh_in string", `{"access_token":"t","expires_on":1795435200,"refresh_in":"1800"}`, expires, 30 * time.Minute},
		{"bad refresh_in ignored", `{"access_token":"t","expires_on":1795435200,"refresh_in":"soon"}`, expires, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := parseToken([]byte(tt.body), 200, requested)
			if err != nil {
				t.Fatal(err)
			}
			if tr.accessToken != "t" || tr.tokenType != "Bearer" || !tr.expiresOn.Equal(tt.expires) || tr.refreshIn != tt.refreshIn {
				t.Errorf("got %+v (refresh_in %s)", tr, tr.refreshIn)
			}
		})
	}
}

func TestParseTokenInvalid(t *testing.T) {
	t.Parallel()
	const secret = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.c2VjcmV0"
	tests := []struct {
		name string
		body string
		code entra.Code
	}{
		{"malformed", `{"access_token":"` + secret, entra.CodeInvalidResponse},
		{"not JSON", `<html>` + secret + `</html>`, entra.CodeInvalidResponse},
		{"no access_token", `{"expires_on":1795435200,"token_type":"Bearer"}`, entra.CodeInvalidResponse},
		{"access_token not a string", `{"access_token":42,"expires_on":1795435200}`, entra.CodeInvalidResponse},
		{"no expiry", `{"access_token":"` + secret + `"}`, entra.CodeInvalidResponse},
		{"bad expires_on", `{"access_token":"` + secret + `","expires_on":"soon"}`, entra.CodeInvalidResponse},
		{"expires_on object", `{"access_token":"` + secret + `","expires_on":{}}`, entra.CodeInvalidResponse},
		{"zero expires_in", `{"access_token":"` + secret + `","expires_in":"0"}`, entra.CodeInvalidResponse},
		{"negative expires_in", `{"access_token":"` + secret + `","expires_in":-5}`, entra.CodeInvalidResponse},
		{"pop token", `{"access_token":"` + secret + `","expires_on":1795435200,"token_type":"pop"}`, entra.CodeTokenTypeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseToken([]byte(tt.body), 200, time.Now())
			var e *entra.Error
			if !errors.As(err, &e) || e.Code != tt.code || e.StatusCode != 200 {
				t.Fatalf("err = %#v, want code %s with status 200", err, tt.code)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
	_, err := parseToken([]byte(`{"access_token":"t","expires_on":"soon"}`), 200, time.Now())
	var ee *expiryError
	if !errors.As(err, &ee) {
		t.Errorf("an unreadable expires_on gives %v, want an *expiryError cause", err)
	}
}

// A token is refused when it expires at or before the request, and
// accepted, however short its remaining life, when it expires after it
// (see parseToken for why a token inside the cache's buffer is accepted).
func TestParseTokenExpiryBoundary(t *testing.T) {
	t.Parallel()
	requested := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
	unix := func(d time.Duration) string { return strconv.FormatInt(requested.Add(d).Unix(), 10) }
	tests := []struct {
		name     string
		expiry   string
		accepted bool
	}{
		{"an hour before the request", `"expires_on":` + unix(-time.Hour), false},
		{"a second before the request", `"expires_on":"` + unix(-time.Second) + `"`, false},
		{"at the request", `"expires_on":` + unix(0), false},
		{"at the request, RFC 3339", `"expires_on":"2026-11-23T11:00:00Z"`, false},
		{"at the request, date form", `"expires_on":"11/23/2026 11:00:00"`, false},
		{"a second after the request", `"expires_on":` + unix(time.Second), true},
		{"inside the cache's expiry buffer", `"expires_on":` + unix(tokencache.ExpiryBuffer-time.Second), true},
		{"expires_in of one second", `"expires_in":1`, true},
		{"expires_in under a second", `"expires_in":"0.5"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const secret = "tok.SECRET.boundary"
			tr, err := parseToken([]byte(`{"access_token":"`+secret+`",`+tt.expiry+`}`), 200, requested)
			if tt.accepted {
				if err != nil || !tr.expiresOn.After(requested) {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *entra.Error
			if !errors.As(err, &e) || e.Code != entra.CodeInvalidResponse || e.StatusCode != 200 {
				t.Fatalf("err = %v, want code %s with status 200", err, entra.CodeInvalidResponse)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
}

func TestServerError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		body        string
		code        entra.Code
		message     string
		correlation string
	}{
		{"OAuth shape", 400, `{"error":"invalid_request","error_description":"Identity not found\r\nTrace: x"}`,
			"invalid_request", "Identity not found", ""},
		{"App Service shape", 500, `{"statusCode":500,"message":"Unable to load the proper Managed Identity.","correlationId":"c-1"}`,
			entra.CodeServerFailure, "Unable to load the proper Managed Identity.", "c-1"},
		{"Service Fabric shape", 401, `{"error":{"correlationId":"c-2","code":"SecretHeaderNotFound","message":"Secret is not found in the request headers."}}`,
			"SecretHeaderNotFound", "Secret is not found in the request headers.", "c-2"},
		{"correlation_id", 400, `{"error":"invalid_request","correlation_id":"c-3"}`,
			"invalid_request", "the IMDS endpoint answered 400 Bad Request", "c-3"},
		{"no JSON", 502, `Bad Gateway`, entra.CodeServerFailure, "the IMDS endpoint answered 502 Bad Gateway", ""},
		{"empty", 404, ``, entra.CodeServerFailure, "the IMDS endpoint answered 404 Not Found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := serverError(SourceIMDS, &transport.Response{StatusCode: tt.status, Header: http.Header{}, Body: []byte(tt.body)})
			if e.Code != tt.code || e.Message != tt.message || e.StatusCode != tt.status || e.CorrelationID != tt.correlation {
				t.Errorf("got %#v", e)
			}
		})
	}
	resp := &transport.Response{StatusCode: 400, Header: http.Header{}, Body: []byte(`{"statusCode":400,"message":"bad header s3cr3t-value"}`)}
	resp.Secrets.Add("s3cr3t-value")
	if e := serverError(SourceAppService, resp); strings.Contains(e.Error(), "s3cr3t") || strings.Contains(e.Description, "s3cr3t") {
		t.Errorf("the request's secret is not redacted: %v", e)
	}
}
