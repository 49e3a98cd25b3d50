// Package transport is the library's one HTTP path: every request to the
// token service, to discovery, to IMDS and to the managed identity
// endpoints goes through Client. It adds the client identification and
// correlation headers, never follows a redirect, caps response sizes, maps
// network failures to *entra.Error, records which values a request carried
// as secrets, and runs the retry loop under a policy and the time budget.
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
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/budget"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/redact"
	"github.com/entra-go/entra/internal/uuid"
)

// Version is this module's version, sent to the token service as x-client-Ver.
const Version = "0.2.0"

// DefaultMaxBodyBytes caps answers when Client.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 1 << 20

// defaultTimeout bounds a request of a nil Client.HTTP.
const defaultTimeout = 30 * time.Second

// Client sends requests. The zero value is usable.
type Client struct {
	// HTTP sends the requests; nil means a client with a 30 s timeout. Its
	// CheckRedirect is ignored: no redirect is ever followed.
	HTTP *http.Client
	// MaxBodyBytes caps every response body; larger ones fail with
	// entra.CodeInvalidResponse. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives one debug line per attempt; nil disables logging.
	Logger *slog.Logger
	// Sleep waits between attempts; nil means a timer that stops when ctx
	// ends. Tests replace it to check a policy without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Observer, if not nil, is told of each request (see observe.go).
	Observer entra.Observer
}

// With is a copy of c sending over hc.
func (c *Client) With(hc *http.Client) *Client {
	cp := *c
	cp.HTTP = hc
	return &cp
}

// Response is a received answer with its whole (capped) body.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// URL is the URL the request was sent to.
	URL string
	// Secrets are the secret values the request carried; errors built from
	// the answer pass every text through them.
	Secrets redact.Set
}

// RetryAfter is the answer's Retry-After, 0 when it has none.
func (r *Response) RetryAfter() time.Duration {
	d, _ := ParseRetryAfter(r.Header.Get("Retry-After"), time.Now())
	return d
}

// OK reports a 2xx answer.
func (r *Response) OK() bool { return r.StatusCode >= 200 && r.StatusCode <= 299 }

// NewCorrelationID returns a random UUID for client-request-id.
func NewCorrelationID() string { return uuid.New() }

// PostForm posts form to endpoint under policy (see Retry).
func (c *Client) PostForm(ctx context.Context, endpoint string, form url.Values, correlationID string, policy entra.RetryPolicy) (*Response, error) {
	body := form.Encode()
	return c.Retry(ctx, policy, func(ctx context.Context) (*Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
		if err != nil {
			return nil, errs.Wrap(entra.CodeInvalidArgument, err, "cannot build the request to %s", hostOfURL(endpoint))
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		c.Identify(req, correlationID)
		return c.Send(req, form)
	})
}

// Get sends a GET with the given extra headers under policy (see Retry).
func (c *Client) Get(ctx context.Context, endpoint string, header http.Header, correlationID string, policy entra.RetryPolicy) (*Response, error) {
	return c.Retry(ctx, policy, func(ctx context.Context) (*Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		if err != nil {
			return nil, errs.Wrap(entra.CodeInvalidArgument, err, "cannot build the request to %s", hostOfURL(endpoint))
		}
		for k, v := range header {
			req.Header[k] = v
		}
		c.Identify(req, correlationID)
		return c.Send(req, nil)
	})
}

// Identify sets the client identification headers (and the correlation
// headers when correlationID is not empty).
func (c *Client) Identify(req *http.Request, correlationID string) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("x-client-SKU", "entra.go")
	req.Header.Set("x-client-Ver", Version)
	req.Header.Set("x-client-OS", runtime.GOOS)
	req.Header.Set("User-Agent", "entra-go/"+Version)
	if correlationID != "" {
		req.Header.Set("client-request-id", correlationID)
		req.Header.Set("return-client-request-id", "true")
	}
}

// Send makes one attempt; form is the request's form, if it has one, for
// the record of its secrets. It never follows a redirect, whatever the
// caller's *http.Client says: a request carries credentials, and they must
// not reach another host (or the same one over plain http).
func (c *Client) Send(req *http.Request, form url.Values) (*Response, error) {
	if c.Observer != nil {
		return c.observedSend(req, form)
	}
	return c.send(req, form)
}

func (c *Client) send(req *http.Request, form url.Values) (*Response, error) {
	hc := *c.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return nil, budget.Err(req.Context())
		}
		return nil, errs.Wrap(entra.CodeTransport, redactURLError(err), "request to %s failed", req.URL.Host)
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
		return nil, errs.Wrap(entra.CodeTransport, err, "reading the answer from %s failed", req.URL.Host)
	}
	if int64(len(body)) > limit {
		return nil, errs.New(entra.CodeInvalidResponse, "the answer from %s is larger than %d bytes", req.URL.Host, limit)
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
	if raw := resp.Header.Get("Location"); raw != "" {
		if loc, err := req.URL.Parse(raw); err == nil {
			target = loc.Scheme + "://" + loc.Host
		}
	}
	return &entra.Error{Code: entra.CodeRedirectRefused, StatusCode: resp.StatusCode,
		Message: fmt.Sprintf("%s redirected to %s; requests carrying credentials never follow a redirect", req.URL.Host, target)}
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

// redactURLError drops the URL from a *url.Error: a URL may carry query
// parameters (claims, for managed identity) that must not reach error text.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func hostOfURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}
