package managedidentity_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

func TestRequestShape(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	type secretOf func(*entratest.Emulator) string
	identityHeader := func(e *entratest.Emulator) string { return e.ManagedIdentityEnv("app_service")["IDENTITY_HEADER"] }
	msiSecret := func(e *entratest.Emulator) string { return e.ManagedIdentityEnv("machine_learning")["MSI_SECRET"] }
	const resID = "/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u"
	tests := []struct {
		src          string
		id           managedidentity.ID
		method       string
		apiVersion   string
		secretHeader string
		secret       secretOf
		metadata     bool
		param, value string
	}{
		{src: "imds", method: "GET", apiVersion: "2018-02-01", metadata: true},
		{src: "imds", id: managedidentity.UserAssignedClientID("cid"), method: "GET", apiVersion: "2018-02-01", metadata: true, param: "client_id", value: "cid"},
		{src: "imds", id: managedidentity.UserAssignedResourceID(resID), method: "GET", apiVersion: "2018-02-01", metadata: true, param: "msi_res_id", value: resID},
		{src: "imds", id: managedidentity.UserAssignedObjectID("oid"), method: "GET", apiVersion: "2018-02-01", metadata: true, param: "object_id", value: "oid"},
		{src: "app_service", method: "GET", apiVersion: "2019-08-01", secretHeader: "X-IDENTITY-HEADER", secret: identityHeader},
		{src: "app_service", id: managedidentity.UserAssignedClientID("cid"), method: "GET", apiVersion: "2019-08-01", secretHeader: "X-IDENTITY-HEADER", secret: identityHeader, param: "client_id", value: "cid"},
		{src: "app_service", id: managedidentity.UserAssignedResourceID(resID), method: "GET", apiVersion: "2019-08-01", secretHeader: "X-IDENTITY-HEADER", secret: identityHeader, param: "mi_res_id", value: resID},
		{src: "app_service", id: managedidentity.UserAssignedObjectID("oid"), method: "GET", apiVersion: "2019-08-01", secretHeader: "X-IDENTITY-HEADER", secret: identityHeader, param: "object_id", value: "oid"},
		{src: "azure_arc", method: "GET", apiVersion: "2020-06-01", metadata: true},
		{src: "cloud_shell", method: "POST", metadata: true},
		{src: "service_fabric", method: "GET", apiVersion: "2020-05-01", secretHeader: "secret", secret: identityHeader},
		{src: "service_fabric", id: managedidentity.UserAssignedObjectID("oid"), method: "GET", apiVersion: "2020-05-01", secretHeader: "secret", secret: identityHeader, param: "principalId", value: "oid"},
		{src: "machine_learning", method: "GET", apiVersion: "2017-09-01", secretHeader: "secret", secret: msiSecret, param: "clientid", value: emu.DefaultIdentityClientID()},
		{src: "machine_learning", id: managedidentity.UserAssignedClientID("cid"), method: "GET", apiVersion: "2017-09-01", secretHeader: "secret", secret: msiSecret, param: "clientid", value: "cid"},
	}
	for _, tt := range tests {
		t.Run(string(tt.src)+" "+tt.id.String(), func(t *testing.T) {
			emu.ResetRequests()
			c, _ := newClient(t, emu, tt.src, func(cfg *managedidentity.Config) { cfg.ID = tt.id })
			start := time.Now()
			tok, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource + "/.default"})
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != entra.TokenTypeBearer || tok.FromCache ||
				tok.TokenEndpoint != emu.ManagedIdentityURL(tt.src) || !slices.Equal(tok.Scopes, []string{resource}) {
				t.Errorf("token %v: endpoint %q scopes %q", tok, tok.TokenEndpoint, tok.Scopes)
			}
			// Every source's expiry form (numbers, strings, dates) reads back.
			if d := tok.ExpiresOn.Sub(start); d < 24*time.Hour-time.Minute || d > 24*time.Hour+time.Minute {
				t.Errorf("token expires in %s, want 24 h", d)
			}
			claims, err := emu.VerifyAccessToken(tok.AccessToken)
			if err != nil || claims["aud"] != resource || !namesIdentity(emu, claims, tt.param, tt.value) {
				t.Errorf("issued token %v (%v), want one for %q of the identity %s=%q", claims, err, resource, tt.param, tt.value)
			}

			reqs := emu.Requests(tt.src)
			wantRequests := 1
			if tt.src == "azure_arc" {
				wantRequests = 2 // the challenge, then the answer
				if reqs[0].Header.Get("Authorization") != "" {
					t.Errorf("first Arc request has an Authorization header")
				}
				if a := reqs[1].Header.Get("Authorization"); !strings.HasPrefix(a, "Basic ") || len(a) <= len("Basic ") {
					t.Errorf("second Arc request's Authorization %q is not Basic <secret>", a)
				}
			}
			if len(reqs) != wantRequests {
				t.Fatalf("%d requests, want %d", len(reqs), wantRequests)
			}
			for _, r := range reqs {
				if r.Method != tt.method {
					t.Errorf("method %s, want %s", r.Method, tt.method)
				}
				wantQuery := []string{}
				if tt.apiVersion != "" {
					wantQuery = append(wantQuery, "api-version")
					if got := r.Query.Get("api-version"); got != tt.apiVersion {
						t.Errorf("api-version %q, want %q", got, tt.apiVersion)
					}
				}
				if tt.method == "GET" {
					wantQuery = append(wantQuery, "resource")
					if got := r.Query.Get("resource"); got != resource {
						t.Errorf("resource %q, want %q", got, resource)
					}
				} else if got := r.Form.Get("resource"); got != resource || len(r.Form) != 1 {
					t.Errorf("form %v, want resource=%s only", r.Form, resource)
				}
				if tt.param != "" {
					wantQuery = append(wantQuery, tt.param)
					if got := r.Query.Get(tt.param); got != tt.value {
						t.Errorf("%s=%q, want %q", tt.param, got, tt.value)
					}
				}
				var gotQuery []string
				for k := range r.Query {
					gotQuery = append(gotQuery, k)
				}
				slices.Sort(gotQuery)
				slices.Sort(wantQuery)
				if !slices.Equal(gotQuery, wantQuery) {
					t.Errorf("query parameters %q, want %q", gotQuery, wantQuery)
				}
				if got := r.Header.Get("Metadata"); (got == "true") != tt.metadata || (!tt.metadata && got != "") {
					t.Errorf("Metadata header %q, want it: %t", got, tt.metadata)
				}
				if tt.secretHeader != "" {
					if got := r.Header.Get(tt.secretHeader); got != tt.secret(emu) {
						t.Errorf("%s header %q, want the host secret", tt.secretHeader, got)
					}
				}
				for _, h := range []string{"X-IDENTITY-HEADER", "secret"} {
					if h != tt.secretHeader && r.Header.Get(h) != "" {
						t.Errorf("unexpected %s header", h)
					}
				}
			}
		})
	}
}

