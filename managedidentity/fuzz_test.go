package managedidentity

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra"
)

// FuzzParseExpiresOn checks that any input either parses to a UTC time in
// range or fails with an *expiryError from the fixed set of reasons.
func FuzzParseExpiresOn(f *testing.F) {
	for _, s := range []string{
		"1795435200", "1795435200.5", "1.7954352e9", "2026-11-23T12:00:00Z", "2026-11-23T12:00:00+05:30",
		"11/23/2026 12:00:00", "11/23/2026 12:00:00 +00:00", "09/14/2017 00:00:00 PM +00:00",
		"1/2/2026 3:04:05 AM", "", "0", "-1", "1e999", "NaN", "0x10", "11/23/2026 24:00:00",
	} {
		f.Add(s)
	}
	reasons := map[string]bool{
		"is empty": true, "is not a valid number of Unix seconds": true, "is out of range": true,
		"is neither Unix seconds, RFC 3339 nor M/d/yyyy H:mm:ss": true,
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseExpiresOn(s)
		if err != nil {
			var ee *expiryError
			if !errors.As(err, &ee) || !reasons[ee.Reason] {
				t.Fatalf("parseExpiresOn(%q) error %#v is not a known *expiryError", s, err)
			}
			return
		}
		if got.Location() != time.UTC || got.Unix() <= 0 || got.Unix() > maxUnix {
			t.Fatalf("parseExpiresOn(%q) = %v: out of range or not UTC", s, got)
		}
		// The same text as a JSON number or string reads the same.
		if numeric(strings.TrimSpace(s)) {
			// Requested just before the expiry, so an old time still parses.
			tr, err := parseToken([]byte(`{"access_token":"t","expires_on":`+strings.TrimSpace(s)+`}`), 200, got.Add(-time.Second))
			if err == nil && !tr.expiresOn.Equal(got) {
				t.Fatalf("expires_on %s as a number = %v, as a string = %v", s, tr.expiresOn, got)
			}
		}
	})
}

// FuzzExpiresOnRoundTrip formats an instant in every form the sources use
// and checks that each reads back to it.
func FuzzExpiresOnRoundTrip(f *testing.F) {
	f.Add(int64(1795435200))
	f.Add(int64(1))
	f.Add(int64(maxUnix))
	f.Add(int64(1505952000 + 12*3600))
	f.Fuzz(func(t *testing.T, sec int64) {
		if sec < 1 || sec > maxUnix {
			return
		}
		want := time.Unix(sec, 0).UTC()
		zone := time.FixedZone("", 5*3600+30*60)
		forms := []string{
			strconv.FormatInt(sec, 10),
			want.Format(time.RFC3339),
			want.Format("01/02/2006 15:04:05"),
			want.Format("1/2/2006 15:04:05 -07:00"),
			want.Format("01/02/2006 03:04:05 PM"),
		}
		if want.In(zone).Year() <= 9999 { // else the local date has five year digits
			forms = append(forms,
				want.In(zone).Format(time.RFC3339),
				want.In(zone).Format("01/02/2006 15:04:05 -07:00"),
				want.In(zone).Format("1/2/2006 3:04:05 PM -07:00"))
		}
		for _, s := range forms {
			if got, err := parseExpiresOn(s); err != nil || !got.Equal(want) {
				t.Errorf("parseExpiresOn(%q) = %v, %v; want %v", s, got, err, want)
			}
		}
	})
}

// FuzzParseToken checks that any body either parses to a usable token or
// fails with an *entra.Error that does not reveal the access token.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"t","expires_in":"3600","expires_on":"1795435200","token_type":"Bearer"}`,
		`{"token_type":"Bearer","access_token":"t","expires_on":1795435200}`,
		`{"access_token":"t","expires_on":"11/23/2026 12:00:00 +00:00"}`,
		`{"access_token":"t","expires_in":3600,"refresh_in":"1800"}`,
		`{"access_token":"t"}`, `{"expires_on":1}`, `{`, `null`, `[]`, `""`,
		`{"access_token":"t","expires_on":{},"token_type":7}`,
	} {
		f.Add([]byte(s))
	}
	requested := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		tr, err := parseToken(body, 200, requested)
		checkParseResult(t, tr, err, requested)

		// The fuzzed bytes as every lifetime field beside a known token:
		// whatever the failure, the token stays out of the error.
		const marker = "tok.SECRET.7f3a9c"
		text, _ := json.Marshal(string(body))
		for _, tmpl := range []string{
			`{"access_token":"` + marker + `","expires_on":%s}`,
			`{"access_token":"` + marker + `","expires_in":%s}`,
			`{"access_token":"` + marker + `","token_type":%s,"expires_on":1795435200}`,
			`{"access_token":"` + marker + `","expires_on":%s,"refresh_in":%s}`,
		} {
			for _, v := range []string{string(text), string(body)} {
				b := strings.ReplaceAll(tmpl, "%s", v)
				tr, err := parseToken([]byte(b), 200, requested)
				checkParseResult(t, tr, err, requested)
				if err != nil && strings.Contains(err.Error(), marker) {
					t.Fatalf("error %q reveals the access token", err)
				}
				if err == nil && tr.accessToken != marker {
					t.Fatalf("access token %q, want the marker", tr.accessToken)
				}
			}
		}
	})
}

func checkParseResult(t *testing.T, tr tokenResponse, err error, requested time.Time) {
	t.Helper()
	if err != nil {
		var e *entra.Error
		if !errors.As(err, &e) || e.StatusCode != 200 ||
			(e.Code != entra.CodeInvalidResponse && e.Code != entra.CodeTokenTypeMismatch) {
			t.Fatalf("error %#v is not an invalid-response *entra.Error", err)
		}
		return
	}
	if tr.accessToken == "" || !tr.expiresOn.After(requested) || tr.tokenType != entra.TokenTypeBearer || tr.refreshIn < 0 {
		t.Fatalf("accepted an unusable token response %+v", tr)
	}
}
