package entraotel

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/entra-go/entra"
)

// knownMethod reports a method the HTTP conventions name; any other is
// "_OTHER", so that a span name or an attribute is never made up.
func knownMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead,
		http.MethodPatch, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return true
	}
	return false
}

func exchangeSpanName(method string) string {
	if knownMethod(method) {
		return method
	}
	return "HTTP"
}

func methodAttribute(method string) attribute.KeyValue {
	if knownMethod(method) {
		return semconv.HTTPRequestMethodKey.String(method)
	}
	return semconv.HTTPRequestMethodKey.String("_OTHER")
}

// serverAttributes are server.address, and server.port when the URL names
// one.
func serverAttributes(hostport string) []attribute.KeyValue {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil { // no port
		return []attribute.KeyValue{semconv.ServerAddressKey.String(strings.Trim(hostport, "[]"))}
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return []attribute.KeyValue{semconv.ServerAddressKey.String(host)}
	}
	return []attribute.KeyValue{semconv.ServerAddressKey.String(host), semconv.ServerPortKey.Int(n)}
}

func exchangeStartAttributes(e entra.Exchange) []attribute.KeyValue {
	attrs := append(serverAttributes(e.Host), methodAttribute(e.Method), semconv.URLFullKey.String(e.URL))
	if e.Attempt > 1 {
		attrs = append(attrs, semconv.HTTPRequestResendCountKey.Int(e.Attempt-1))
	}
	return attrs
}

// exchangeErrorType is error.type as the HTTP client conventions have it:
// the failure when no answer came, else the status code of an answer of
// 400 or more; "" for success.
func exchangeErrorType(errorCode entra.Code, status int) string {
	switch {
	case errorCode != "":
		return string(errorCode)
	case status >= 400:
		return strconv.Itoa(status)
	}
	return ""
}

func endExchangeSpan(span trace.Span, e entra.Exchange) {
	if span.IsRecording() {
		if e.StatusCode > 0 {
			span.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(e.StatusCode))
		}
		if errorType := exchangeErrorType(e.ErrorCode, e.StatusCode); errorType != "" {
			span.SetAttributes(semconv.ErrorTypeKey.String(errorType))
			span.SetStatus(codes.Error, "")
		}
	}
	span.End()
}

// exchangeKey is what the metric attributes of an exchange depend on.
type exchangeKey struct {
	method, host string
	status       int
	errorCode    entra.Code
}

func (o *Observer) recordExchange(ctx context.Context, e entra.Exchange) {
	k := exchangeKey{method: e.Method, host: e.Host, status: e.StatusCode, errorCode: e.ErrorCode}
	o.inst.requestDuration.Record(ctx, e.Duration.Seconds(), o.exchangeOptions.get(k, buildExchangeOptions)...)
}

func buildExchangeOptions(k exchangeKey) []metric.RecordOption {
	attrs := append(serverAttributes(k.host), methodAttribute(k.method))
	if k.status > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCodeKey.Int(k.status))
	}
	if errorType := exchangeErrorType(k.errorCode, k.status); errorType != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType))
	}
	return recordOptions(attrs...)
}