func TestAppServiceDateExpiry(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{AppServiceDateExpiry: true})
	c, _ := newClient(t, emu, "app_service")
	start := time.Now()
	tok, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
	if err != nil {
		t.Fatal(err)
	}
	if d := tok.ExpiresOn.Sub(start); d < 24*time.Hour-time.Minute || d > 24*time.Hour+time.Minute {
		t.Errorf("token expires in %s, want 24 h", d)
	}
	if q := emu.Requests("app_service")[0]; q.Query.Get("api-version") != "2019-08-01" {
		t.Errorf("request %v", q)
	}
}

// A retryable status is retried once after the policy's delay, then the
// token comes; any other status fails at once with the server's error.
func TestRetryableStatuses(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	imdsRetried := []int{404, 408, 410, 429, 500, 501, 502, 503, 504}
	otherRetried := []int{404, 408, 429, 500, 503, 504}
	for _, src := range miSources() {
		retried := otherRetried
		if src == "imds" {
			retried = imdsRetried
		}
		for _, status := range []int{400, 401, 403, 404, 408, 410, 429, 500, 501, 502, 503, 504} {
			if src == "azure_arc" && status == 401 {
				continue // a challenge: see TestArcChallengeFiles
			}
			t.Run(string(src)+" "+http.StatusText(status), func(t *testing.T) {
				emu.ResetRequests()
				emu.InjectFault(entratest.Fault{Endpoint: src, Status: status})
				c, rec := newClient(t, emu, src)
				tok, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
				requests := len(emu.Requests(src))
				if !slices.Contains(retried, status) {
					e := wantCodeOf(t, err, src)
					if e.StatusCode != status || requests != 1 || len(rec.Delays()) != 0 {
						t.Errorf("status %d, %d requests, delays %v; want %d, 1 request, no retry", e.StatusCode, requests, rec.Delays(), status)
					}
					return
				}
				if err != nil {
					t.Fatalf("not retried: %v", err)
				}
				want := durations(1)
				if src == "imds" && status == 410 {
					want = durations(10)
				}
				wantRequests := 2
				if src == "azure_arc" {
					wantRequests = 3 // failure, challenge, answer
				}
				if tok.AccessToken == "" || requests != wantRequests || !slices.Equal(rec.Delays(), want) {
					t.Errorf("%d requests, delays %v; want %d, %v", requests, rec.Delays(), wantRequests, want)
				}
			})
		}
	}
}

