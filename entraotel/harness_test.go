package entraotel_test

// The tests run the real clients against the emulator over real sockets,
// with SDK providers that keep what they are given.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entraotel"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

const (
	authority = "https://login.microsoftonline.com/contoso.onmicrosoft.com"
	tokenURL  = authority + "/oauth2/v2.0/token"
	graph     = "https://graph.microsoft.com/.default"
)

// harness is an emulator and an Observer whose spans and metrics the test
// reads.
type harness struct {
	em     *entratest.Emulator
	spans  *tracetest.SpanRecorder
	tracer trace.Tracer // the test's own, for the callers' spans
	reader *sdkmetric.ManualReader
	obs    *entraotel.Observer
}

func newHarness(t testing.TB, opts entratest.Options) *harness {
	t.Helper()
	em, err := entratest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	h := &harness{em: em, spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	h.tracer = tp.Tracer("test")
	if h.obs, err = entraotel.New(entraotel.Config{TracerProvider: tp, MeterProvider: mp}); err != nil {
		t.Fatal(err)
	}
	return h
}

// confidential is a client of the emulator's default application.
// Options, if any, change its configuration.
func (h *harness) confidential(t testing.TB, options ...func(*confidential.Config)) *confidential.Client {
	return newConfidential(t, h.em, h.obs, options...)
}

// newConfidential is a client of em's default application, observed by obs
// if not nil.
func newConfidential(t testing.TB, em *entratest.Emulator, obs entra.Observer, options ...func(*confidential.Config)) *confidential.Client {
	t.Helper()
	secret, err := credential.NewSecret(em.DefaultClient().Secret)
	if err != nil {
		t.Fatal(err)
	}
	cfg := confidential.Config{Authority: authority, ClientID: em.DefaultClient().ID,
		Credential: secret, HTTPClient: em.HTTPClient(), Observer: obs}
	for _, o := range options {
		o(&cfg)
	}
	c, err := confidential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// managedIdentity is a client of the emulator's IMDS.
func (h *harness) managedIdentity(t testing.TB) *managedidentity.Client {
	t.Helper()
	c, err := managedidentity.New(managedidentity.Config{Getenv: h.em.Getenv("imds"), Observer: h.obs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// caller starts a span of the caller's, which the test ends.
func (h *harness) caller(t testing.TB) (context.Context, trace.Span) {
	ctx, span := h.tracer.Start(t.Context(), "caller")
	t.Cleanup(func() { span.End() })
	return ctx, span
}

// ended returns the ended spans of the Observer, in the order they ended.
func (h *harness) ended() []sdktrace.ReadOnlySpan {
	return slices.DeleteFunc(h.spans.Ended(), func(s sdktrace.ReadOnlySpan) bool { return s.Name() == "caller" })
}

// named returns the ended spans of that name.
func (h *harness) named(name string) []sdktrace.ReadOnlySpan {
	return slices.DeleteFunc(h.ended(), func(s sdktrace.ReadOnlySpan) bool { return s.Name() != name })
}

// points are the data points of one instrument, as their attributes
// ("k=v,k=v", sorted) → their count (a histogram's) or value (a counter's).
type points map[string]int64

// metrics collects the Observer's instruments by name.
func (h *harness) metrics(t testing.TB) map[string]points {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	byName := map[string]points{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			byName[m.Name] = pointsOf(m.Data)
		}
	}
	return byName
}

func pointsOf(data metricdata.Aggregation) points {
	p := points{}
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			p[encode(dp.Attributes)] += dp.Value
		}
	case metricdata.Histogram[float64]:
		for _, dp := range d.DataPoints {
			p[encode(dp.Attributes)] += int64(dp.Count)
		}
	default:
		panic(fmt.Sprintf("unexpected aggregation %T", data))
	}
	return p
}

func encode(s attribute.Set) string { return s.Encoded(attribute.DefaultEncoder()) }

// attrs renders span attributes as "k=v,k=v", sorted.
func attrs(kvs []attribute.KeyValue) string { return encode(attribute.NewSet(kvs...)) }

// attr is the value of one attribute, "" if absent.
func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// traceparent is the W3C header that carries s.
func traceparent(s sdktrace.ReadOnlySpan) string {
	sc := s.SpanContext()
	return fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags())
}

// waitFor polls until ok, for at most five seconds.
func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// wantPoints compares the points of the instruments named in want (nil
// for none); the others are not checked.
func wantPoints(t testing.TB, got map[string]points, want map[string]points) {
	t.Helper()
	for name, w := range want {
		g := got[name]
		if len(w) == 0 && len(g) == 0 {
			continue
		}
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("%s:\n got %s\nwant %s", name, strings.ReplaceAll(fmt.Sprint(g), " ", "\n     "), strings.ReplaceAll(fmt.Sprint(w), " ", "\n     "))
		}
	}
}
