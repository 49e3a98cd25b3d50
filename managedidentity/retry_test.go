package managedidentity

import (
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestSourcePolicy(t *testing.T) {
	t.Parallel()
	timeout := errs.Wrap(entra.CodeTransport, timeoutErr{}, "request failed")
	refused := errs.New(entra.CodeTransport, "connection refused")
	tests := []struct {
		name  string
		src   Source
		a     entra.Attempt
		delay time.Duration
		retry bool
	}{
		{"IMDS 500 first", SourceIMDS, entra.Attempt{Number: 1, StatusCode: 500, FirstStatusCode: 500}, time.Second, true},
		{"IMDS 500 second", SourceIMDS, entra.Attempt{Number: 2, StatusCode: 500, FirstStatusCode: 500}, 2 * time.Second, true},
		{"IMDS 500 third", SourceIMDS, entra.Attempt{Number: 3, StatusCode: 500, FirstStatusCode: 500}, 4 * time.Second, true},
		{"IMDS 500 fourth", SourceIMDS, entra.Attempt{Number: 4, StatusCode: 500, FirstStatusCode: 500}, 0, false},
		{"IMDS 404", SourceIMDS, entra.Attempt{Number: 1, StatusCode: 404}, time.Second, true},
		{"IMDS 408", SourceIMDS, entra.Attempt{Number: 1, StatusCode: 408}, time.Second, true},
		{"IMDS 429", SourceIMDS, entra.Attempt{Number: 1, StatusCode: 429, RetryAfter: time.Minute}, time.Second, true},
		{"IMDS 502", SourceIMDS, entra.Attempt{Number: 1, StatusCode: 502}, time.Second, true},
		{"IMDS 599", SourceIMDS, entra.Attempt{Number: 1, StatusCode: 599}, time.Second, true},
		{"IMDS 400", SourceIMDS, entra.Attempt{Number: 1, StatusCode: 400}, 0, false},
		{"IMDS 401", SourceIMDS, entra.Attempt{Number: 1, StatusCode: 401}, 0, false},
		{"IMDS timeout", SourceIMDS, entra.Attempt{Number: 1, Err: timeout, Timeout: true}, time.Second, true},
		{"IMDS refused", SourceIMDS, entra.Attempt{Number: 1, Err: refused}, 0, false},
		{"IMDS 410 first", SourceIMDS, entra.Attempt{Number: 1, StatusCode: 410, FirstStatusCode: 410}, 10 * time.Second, true},
		{"IMDS 410 seventh", SourceIMDS, entra.Attempt{Number: 7, StatusCode: 410, FirstStatusCode: 410}, 10 * time.Second, true},
		{"IMDS 410 eighth", SourceIMDS, entra.Attempt{Number: 8, StatusCode: 410, FirstStatusCode: 410}, 0, false},
		{"IMDS 500 after 410", SourceIMDS, entra.Attempt{Number: 5, StatusCode: 500, FirstStatusCode: 410}, 10 * time.Second, true},
		{"IMDS 400 after 410", SourceIMDS, entra.Attempt{Number: 2, StatusCode: 400, FirstStatusCode: 410}, 0, false},
		{"IMDS 410 not first", SourceIMDS, entra.Attempt{Number: 2, StatusCode: 410, FirstStatusCode: 500}, 2 * time.Second, true},
		{"IMDS 410 fourth not first", SourceIMDS, entra.Attempt{Number: 4, StatusCode: 410, FirstStatusCode: 500}, 0, false},
		{"IMDS number 0", SourceIMDS, entra.Attempt{StatusCode: 500}, time.Second, true},
		{"App Service 404", SourceAppService, entra.Attempt{Number: 1, StatusCode: 404}, time.Second, true},
		{"App Service 408", SourceAppService, entra.Attempt{Number: 1, StatusCode: 408}, time.Second, true},
		{"App Service 429 Retry-After", SourceAppService, entra.Attempt{Number: 1, StatusCode: 429, RetryAfter: 7 * time.Second}, 7 * time.Second, true},
		{"App Service 429 short Retry-After", SourceAppService, entra.Attempt{Number: 1, StatusCode: 429, RetryAfter: 200 * time.Millisecond}, time.Second, true},
		{"Arc 500", SourceAzureArc, entra.Attempt{Number: 2, StatusCode: 500}, time.Second, true},
		{"Cloud Shell 503", SourceCloudShell, entra.Attempt{Number: 3, StatusCode: 503, RetryAfter: 2 * time.Second}, 2 * time.Second, true},
		{"Service Fabric 504", SourceServiceFabric, entra.Attempt{Number: 1, StatusCode: 504}, time.Second, true},
		{"Machine Learning 503 fourth", SourceMachineLearning, entra.Attempt{Number: 4, StatusCode: 503}, 0, false},
		{"App Service 410", SourceAppService, entra.Attempt{Number: 1, StatusCode: 410}, 0, false},
		{"App Service 501", SourceAppService, entra.Attempt{Number: 1, StatusCode: 501}, 0, false},
		{"App Service 502", SourceAppService, entra.Attempt{Number: 1, StatusCode: 502}, 0, false},
		{"App Service 400", SourceAppService, entra.Attempt{Number: 1, StatusCode: 400}, 0, false},
		{"App Service timeout", SourceAppService, entra.Attempt{Number: 1, Err: timeout, Timeout: true}, time.Second, true},
		{"App Service refused", SourceAppService, entra.Attempt{Number: 1, Err: refused}, 0, false},
	}
	for _, tt := range tests {
		delay, retry := sourcePolicy(tt.src)(tt.a)
		if delay != tt.delay || retry != tt.retry {
			t.Errorf("%s: Retry = %s, %t; want %s, %t", tt.name, delay, retry, tt.delay, tt.retry)
		}
	}
}