// wantCodeOf checks the code an injected fault yields in the source's error shape.
// namesIdentity reports whether a token's claims name the identity a
// request selected with param=value ("" for the system-assigned one).
func namesIdentity(emu *entratest.Emulator, claims map[string]any, param, value string) bool {
	switch param {
	case "client_id", "clientid":
		return claims["appid"] == value
	case "object_id", "principal_id", "principalId":
		return claims["oid"] == value
	case "msi_res_id", "mi_res_id":
		return claims["xms_mirid"] == value
	}
	return claims["appid"] == emu.DefaultIdentityClientID()
}

func wantCodeOf(t *testing.T, err error, src string) *entra.Error {
	t.Helper()
	switch src {
	case "app_service", "machine_learning":
		// {"statusCode","message"}: no code of its own.
		e := wantCode(t, err, entra.CodeServerFailure)
		if e.Message != "The service is unavailable (injected fault)." || e.CorrelationID == "" {
			t.Errorf("message %q, correlation id %q", e.Message, e.CorrelationID)
		}
		return e
	}
	e := wantCode(t, err, "injected_fault")
	if e.Message != "The service is unavailable (injected fault)." {
		t.Errorf("message %q", e.Message)
	}
	return e
}

func TestRetrySchedules(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	future := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	type fault struct {
		status int
		times  int
		ra     string
	}
	tests := []struct {
		name     string
		src      string
		faults   []fault
		ok       bool
		requests int
		delays   []time.Duration
	}{
		{"IMDS exponential", "imds", []fault{{500, 4, ""}}, false, 4, durations(1, 2, 4)},
		{"IMDS exponential then success", "imds", []fault{{503, 3, ""}}, true, 4, durations(1, 2, 4)},
		{"IMDS ignores Retry-After", "imds", []fault{{429, 2, "30"}}, true, 3, durations(1, 2)},
		{"IMDS 410 seven times", "imds", []fault{{410, 8, ""}}, false, 8, durations(10, 10, 10, 10, 10, 10, 10)},
		{"IMDS 410 then 500s", "imds", []fault{{410, 1, ""}, {500, 4, ""}}, true, 6, durations(10, 10, 10, 10, 10)},
		{"IMDS 500 then 410", "imds", []fault{{500, 1, ""}, {410, 3, ""}}, false, 4, durations(1, 2, 4)},
		{"App Service three retries", "app_service", []fault{{503, 4, ""}}, false, 4, durations(1, 1, 1)},
		{"App Service Retry-After", "app_service", []fault{{429, 2, "5"}}, true, 3, durations(5, 5)},
		{"App Service Retry-After below 1 s", "app_service", []fault{{429, 1, "0"}}, true, 2, durations(1)},
		{"Machine Learning Retry-After", "machine_learning", []fault{{503, 1, "3"}}, true, 2, durations(3)},
		{"Service Fabric Retry-After", "service_fabric", []fault{{429, 1, "7"}}, true, 2, durations(7)},
		{"Cloud Shell Retry-After", "cloud_shell", []fault{{504, 1, "2"}}, true, 2, durations(2)},
		{"Azure Arc Retry-After", "azure_arc", []fault{{500, 3, "4"}}, true, 5, durations(4, 4, 4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu.ResetRequests()
			for _, f := range tt.faults {
				emu.InjectFault(entratest.Fault{Endpoint: tt.src, Status: f.status, Times: f.times, RetryAfter: f.ra})
			}
			c, rec := newClient(t, emu, tt.src)
			_, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want success %t", err, tt.ok)
			}
			if got := len(emu.Requests(tt.src)); got != tt.requests {
				t.Errorf("%d requests, want %d", got, tt.requests)
			}
			if !slices.Equal(rec.Delays(), tt.delays) {
				t.Errorf("delays %v, want %v", rec.Delays(), tt.delays)
			}
			for i, a := range rec.Attempts() {
				if a.Number != i+1 || a.FirstStatusCode != tt.faults[0].status {
					t.Errorf("attempt %d: %+v", i, a)
				}
			}
		})
	}
	t.Run("Retry-After date", func(t *testing.T) {
		emu.ResetRequests()
		emu.InjectFault(entratest.Fault{Endpoint: "app_service", Status: 503, RetryAfter: future})
		c, rec := newClient(t, emu, "app_service")
		if _, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource}); err != nil {
			t.Fatal(err)
		}
		if d := rec.Delays(); len(d) != 1 || d[0] < 25*time.Second || d[0] > 31*time.Second {
			t.Errorf("delays %v, want about 30 s", d)
		}
	})
}

