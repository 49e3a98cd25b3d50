package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entraotel"
)

// flushTimeout bounds the export of what a command recorded, at exit.
const flushTimeout = 5 * time.Second

// telemetry exports a command's spans and metrics over OTLP. It is on
// when the standard OTEL_EXPORTER_OTLP_ENDPOINT (or the traces or metrics
// one) is set; the zero value is off and costs nothing.
type telemetry struct {
	observer entra.Observer
	tracer   trace.Tracer // nil when no traces are exported
	shutdown []func(context.Context) error
}

// startTelemetry reads the OpenTelemetry environment. The exporters read
// their own variables too (endpoint, headers, timeout, certificates).
func startTelemetry(ctx context.Context, getenv func(string) string) (*telemetry, error) {
	set := func(name string) bool { return strings.TrimSpace(getenv(name)) != "" }
	traces := set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	metrics := set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || (!traces && !metrics) {
		return &telemetry{}, nil
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "entra")), // unless OTEL_SERVICE_NAME says otherwise
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, err
	}
	t := &telemetry{}
	cfg := entraotel.Config{}
	if traces {
		exp, err := traceExporter(ctx, protocol(getenv, "TRACES"))
		if err != nil {
			return nil, err
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		t.shutdown = append(t.shutdown, tp.Shutdown)
		t.tracer, cfg.TracerProvider = tp.Tracer("github.com/entra-go/entra/cmd/entra"), tp
	}
	if metrics {
		exp, err := metricExporter(ctx, protocol(getenv, "METRICS"))
		if err != nil {
			return nil, errors.Join(err, t.flush())
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)), sdkmetric.WithResource(res))
		t.shutdown = append(t.shutdown, mp.Shutdown)
		cfg.MeterProvider = mp
	}
	if t.observer, err = entraotel.New(cfg); err != nil {
		return nil, errors.Join(err, t.flush())
	}
	return t, nil
}

// protocol is the OTLP protocol of a signal: its own variable, else the
// general one, else http/protobuf.
func protocol(getenv func(string) string, signal string) string {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := strings.TrimSpace(getenv(name)); p != "" {
			return p
		}
	}
	return "http/protobuf"
}

func traceExporter(ctx context.Context, proto string) (sdktrace.SpanExporter, error) {
	switch proto {
	case "http/protobuf":
		return otlptracehttp.New(ctx)
	case "grpc":
		return otlptracegrpc.New(ctx)
	}
	return nil, unsupportedProtocol(proto)
}

func metricExporter(ctx context.Context, proto string) (sdkmetric.Exporter, error) {
	switch proto {
	case "http/protobuf":
		return otlpmetrichttp.New(ctx)
	case "grpc":
		return otlpmetricgrpc.New(ctx)
	}
	return nil, unsupportedProtocol(proto)
}

func unsupportedProtocol(proto string) error {
	return fmt.Errorf("OTLP protocol %q is not supported: use http/protobuf or grpc", proto)
}

// command starts the span of a command line; end ends it with the exit
// status. Without traces both do nothing.
func (t *telemetry) command(ctx context.Context, args []string) (context.Context, func(status int)) {
	if t.tracer == nil {
		return ctx, func(int) {}
	}
	ctx, span := t.tracer.Start(ctx, "entra "+commandName(args))
	return ctx, func(status int) {
		span.SetAttributes(attribute.Int("process.exit.code", status))
		if status != 0 {
			span.SetStatus(codes.Error, fmt.Sprintf("exit status %d", status))
		}
		span.End()
	}
}

// commandName is the command and its subcommand, when they are in the
// command table: a span is named after known words only, since any other
// may be a mistyped secret.
func commandName(args []string) string {
	if len(args) == 0 {
		return "help"
	}
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c.name
		}
	}
	if _, ok := groupSummaries[args[0]]; ok {
		return args[0]
	}
	return "unknown"
}

// flush exports what was recorded and stops the exporters, within
// flushTimeout.
func (t *telemetry) flush() error {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	var errs []error
	for _, shutdown := range t.shutdown {
		errs = append(errs, shutdown(ctx))
	}
	return errors.Join(errs...)
}
