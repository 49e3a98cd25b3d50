package transport

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/entra-go/entra"
)

// attemptKey carries the attempt number from Retry to Send, for the
// observer.
type attemptKey struct{}

// withAttempt marks ctx with the attempt number when there is an
// observer to tell.
func (c *Client) withAttempt(ctx context.Context, n int) context.Context {
	if c.Observer == nil {
		return ctx
	}
	return context.WithValue(ctx, attemptKey{}, n)
}

// observedSend is send, told to the observer. The observer sets its
// headers in a header of its own, so it never sees the request's, which
// carry secrets.
func (c *Client) observedSend(req *http.Request, form url.Values) (*Response, error) {
	e := entra.Exchange{Method: req.Method, URL: withoutQuery(req.URL), Host: req.URL.Host, Attempt: 1}
	if n, ok := req.Context().Value(attemptKey{}).(int); ok {
		e.Attempt = n
	}
	extra := http.Header{}
	ctx := c.Observer.StartExchange(req.Context(), e, extra)
	req = req.WithContext(ctx)
	for k, vs := range extra {
		if req.Header.Get(k) == "" { // never replaces the library's own headers
			req.Header[k] = vs
		}
	}
	start := time.Now()
	resp, err := c.send(req, form)
	e.Duration = time.Since(start)
	switch {
	case resp != nil:
		e.StatusCode = resp.StatusCode
	case err != nil:
		e.ErrorCode = entra.ErrorCode(err)
		var ee *entra.Error
		if errors.As(err, &ee) {
			e.StatusCode = ee.StatusCode // a refused redirect's status
		}
	}
	c.Observer.EndExchange(ctx, e)
	return resp, err
}

func withoutQuery(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