func TestTimeoutsAreRetried(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	never := make(chan struct{})
	t.Cleanup(func() { close(never) })
	for _, src := range []string{"imds", "app_service"} {
		t.Run(string(src), func(t *testing.T) {
			emu.ResetRequests()
			emu.InjectFault(entratest.Fault{Endpoint: src, Hold: never})
			c, rec := newClient(t, emu, src, func(cfg *managedidentity.Config) {
				cfg.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
			})
			if _, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource}); err != nil {
				t.Fatal(err)
			}
			a := rec.Attempts()
			if len(a) != 1 || !a[0].Timeout || a[0].StatusCode != 0 || entra.ErrorCode(a[0].Err) != entra.CodeTransport {
				t.Errorf("attempts %+v, want one timeout", a)
			}
			if !slices.Equal(rec.Delays(), durations(1)) || len(emu.Requests(src)) != 2 {
				t.Errorf("delays %v, %d requests", rec.Delays(), len(emu.Requests(src)))
			}
		})
	}
}

func TestConnectionRefusedIsNotRetried(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rec := newRecorder(managedidentity.SourceIMDS)
	c, err := managedidentity.New(managedidentity.Config{
		Getenv: func(k string) string {
			if k == "AZURE_POD_IDENTITY_AUTHORITY_HOST" {
				return "http://" + addr
			}
			return ""
		},
		RetryPolicy: rec.Retry,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
	wantCode(t, err, entra.CodeTransport)
	if a := rec.Attempts(); len(a) != 1 || a[0].Timeout || len(rec.Delays()) != 0 {
		t.Errorf("attempts %+v delays %v, want one refused attempt, no retry", a, rec.Delays())
	}
}

func TestRetryPolicyOverride(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	emu.InjectFault(entratest.Fault{Endpoint: "imds", Status: 503, Times: 2})
	c, _ := newClient(t, emu, "imds", func(cfg *managedidentity.Config) { cfg.RetryPolicy = noRetry })
	_, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
	if e := wantCode(t, err, "injected_fault"); e.StatusCode != 503 || len(emu.Requests()) != 1 {
		t.Errorf("NoRetry: %v after %d requests", err, len(emu.Requests()))
	}

	var seen []int
	custom := entra.RetryPolicy(func(a entra.Attempt) (time.Duration, bool) {
		seen = append(seen, a.StatusCode)
		return 0, a.StatusCode == 503
	})
	c, _ = newClient(t, emu, "imds", func(cfg *managedidentity.Config) { cfg.RetryPolicy = custom })
	if _, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []int{503}) {
		t.Errorf("custom policy saw %v", seen)
	}
}

// The caller's deadline bounds the wait: the reference policy's pauses
// are not sat out past it.
func TestDeadlineBoundsRetries(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	emu.InjectFault(entratest.Fault{Endpoint: "imds", Status: 500, Times: 10})
	c, err := managedidentity.New(emulatorConfig(t, emu, "imds"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
	wantCode(t, err, entra.CodeCanceled)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("err %v after %s", err, time.Since(start))
	}
}

func TestMalformedResponses(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	tests := []struct {
		name string
		body string
		code entra.Code
	}{
		{"malformed JSON", `{"access_token":"abc`, entra.CodeInvalidResponse},
		{"HTML", `<html>oops</html>`, entra.CodeInvalidResponse},
		{"missing access_token", `{"expires_on":"1795435200","token_type":"Bearer"}`, entra.CodeInvalidResponse},
		{"missing expiry", `{"access_token":"abc","token_type":"Bearer"}`, entra.CodeInvalidResponse},
		{"unreadable expires_on", `{"access_token":"abc","expires_on":"next tuesday"}`, entra.CodeInvalidResponse},
		{"other token type", `{"access_token":"abc","expires_on":"1795435200","token_type":"pop"}`, entra.CodeTokenTypeMismatch},
	}
	for _, src := range []string{"imds", "service_fabric"} {
		for _, tt := range tests {
			t.Run(string(src)+" "+tt.name, func(t *testing.T) {
				emu.ResetRequests()
				emu.InjectFault(entratest.Fault{Endpoint: src, Body: []byte(tt.body)})
				c, rec := newClient(t, emu, src)
				_, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
				wantCode(t, err, tt.code)
				if len(emu.Requests(src)) != 1 || len(rec.Attempts()) != 0 {
					t.Errorf("a bad answer was retried")
				}
				if tt.name == "unreadable expires_on" && !strings.Contains(err.Error(), "expires_on") {
					t.Errorf("err %v does not say what is wrong", err)
				}
			})
		}
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	for _, src := range []string{"app_service", "service_fabric"} {
		t.Run(string(src), func(t *testing.T) {
			emu.ResetRequests()
			emu.InjectFault(entratest.Fault{Endpoint: src, Status: http.StatusTemporaryRedirect,
				Header: http.Header{"Location": {emu.IMDSURL() + "/elsewhere"}}, Body: []byte(`{}`)})
			c, _ := newClient(t, emu, src)
			_, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: resource})
			if e := wantCode(t, err, entra.CodeRedirectRefused); e.StatusCode != http.StatusTemporaryRedirect {
				t.Errorf("status %d", e.StatusCode)
			}
			if n := len(emu.Requests()); n != 1 {
				t.Errorf("%d requests: the redirect was followed", n)
			}
		})
	}
}

func TestResourceValidation(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	c, _ := newClient(t, emu, "imds")
	for _, r := range []string{"", "  ", "/.default", "https://a b", "https://a\tb", "https://a\x00"} {
		_, err := c.AcquireToken(context.Background(), managedidentity.TokenRequest{Resource: r})
		wantCode(t, err, entra.CodeInvalidArgument)
	}
	if len(emu.Requests()) != 0 {
		t.Errorf("invalid resources reached the endpoint")
	}
}
