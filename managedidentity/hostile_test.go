package managedidentity_test

// Tests against managed identity endpoints that misbehave on purpose.
// Each asserts what the caller got, how long it took, and that no secret
// the request carried appears in any printed form of the error.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/managedidentity"
)

const identityHeader = "identity-header-SECRET-0123456789"

// hostileEndpoint is a managed identity endpoint whose answers a test writes.
type hostileEndpoint struct {
	*httptest.Server
	hits atomic.Int32
}

func newHostileEndpoint(t *testing.T, answer http.HandlerFunc) *hostileEndpoint {
	t.Helper()
	h := &hostileEndpoint{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hits.Add(1)
		answer(w, r)
	}))
	t.Cleanup(func() {
		h.CloseClientConnections() // ends stalled handlers, which Close waits for
		h.Close()
	})
	return h
}

// env is the environment of a host whose source is src at h.
func (h *hostileEndpoint) env(src managedidentity.Source) func(string) string {
	vars := map[string]string{}
	switch src {
	case managedidentity.SourceAppService:
		vars["IDENTITY_ENDPOINT"], vars["IDENTITY_HEADER"] = h.URL+"/msi/token", identityHeader
	default:
		vars["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = h.URL
	}
	return func(k string) string { return vars[k] }
}

func noRetry(entra.Attempt) (time.Duration, bool) { return 0, false }

// checkNoSecret fails if a secret appears in any printed form of err or
// in the client's log.
func checkNoSecret(t *testing.T, err error, logs *bytes.Buffer, secrets ...string) {
	t.Helper()
	var log bytes.Buffer
	slog.New(slog.NewJSONHandler(&log, nil)).Error("failed", "err", err)
	var e *entra.Error
	fields := ""
	if errors.As(err, &e) {
		fields = strings.Join([]string{string(e.Code), e.Message, e.Description, e.CorrelationID, e.TraceID, e.Claims}, "|")
	}
	for where, text := range map[string]string{"Error()": err.Error(), "%v": fmt.Sprintf("%v", err), "%+v": fmt.Sprintf("%+v", err),
		"%#v": fmt.Sprintf("%#v", err), "log": log.String(), "fields": fields, "client log": logs.String()} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows a secret (%.10s…): %s", where, s, text)
			}
		}
	}
}

func TestEchoedSecretsAreRedacted(t *testing.T) {
	t.Parallel()
	const clientClaims = `{"xms_az_nwperimid":{"essential":true,"values":["perimeter-SECRET-42"]}}`
	tests := []struct {
		name    string
		src     managedidentity.Source
		claims  string
		secrets []string
	}{
		{"App Service echoes its secret header", managedidentity.SourceAppService, "", []string{identityHeader}},
		{"IMDS echoes the client claims", managedidentity.SourceIMDS, clientClaims, []string{clientClaims, "perimeter-SECRET-42"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHostileEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
				echo := r.Header.Get("X-IDENTITY-HEADER") + " " + r.URL.Query().Get("claims") + " " + r.URL.RawQuery
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]any{"error": echo, "error_description": "you sent " + echo,
					"message": echo, "correlationId": echo, "correlation_id": echo})
			})
			var logs bytes.Buffer
			c, err := managedidentity.New(managedidentity.Config{Source: tt.src, Getenv: h.env(tt.src), RetryPolicy: noRetry,
				EnableClientClaims: true, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource, ClientClaims: tt.claims})
			if err == nil || time.Since(start) > 5*time.Second {
				t.Fatalf("got %v after %s", err, time.Since(start))
			}
			checkNoSecret(t, err, &logs, tt.secrets...)
		})
	}
}

func TestStalledEndpointIsBoundedByTheBudget(t *testing.T) {
	t.Parallel()
	h := newHostileEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	// The caller's HTTP client has no Timeout, and the caller no deadline.
	c, err := managedidentity.New(managedidentity.Config{Source: managedidentity.SourceIMDS, Getenv: h.env(managedidentity.SourceIMDS),
		HTTPClient: &http.Client{}, RequestTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
	took := time.Since(start)
	if entra.ErrorCode(err) != entra.CodeTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want %s", err, entra.CodeTimeout)
	}
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Fatalf("took %s, want the 300ms budget", took)
	}
}

func TestRetryAfterThatCannotFitIsAnsweredAtOnce(t *testing.T) {
	t.Parallel()
	h := newHostileEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "600")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"statusCode":429,"message":"Too many requests"}`))
	})
	src := managedidentity.SourceAppService
	c, err := managedidentity.New(managedidentity.Config{Source: src, Getenv: h.env(src)}) // 3 min budget: 10 min cannot fit
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
	var e *entra.Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusTooManyRequests || e.RetryAfter != 10*time.Minute {
		t.Fatalf("got %#v, want the 429 with RetryAfter 10m", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %s: the client waited for a retry that could not fit", took)
	}
	if n := h.hits.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}
