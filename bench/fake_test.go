package bench

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// tokenService answers token, OIDC discovery and instance discovery
// requests in-process, for both libraries alike: populating 100,000
// tenants over loopback TLS would take minutes and measure the network,
// not the cache. It counts token requests so benchmarks can prove hits.
type tokenService struct {
	tokenRequests atomic.Int64
	delay         time.Duration
}

func (s *tokenService) client() *http.Client { return &http.Client{Transport: s} }

func (s *tokenService) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	path := r.URL.Path
	host := "https://" + r.URL.Host
	tenant := strings.Split(strings.TrimPrefix(path, "/"), "/")[0]
	switch {
	case strings.HasSuffix(path, "/oauth2/v2.0/token"):
		s.tokenRequests.Add(1)
		if s.delay > 0 {
			time.Sleep(s.delay)
		}
		return jsonResponse(fmt.Sprintf(`{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"at-%s"}`, tenant)), nil
	case strings.HasSuffix(path, "/.well-known/openid-configuration"):
		return jsonResponse(fmt.Sprintf(`{"token_endpoint":"%[1]s/%[2]s/oauth2/v2.0/token","authorization_endpoint":"%[1]s/%[2]s/oauth2/v2.0/authorize","issuer":"%[1]s/%[2]s/v2.0"}`, host, tenant)), nil
	case strings.HasSuffix(path, "/discovery/instance"):
		return jsonResponse(`{"tenant_discovery_endpoint":"x","api-version":"1.1","metadata":[{"preferred_network":"login.microsoftonline.com","preferred_cache":"login.windows.net","aliases":["login.microsoftonline.com","login.windows.net","login.microsoft.com","sts.windows.net"]}]}`), nil
	}
	return &http.Response{StatusCode: 404, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}}, nil
}

func jsonResponse(body string) *http.Response {
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
	}
}

func tenantID(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000000", i) }
