package managedidentity

import (
	"net/http"
	"testing"
	"time"

	"github.com/entra-go/entra"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestDefaultRetryPolicy(t *testing.T) {
	timeout := entra.WrapError(entra.CodeTransport, timeoutErr{}, "request failed")
	refused := entra.Errorf(entra.CodeTransport, "connection refused")
	tests := []struct {
		name  string
		a     Attempt
		delay time.Duration
		retry bool
	}{
		{"IMDS 500 first", Attempt{Source: SourceIMDS, Number: 1, StatusCode: 500, FirstStatusCode: 500}, time.Second, true},
		{"IMDS 500 second", Attempt{Source: SourceIMDS, Number: 2, StatusCode: 500, FirstStatusCode: 500}, 2 * time.Second, true},
		{"IMDS 500 third", Attempt{Source: SourceIMDS, Number: 3, StatusCode: 500, FirstStatusCode: 500}, 4 * time.Second, true},
		{"IMDS 500 fourth", Attempt{Source: SourceIMDS, Number: 4, StatusCode: 500, FirstStatusCode: 500}, 0, false},
		{"IMDS 404", Attempt{Source: SourceIMDS, Number: 1, StatusCode: 404}, time.Second, true},
		{"IMDS 408", Attempt{Source: SourceIMDS, Number: 1, StatusCode: 408}, time.Second, true},
		{"IMDS 429", Attempt{Source: SourceIMDS, Number: 1, StatusCode: 429, RetryAfter: time.Minute}, time.Second, true},
		{"IMDS 502", Attempt{Source: SourceIMDS, Number: 1, StatusCode: 502}, time.Second, true},
		{"IMDS 599", Attempt{Source: SourceIMDS, Number: 1, StatusCode: 599}, time.Second, true},
		{"IMDS 400", Attempt{Source: SourceIMDS, Number: 1, StatusCode: 400}, 0, false},
		{"IMDS 401", Attempt{Source: SourceIMDS, Number: 1, StatusCode: 401}, 0, false},
		{"IMDS timeout", Attempt{Source: SourceIMDS, Number: 1, Err: timeout}, time.Second, true},
		{"IMDS refused", Attempt{Source: SourceIMDS, Number: 1, Err: refused}, 0, false},
		{"IMDS 410 first", Attempt{Source: SourceIMDS, Number: 1, StatusCode: 410, FirstStatusCode: 410}, 10 * time.Second, true},
		{"IMDS 410 seventh", Attempt{Source: SourceIMDS, Number: 7, StatusCode: 410, FirstStatusCode: 410}, 10 * time.Second, true},
		{"IMDS 410 eighth", Attempt{Source: SourceIMDS, Number: 8, StatusCode: 410, FirstStatusCode: 410}, 0, false},
		{"IMDS 500 after 410", Attempt{Source: SourceIMDS, Number: 5, StatusCode: 500, FirstStatusCode: 410}, 10 * time.Second, true},
		{"IMDS 400 after 410", Attempt{Source: SourceIMDS, Number: 2, StatusCode: 400, FirstStatusCode: 410}, 0, false},
		{"IMDS 410 not first", Attempt{Source: SourceIMDS, Number: 2, StatusCode: 410, FirstStatusCode: 500}, 2 * time.Second, true},
		{"IMDS 410 fourth not first", Attempt{Source: SourceIMDS, Number: 4, StatusCode: 410, FirstStatusCode: 500}, 0, false},
		{"IMDS number 0", Attempt{Source: SourceIMDS, StatusCode: 500}, time.Second, true},
		{"App Service 404", Attempt{Source: SourceAppService, Number: 1, StatusCode: 404}, time.Second, true},
		{"App Service 408", Attempt{Source: SourceAppService, Number: 1, StatusCode: 408}, time.Second, true},
		{"App Service 429 Retry-After", Attempt{Source: SourceAppService, Number: 1, StatusCode: 429, RetryAfter: 7 * time.Second}, 7 * time.Second, true},
		{"App Service 429 short Retry-After", Attempt{Source: SourceAppService, Number: 1, StatusCode: 429, RetryAfter: 200 * time.Millisecond}, time.Second, true},
		{"Arc 500", Attempt{Source: SourceAzureArc, Number: 2, StatusCode: 500}, time.Second, true},
		{"Cloud Shell 503", Attempt{Source: SourceCloudShell, Number: 3, StatusCode: 503, RetryAfter: 2 * time.Second}, 2 * time.Second, true},
		{"Service Fabric 504", Attempt{Source: SourceServiceFabric, Number: 1, StatusCode: 504}, time.Second, true},
		{"Machine Learning 503 fourth", Attempt{Source: SourceMachineLearning, Number: 4, StatusCode: 503}, 0, false},
		{"App Service 410", Attempt{Source: SourceAppService, Number: 1, StatusCode: 410}, 0, false},
		{"App Service 501", Attempt{Source: SourceAppService, Number: 1, StatusCode: 501}, 0, false},
		{"App Service 502", Attempt{Source: SourceAppService, Number: 1, StatusCode: 502}, 0, false},
		{"App Service 400", Attempt{Source: SourceAppService, Number: 1, StatusCode: 400}, 0, false},
		{"App Service timeout", Attempt{Source: SourceAppService, Number: 1, Err: timeout}, time.Second, true},
		{"App Service refused", Attempt{Source: SourceAppService, Number: 1, Err: refused}, 0, false},
	}
	p := DefaultRetryPolicy()
	for _, tt := range tests {
		delay, retry := p.Retry(tt.a)
		if delay != tt.delay || retry != tt.retry {
			t.Errorf("%s: Retry = %s, %t; want %s, %t", tt.name, delay, retry, tt.delay, tt.retry)
		}
	}
	if _, retry := NoRetry().Retry(Attempt{Source: SourceIMDS, Number: 1, StatusCode: 500}); retry {
		t.Error("NoRetry retries")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 5 ", 5 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"1.5", 0},
		{"86400", maxRetryAfter},
		{"99999999999999999999", 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-30 * time.Second).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
