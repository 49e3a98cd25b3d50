package transport

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-go/entra"
)

// server answers with the given statuses in turn (then 200) and records
// what it received.
type server struct {
	*httptest.Server
	calls   atomic.Int32
	mu      sync.Mutex
	headers []http.Header
}

func newServer(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *server {
	s := &server{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.calls.Add(1))
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		statuses   []int  // answers before a 200
		retryAfter string // header on the failing answers
		wantCalls  int
		wantStatus int
		wantSleeps []time.Duration
	}{
		{name: "success", wantCalls: 1, wantStatus: 200},
		{name: "500 retried once", statuses: []int{500}, wantCalls: 2, wantStatus: 200, wantSleeps: []time.Duration{time.Second}},
		{name: "only one retry", statuses: []int{500, 502}, wantCalls: 2, wantStatus: 502, wantSleeps: []time.Duration{time.Second}},
		{name: "429 with Retry-After", statuses: []int{429}, retryAfter: "3", wantCalls: 2, wantStatus: 200, wantSleeps: []time.Duration{3 * time.Second}},
		{name: "503 with Retry-After", statuses: []int{503}, retryAfter: "7", wantCalls: 2, wantStatus: 200, wantSleeps: []time.Duration{7 * time.Second}},
		{name: "Retry-After beyond the bound", statuses: []int{503}, retryAfter: "3600", wantCalls: 1, wantStatus: 503},
		{name: "429 without Retry-After", statuses: []int{429}, wantCalls: 1, wantStatus: 429},
		{name: "400 not retried", statuses: []int{400}, wantCalls: 1, wantStatus: 400},
		{name: "401 not retried", statuses: []int{401}, wantCalls: 1, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n <= len(tt.statuses) {
					if tt.retryAfter != "" {
						w.Header().Set("Retry-After", tt.retryAfter)
					}
					w.WriteHeader(tt.statuses[n-1])
					return
				}
				w.Write([]byte(`{}`))
			})
			var sl sleeps
			c := &Client{HTTP: srv.Client(), Sleep: sl.sleep}
			resp, err := c.PostForm(context.Background(), srv.URL+"/t/oauth2/v2.0/token", url.Values{"a": {"b"}}, "cid", ServicePolicy)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := int(srv.calls.Load()); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
			if len(sl.d) != len(tt.wantSleeps) {
				t.Fatalf("slept %v, want %v", sl.d, tt.wantSleeps)
			}
			for i := range sl.d {
				if sl.d[i] != tt.wantSleeps[i] {
					t.Errorf("slept %v, want %v", sl.d, tt.wantSleeps)
				}
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			w.WriteHeader(400)
		}
	})
	c := &Client{HTTP: srv.Client()}
	resp, err := c.PostForm(context.Background(), srv.URL, url.Values{"grant_type": {"client_credentials"}}, "11111111-2222-3333-4444-555555555555", ServicePolicy)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	h := srv.headers[0]
	for name, want := range map[string]string{
		"Content-Type":             "application/x-www-form-urlencoded",
		"client-request-id":        "11111111-2222-3333-4444-555555555555",
		"return-client-request-id": "true",
		"x-client-SKU":             "entra.go",
		"x-client-Ver":             Version,
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestBodyCap(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 2048)))
	})
	c := &Client{HTTP: srv.Client(), MaxBodyBytes: 1024}
	_, err := c.PostForm(context.Background(), srv.URL, nil, "", ServicePolicy)
	if entra.ErrorCode(err) != entra.CodeInvalidResponse {
		t.Fatalf("got %v, want %s", err, entra.CodeInvalidResponse)
	}
	if srv.calls.Load() != 1 {
		t.Fatalf("an oversized answer was retried")
	}
}

func TestSlowServerPastDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := &Client{HTTP: srv.Client()}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.PostForm(ctx, srv.URL, nil, "", ServicePolicy)
	if entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want canceled wrapping DeadlineExceeded", err)
	}
	if n := srv.calls.Load(); n != 1 {
		t.Fatalf("a cancelled request was retried (%d calls)", n)
	}
}

func TestNetworkFailureRetriedOnce(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	addr := srv.URL
	client := srv.Client()
	srv.Close() // nothing listens any more
	var sl sleeps
	c := &Client{HTTP: client, Sleep: sl.sleep}
	_, err := c.Get(context.Background(), addr+"/x?claims=secret-claims", nil, "", ServicePolicy)
	if entra.ErrorCode(err) != entra.CodeTransport {
		t.Fatalf("got %v, want %s", err, entra.CodeTransport)
	}
	if len(sl.d) != 1 {
		t.Fatalf("slept %v, want one retry", sl.d)
	}
	if strings.Contains(err.Error(), "secret-claims") {
		t.Fatalf("error text leaks the query: %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"5", 5 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"Mon, 23 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Mon, 23 Nov 2026 11:00:00 GMT", 0, true},
		{"99999999999", 24 * time.Hour, true},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNewCorrelationID(t *testing.T) {
	t.Parallel()
	a, b := NewCorrelationID(), NewCorrelationID()
	if a == b || len(a) != 36 || a[14] != '4' {
		t.Fatalf("ids %q %q are not fresh v4 UUIDs", a, b)
	}
}
