// Package transport sends requests to the token service: it adds the client
// identification and correlation headers, caps response sizes, maps network
// failures to *entra.Error, and applies the token service's retry policy.
//
// It knows nothing about grants, credentials or caching.
package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/budget"
	"github.com/entra-go/entra/internal/redact"
	"github.com/entra-go/entra/internal/uuid"
)

// Defaults for Client's zero fields.
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultRetryDelay    = time.Second
	DefaultMaxRetryAfter = time.Minute
	defaultTimeout       = 30 * time.Second
)

// Client sends token-service requests. The zero value is usable.
type Client struct {
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// MaxBodyBytes caps every response body; larger ones fail with
	// entra.CodeResponseTooLarge. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// RetryDelay is the pause before the single retry of a 5xx answer that
	// carries no Retry-After. Zero means DefaultRetryDelay.
	RetryDelay time.Duration
	// MaxRetryAfter bounds how long a Retry-After is honoured; a longer one
	// is not waited for and the answer is returned as is.
	MaxRetryAfter time.Duration
	// SingleAttempt turns the retry policy off (region detection must not
	// wait for a second try).
	SingleAttempt bool
	// Logger receives one debug line per attempt; nil disables logging.
	Logger *slog.Logger
	// Sleep waits between attempts; nil means a timer that stops when ctx ends.
	// Tests replace it to check the policy without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Response is a received answer with its whole (capped) body.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// URL is the URL the request was sent to.
	URL string
	// Secrets are the secret values the request carried; errors built from
	// the answer pass every text through Secrets.String.
	Secrets redact.Set
}

// RetryAfter is the answer's Retry-After, 0 when it has none.
func (r *Response) RetryAfter() time.Duration {
	d, _ := ParseRetryAfter(r.Header.Get("Retry-After"), time.Now())
	return d
}

// secretFields are the form fields and secretHeaders the headers whose
// values are secrets; a query's claims parameter is one too.
var (
	secretFields  = [...]string{"client_secret", "client_assertion", "assertion", "refresh_token", "code", "code_verifier", "claims"}
	secretHeaders = [...]string{"Authorization", "X-Identity-Header", "Secret"}
)

// secretsOf collects the secret values of a request and its form.
func secretsOf(req *http.Request, form url.Values) redact.Set {
	var s redact.Set
	for _, f := range secretFields {
		for _, v := range form[f] {
			s.Add(v)
		}
	}
	for _, h := range secretHeaders {
		for _, v := range req.Header.Values(h) {
			s.Add(v)
			if _, cred, ok := strings.Cut(v, " "); ok {
				s.Add(cred) // "Basic <secret>"
			}
		}
	}
	for _, v := range req.URL.Query()["claims"] {
		s.Add(v)
	}
	return s
}

// NewCorrelationID returns a random UUID for client-request-id.
func NewCorrelationID() string { return uuid.New() }

// PostForm posts form to endpoint under the token-service retry policy:
// one retry after a 5xx without Retry-After; a 429 or 5xx with a
// Retry-After is retried once after that delay if it is within
// MaxRetryAfter; a network failure is retried once; a cancelled or expired
// context is never retried. The last answer is returned whatever its status.
func (c *Client) PostForm(ctx context.Context, endpoint string, form url.Values, correlationID string) (*Response, error) {
	body := form.Encode()
	return c.do(ctx, form, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		c.identify(req, correlationID)
		return req, nil
	})
}

// Get sends a GET with the given extra headers under the same policy.
func (c *Client) Get(ctx context.Context, endpoint string, header http.Header, correlationID string) (*Response, error) {
	return c.do(ctx, nil, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		c.identify(req, correlationID)
		return req, nil
	})
}

// Identify sets the client identification headers (and the correlation
// headers when correlationID is not empty).
func (c *Client) Identify(req *http.Request, correlationID string) { c.identify(req, correlationID) }

func (c *Client) identify(req *http.Request, correlationID string) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("x-client-SKU", "entra.go")
	req.Header.Set("x-client-Ver", entra.Version)
	req.Header.Set("x-client-OS", runtime.GOOS)
	req.Header.Set("User-Agent", "entra-go/"+entra.Version)
	if correlationID != "" {
		req.Header.Set("client-request-id", correlationID)
		req.Header.Set("return-client-request-id", "true")
	}
}

