package httpauth_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/entra-go/entra/httpauth"
)

const cae = `{"access_token":{"nbf":{"essential":true,"value":"1732960000"}}}`

func TestChallengeParsing(t *testing.T) {
	t.Parallel()
	enc := base64.StdEncoding.EncodeToString([]byte(cae))
	for _, tt := range []struct {
		header string
		want   string
	}{
		{`Bearer realm="", error="insufficient_claims", claims="` + enc + `"`, cae},
		{`Bearer error="insufficient_claims", claims="` + strings.TrimRight(enc, "=") + `"`, cae},
		{`PoP realm="", claims="` + base64.RawURLEncoding.EncodeToString([]byte(cae)) + `", error="insufficient_claims"`, cae},
		{`Bearer error="invalid_token"`, ""},
		{`Bearer error="insufficient_claims", claims="not base64!"`, ""},
	} {
		resp := &http.Response{StatusCode: 401, Header: http.Header{"Www-Authenticate": {tt.header}}}
		if got, ok := httpauth.Challenge(resp); got != tt.want || ok != (tt.want != "") {
			t.Errorf("Challenge(%s) = %q, %t", tt.header, got, ok)
		}
	}
}

// FuzzChallenge: any header parses without panic, and what Challenge
// returns is JSON-looking claims only when it reports a challenge.
func FuzzChallenge(f *testing.F) {
	enc := base64.StdEncoding.EncodeToString([]byte(cae))
	for _, seed := range []string{
		`Bearer realm="", error="insufficient_claims", claims="` + enc + `"`,
		`PoP claims="\"", error=insufficient_claims`,
		`Bearer error="insufficient_claims", claims="e30"`,
		`Bearer ,,,=`, `"`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		resp := &http.Response{StatusCode: 401, Header: http.Header{"Www-Authenticate": {header}}}
		claims, ok := httpauth.Challenge(resp)
		if ok != (claims != "") || (ok && !strings.HasPrefix(strings.TrimSpace(claims), "{")) {
			t.Fatalf("Challenge(%q) = %q, %t", header, claims, ok)
		}
	})
}
