package bench

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	// tokenSize, if set, pads client-credentials tokens to that length,
	// as real ones are (about 1,200 bytes or more).
	tokenSize int
}

func (s *tokenService) client() *http.Client { return &http.Client{Transport: s} }

func (s *tokenService) RoundTrip(r *http.Request) (*http.Response, error) {
	var form url.Values
	if r.Body != nil {
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		form, _ = url.ParseQuery(string(body))
	}
	path := r.URL.Path
	host := "https://" + r.URL.Host
	tenant := strings.Split(strings.TrimPrefix(path, "/"), "/")[0]
	switch {
	case strings.HasSuffix(path, "/metadata/identity/oauth2/token"): // IMDS
		s.tokenRequests.Add(1)
		return jsonResponse(fmt.Sprintf(`{"token_type":"Bearer","expires_in":"86399","expires_on":"%d","resource":"https://management.azure.com","access_token":"mi-at"}`,
			time.Now().Add(24*time.Hour).Unix())), nil
	case strings.HasSuffix(path, "/oauth2/v2.0/token") && form.Get("grant_type") == "authorization_code":
		s.tokenRequests.Add(1)
		return jsonResponse(userTokens(host, tenant, form.Get("code"), form.Get("client_id"))), nil
	case strings.HasSuffix(path, "/oauth2/v2.0/token"):
		s.tokenRequests.Add(1)
		if s.delay > 0 {
			time.Sleep(s.delay)
		}
		return jsonResponse(fmt.Sprintf(`{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"%s"}`, appToken(tenant, s.tokenSize))), nil
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

// appToken is the client-credentials token for tenant, padded to size.
func appToken(tenant string, size int) string {
	t := "at-" + tenant
	if len(t) < size {
		t += strings.Repeat("x", size-len(t))
	}
	return t
}

func tenantID(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000000", i) }

// userTokens answers an authorization code "code-<user>" for the user:
// an access token, a refresh token, an (unsigned) ID token and
// client_info, as the token service does.
func userTokens(host, tenant, code, clientID string) string {
	uid := strings.TrimPrefix(code, "code-")
	b64 := func(v any) string {
		j, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(j)
	}
	now := time.Now().Unix()
	idToken := b64(map[string]string{"alg": "none"}) + "." + b64(map[string]any{
		"aud": clientID, "iss": host + "/" + tenant + "/v2.0", "tid": tenant, "oid": uid, "sub": uid,
		"preferred_username": uid + "@contoso.example", "iat": now, "nbf": now, "exp": now + 3600,
	}) + "."
	answer, _ := json.Marshal(map[string]any{
		"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "scope": "User.Read openid profile offline_access",
		"access_token": "at-" + uid, "refresh_token": "rt-" + uid, "id_token": idToken,
		"client_info": b64(map[string]string{"uid": uid, "utid": tenant}),
	})
	return string(answer)
}
