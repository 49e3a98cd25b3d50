package entraotel

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/entra-go/entra"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/entra-go/entra"

// Config configures an Observer. The zero value uses the global providers
// and W3C trace context.
type Config struct {
	// TracerProvider makes the spans; nil means otel.GetTracerProvider(),
	// read once by New (the global provider forwards to one set later).
	TracerProvider trace.TracerProvider
	// MeterProvider makes the instruments; nil means
	// otel.GetMeterProvider(), read once by New.
	MeterProvider metric.MeterProvider
	// Propagator writes the trace context into the headers of the
	// requests, so that the services' logs can be joined to the trace. nil
	// means W3C trace context (propagation.TraceContext{}), and not the
	// global propagator, whose default propagates nothing: pass
	// otel.GetTextMapPropagator() to follow it, or
	// propagation.NewCompositeTextMapPropagator() to send no header.
	Propagator propagation.TextMapPropagator
}

// Observer makes OpenTelemetry spans and metrics of what a client does; set
// it as the Observer of confidential.Config or managedidentity.Config. It is
// safe for concurrent use, and one Observer may serve many clients.
type Observer struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	inst       instruments
	// The measurement options of each attribute combination seen, so that
	// recording builds no attribute set.
	acquisitionOptions optionCache[acquisitionKey, acquisitionOptions]
	exchangeOptions    optionCache[exchangeKey, []metric.RecordOption]
}

var _ entra.Observer = (*Observer)(nil)

// New returns an Observer that reports to the providers of cfg. It fails
// only if the meter provider refuses an instrument.
func New(cfg Config) (*Observer, error) {
	tp, mp, prop := cfg.TracerProvider, cfg.MeterProvider, cfg.Propagator
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if prop == nil {
		prop = propagation.TraceContext{}
	}
	inst, err := newInstruments(mp.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL)))
	if err != nil {
		return nil, err
	}
	return &Observer{
		tracer:     tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		propagator: prop,
		inst:       inst,
	}, nil
}

// StartAcquisition starts the span of an acquisition that goes to the
// network.
func (o *Observer) StartAcquisition(ctx context.Context, a entra.Acquisition) context.Context {
	ctx, _ = o.tracer.Start(ctx, acquisitionSpanName(a.Flow),
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(acquisitionStartAttributes(a)...))
	return ctx
}

// EndAcquisition records the acquisition's metrics and ends its span. A
// cache hit, which was not started, gets a span only inside a recording
// one: an untraced hit then allocates nothing.
func (o *Observer) EndAcquisition(ctx context.Context, a entra.Acquisition) {
	o.recordAcquisition(ctx, a)
	if !wasStarted(a) {
		o.traceHit(ctx, a)
		return
	}
	endAcquisitionSpan(trace.SpanFromContext(ctx), a)
}

// StartExchange starts the client span of an HTTP request and writes its
// trace context into header.
func (o *Observer) StartExchange(ctx context.Context, e entra.Exchange, header http.Header) context.Context {
	ctx, _ = o.tracer.Start(ctx, exchangeSpanName(e.Method),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(exchangeStartAttributes(e)...))
	o.propagator.Inject(ctx, propagation.HeaderCarrier(header))
	return ctx
}

// EndExchange records the request's duration and ends its span.
func (o *Observer) EndExchange(ctx context.Context, e entra.Exchange) {
	o.recordExchange(ctx, e)
	endExchangeSpan(trace.SpanFromContext(ctx), e)
}
