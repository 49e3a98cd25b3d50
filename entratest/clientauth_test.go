package entratest

import (
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestAssertionReuse: like Entra ID, the emulator accepts the same client
// assertion again until it expires (clients reuse one for minutes), and
// still refuses an expired one, one for another audience, or one whose
// signature does not verify.
func TestAssertionReuse(t *testing.T) {
	t.Parallel()
	issued := time.Now().Truncate(time.Second)
	var clock atomic.Int64 // Unix ns; handlers read it concurrently
	clock.Store(issued.UnixNano())
	e := start(t, Options{Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	dc := e.DefaultClient()
	key, cert := defaultKey(t, e)
	signed := assertion(t, key, cert, "PS256", dc.ID, tokenURL, issued, 10*time.Minute, "reused")
	elsewhere := assertion(t, key, cert, "PS256", dc.ID, "https://login.microsoftonline.com/other/oauth2/v2.0/token", issued, 10*time.Minute, "aud")
	tampered := signed[:len(signed)-4] + flip(signed[len(signed)-4:])

	tests := []struct {
		name      string
		at        time.Duration // after issued
		assertion string
		status    int
		why       string // in error_description
	}{
		{"first use", 0, signed, 200, ""},
		{"again at once", 0, signed, 200, ""},
		{"again after five minutes", 5 * time.Minute, signed, 200, ""},
		{"again a second before exp", 10*time.Minute - time.Second, signed, 200, ""},
		{"again at exp", 10 * time.Minute, signed, 401, "expired"},
		{"another audience", 0, elsewhere, 401, "audience"},
		{"bad signature", 0, tampered, 401, "signature"},
	}
	for _, tt := range tests {
		clock.Store(issued.Add(tt.at).UnixNano())
		a := post(t, e, tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID},
			"scope": {"https://graph.microsoft.com/.default"}, "client_assertion_type": {assertionTypeJWTBearer}, "client_assertion": {tt.assertion}})
		desc, _ := a.body["error_description"].(string)
		if a.status != tt.status || !strings.Contains(desc, tt.why) {
			t.Errorf("%s: status %d %q, want %d mentioning %q", tt.name, a.status, desc, tt.status, tt.why)
		}
	}
}

// flip changes every base64url character of s into another one.
func flip(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}
