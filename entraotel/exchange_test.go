package entraotel_test

import (
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/codes"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
)

func TestAFailureCarriesTheServersCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, entratest.Options{})
	h.em.InjectFault(entratest.Fault{Endpoint: "token", Status: http.StatusBadRequest})
	_, err := h.confidential(t).AcquireTokenForClient(t.Context(), forClient)
	code := string(entra.ErrorCode(err))
	if code == "" {
		t.Fatalf("%v: want a failure with a code", err)
	}
	acqs, posts := h.named(acquireClient), h.named("POST")
	if len(acqs) != 1 || len(posts) != 1 {
		t.Fatalf("%d acquisition spans, %d request spans: want one of each", len(acqs), len(posts))
	}
	if acq := acqs[0]; acq.Status().Code != codes.Error || attr(acq, "error.type") != code {
		t.Errorf("acquisition span: status %v, error.type %q; want Error, %q", acq.Status(), attr(acq, "error.type"), code)
	}
	if post := posts[0]; post.Status().Code != codes.Error || attr(post, "error.type") != "400" || attr(post, "http.response.status_code") != "400" {
		t.Errorf("request span: status %v, attributes %s; want Error, error.type 400", post.Status(), attrs(post.Attributes()))
	}
	wantPoints(t, h.metrics(t), map[string]points{
		"entra.token.acquisitions":         {"entra.flow=client_credentials,entra.outcome=failure,entra.token.source=identity_provider,error.type=" + code: 1},
		"entra.token.acquisition.duration": {missDuration + ",error.type=" + code: 1},
		"entra.token.remaining_lifetime":   nil,
		"http.client.request.duration":     {"error.type=400,http.request.method=POST,http.response.status_code=400,server.address=login.microsoftonline.com": 1},
	})
}

func TestARetryIsASecondRequestSpan(t *testing.T) {
	t.Parallel()
	h := newHarness(t, entratest.Options{})
	h.em.InjectFault(entratest.Fault{Endpoint: "token", Status: http.StatusServiceUnavailable})
	if _, err := h.confidential(t).AcquireTokenForClient(t.Context(), forClient); err != nil {
		t.Fatal(err)
	}
	acqs, posts := h.named(acquireClient), h.named("POST")
	if len(acqs) != 1 || len(posts) != 2 {
		t.Fatalf("%d acquisition spans, %d request spans: want 1, 2", len(acqs), len(posts))
	}
	first, retry := posts[0], posts[1]
	if first.Status().Code != codes.Error || attr(first, "error.type") != "503" || attr(first, "http.request.resend_count") != "" {
		t.Errorf("first request: status %v, attributes %s; want Error, error.type 503, no resend count", first.Status(), attrs(first.Attributes()))
	}
	if retry.Status().Code != codes.Unset || attr(retry, "http.request.resend_count") != "1" || attr(retry, "http.response.status_code") != "200" {
		t.Errorf("retry: status %v, attributes %s; want 200, resend count 1", retry.Status(), attrs(retry.Attributes()))
	}
	for i, post := range posts {
		if !isChild(post, acqs[0].SpanContext()) {
			t.Errorf("request %d is not a child of the acquisition", i+1)
		}
		if got := h.em.Requests("token")[i].Header.Get("traceparent"); got != traceparent(post) {
			t.Errorf("request %d carried traceparent %q, want %q", i+1, got, traceparent(post))
		}
	}
	if acqs[0].Status().Code != codes.Unset {
		t.Errorf("the acquisition, which succeeded, has status %v", acqs[0].Status())
	}
	wantPoints(t, h.metrics(t), map[string]points{
		"entra.token.acquisitions": {missOutcome: 1},
		"http.client.request.duration": {postOK: 1,
			"error.type=503,http.request.method=POST,http.response.status_code=503,server.address=login.microsoftonline.com": 1},
	})
}