func (c *Client) do(ctx context.Context, form url.Values, newRequest func() (*http.Request, error)) (*Response, error) {
	const maxAttempts = 2
	for attempt := 1; ; attempt++ {
		req, err := newRequest()
		if err != nil {
			return nil, entra.WrapError(entra.CodeInvalidRequest, err, "cannot build the request")
		}
		start := time.Now()
		resp, err := c.send(req, form)
		c.log(ctx, req, resp, err, attempt, time.Since(start))
		if attempt == maxAttempts || c.SingleAttempt {
			return resp, err
		}
		delay, retry := c.retryDelay(resp, err)
		if !retry || ctx.Err() != nil || !budget.Fits(ctx, delay) {
			// An answer the caller cannot wait for is returned now, with
			// the Retry-After it asked for, rather than slept into the deadline.
			return resp, err
		}
		if err := c.sleep(ctx, delay); err != nil {
			return nil, budget.Err(ctx)
		}
	}
}

// retryDelay applies the token service's retry policy to one answer.
func (c *Client) retryDelay(resp *Response, err error) (time.Duration, bool) {
	if err != nil {
		// Only network failures are retried: not cancellations, oversized bodies or bad URLs.
		return c.retryDelayOrDefault(), entra.ErrorCode(err) == entra.CodeTransport
	}
	if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if after, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return after, after <= c.maxRetryAfter()
	}
	return c.retryDelayOrDefault(), resp.StatusCode >= 500
}

// Send makes one attempt, without retries: for callers with their own
// retry policy (managed identity). It caps the body and maps failures to
// *entra.Error like PostForm.
func (c *Client) Send(req *http.Request) (*Response, error) { return c.send(req, nil) }

// send makes one attempt. It never follows a redirect, whatever the
// caller's *http.Client says: a request carries credentials, and they must
// not reach another host (or the same one over plain http).
func (c *Client) send(req *http.Request, form url.Values) (*Response, error) {
	hc := *c.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, budget.Err(req.Context())
		}
		return nil, entra.WrapError(entra.CodeTransport, redactURLError(err), "request to %s failed", hostOf(req.URL))
	}
	defer resp.Body.Close()
	if isRedirect(resp.StatusCode) {
		return nil, redirectError(req, resp)
	}
	limit := c.maxBody()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	// A caller that left while the answer was cut short gets its own reason.
	if req.Context().Err() != nil {
		return nil, budget.Err(req.Context())
	}
	if err != nil {
		return nil, entra.WrapError(entra.CodeTransport, err, "reading the answer from %s failed", hostOf(req.URL))
	}
	if int64(len(body)) > limit {
		return nil, entra.Errorf(entra.CodeResponseTooLarge, "the answer from %s is larger than %d bytes", hostOf(req.URL), limit)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body, URL: req.URL.String(),
		Secrets: secretsOf(req, form)}, nil
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// redirectError names the status and the host the answer pointed to (not
// the whole Location, whose query could carry anything).
func redirectError(req *http.Request, resp *http.Response) *entra.Error {
	target := "no location"
	if loc, err := req.URL.Parse(resp.Header.Get("Location")); err == nil && resp.Header.Get("Location") != "" {
		target = loc.Scheme + "://" + loc.Host
	}
	return &entra.Error{Code: entra.CodeRedirectRefused, StatusCode: resp.StatusCode,
		Message: fmt.Sprintf("%s redirected to %s; requests carrying credentials never follow a redirect",
			hostOf(req.URL), target)}
}

func (c *Client) log(ctx context.Context, req *http.Request, resp *Response, err error, attempt int, took time.Duration) {
	if c.Logger == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("host", req.URL.Host),
		slog.String("path", req.URL.Path),
		slog.Int("attempt", attempt),
		slog.Duration("took", took),
		slog.String("correlation_id", req.Header.Get("client-request-id")),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", string(entra.ErrorCode(err))))
	} else {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	}
	c.Logger.LogAttrs(ctx, slog.LevelDebug, "entra: http", attrs...)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits d, or until ctx ends (then it returns ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: defaultTimeout}
}

func (c *Client) maxBody() int64 {
	if c.MaxBodyBytes > 0 {
		return c.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

func (c *Client) retryDelayOrDefault() time.Duration {
	if c.RetryDelay > 0 {
		return c.RetryDelay
	}
	return DefaultRetryDelay
}

func (c *Client) maxRetryAfter() time.Duration {
	if c.MaxRetryAfter > 0 {
		return c.MaxRetryAfter
	}
	return DefaultMaxRetryAfter
}

// ParseRetryAfter reads a Retry-After value: delta-seconds (at most a day)
// or an HTTP date. ok is false for anything else.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// redactURLError drops the URL from a *url.Error: a URL may carry query
// parameters (claims, for managed identity) that must not reach error text.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func hostOf(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Host
}
