package managedidentity_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/managedidentity"
)

// An IMDS endpoint that answers with a token already expired must not get
// that token handed out or cached, whatever form its expires_on takes.
func TestExpiredTokenIsRefused(t *testing.T) {
	t.Parallel()
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	unix := fmt.Sprint(past.Unix())
	tests := []struct {
		name   string
		expiry string // the JSON members after access_token
		value  string // the expiry as sent, which the error must not quote
	}{
		{"Unix seconds number", `"expires_on":` + unix, unix},
		{"Unix seconds string", `"expires_on":"` + unix + `"`, unix},
		{"RFC 3339", `"expires_on":"` + past.Format(time.RFC3339) + `"`, past.Format(time.RFC3339)},
		{"MM/dd/yyyy HH:mm:ss", `"expires_on":"` + past.Format("01/02/2006 15:04:05") + `"`, past.Format("01/02/2006 15:04:05")},
		// expires_on is authoritative: a lifetime beside it does not
		// revive a token the host says is over.
		{"past expires_on beside expires_in", `"expires_on":"` + unix + `","expires_in":"3600"`, unix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const secret = "mi.expired.SECRET-4c1d9e7a"
			body := `{"access_token":"` + secret + `","token_type":"Bearer",` + tt.expiry + `}`
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, body)
			}))
			defer srv.Close()
			env := map[string]string{"AZURE_POD_IDENTITY_AUTHORITY_HOST": srv.URL}
			c, err := managedidentity.New(managedidentity.Config{
				Getenv:       func(k string) string { return env[k] },
				ArcAgentPath: filepath.Join(t.TempDir(), "no-himds"),
				RetryPolicy:  noRetry,
			})
			if err != nil || c.Source() != managedidentity.SourceIMDS {
				t.Fatalf("New: %v (source %s)", err, c.Source())
			}

			for call := 1; call <= 2; call++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				start := time.Now()
				tok, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
				elapsed := time.Since(start)
				cancel()
				if e := wantCode(t, err, entra.CodeInvalidResponse); e.StatusCode != http.StatusOK {
					t.Errorf("status %d, want 200", e.StatusCode)
				}
				if tok.AccessToken != "" {
					t.Errorf("call %d handed out the expired token", call)
				}
				if elapsed > 2*time.Second {
					t.Errorf("call %d took %s to fail", call, elapsed)
				}
				t.Logf("call %d failed after %s", call, elapsed)
				for _, text := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
					if strings.Contains(text, secret) || strings.Contains(text, body) || strings.Contains(text, tt.value) {
						t.Errorf("error text %q reveals the response", text)
					}
				}
			}
			// Nothing was cached: the second call asked the endpoint again.
			if n := requests.Load(); n != 2 {
				t.Errorf("%d requests for 2 calls; the expired token was served from the cache", n)
			}
		})
	}
}
