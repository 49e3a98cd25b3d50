package entraotel_test

import (
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entraotel"
)

// TestTheZeroConfigUsesTheGlobalProviders: without providers, the global
// ones (no-ops here) take the observations.
func TestTheZeroConfigUsesTheGlobalProviders(t *testing.T) {
	t.Parallel()
	obs, err := entraotel.New(entraotel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a := entra.Acquisition{Flow: "client_credentials", Reason: "no_cached_token", TokenType: entra.TokenTypeBearer}
	ctx := obs.StartAcquisition(t.Context(), a)
	if trace.SpanFromContext(ctx).IsRecording() {
		t.Error("the global no-op tracer recorded a span")
	}
	obs.EndAcquisition(ctx, a)
}

func TestThePropagatorWritesTheRequestHeaders(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider()
	for _, tc := range []struct {
		name       string
		propagator propagation.TextMapPropagator
		want       []string
	}{
		{"nil is W3C trace context", nil, []string{"Traceparent"}},
		{"trace context and baggage", propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}), []string{"Traceparent"}},
		{"none", propagation.NewCompositeTextMapPropagator(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			obs, err := entraotel.New(entraotel.Config{TracerProvider: tp, Propagator: tc.propagator})
			if err != nil {
				t.Fatal(err)
			}
			header := http.Header{}
			e := entra.Exchange{Method: http.MethodPost, URL: "https://login.microsoftonline.com/common/oauth2/v2.0/token", Host: "login.microsoftonline.com", Attempt: 1}
			ctx := obs.StartExchange(t.Context(), e, header)
			obs.EndExchange(ctx, e)
			var got []string
			for k := range header {
				got = append(got, k)
			}
			if len(got) != len(tc.want) || (len(got) == 1 && got[0] != tc.want[0]) {
				t.Errorf("headers %v, want %v", got, tc.want)
			}
		})
	}
}
