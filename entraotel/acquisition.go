package entraotel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/entra-go/entra"
)

// wasStarted tells an acquisition that StartAcquisition was called for
// from a cache hit, which has no Reason. FromCache cannot tell them apart:
// a started acquisition may find the token that another one just stored.
func wasStarted(a entra.Acquisition) bool { return a.Reason != "" }

// acquisitionSpanName is "entra.acquire_token FLOW", a constant for the
// flows the library has (a traced hit then makes no string).
func acquisitionSpanName(flow string) string {
	switch flow {
	case "client_credentials":
		return acquireSpanPrefix + "client_credentials"
	case "on_behalf_of":
		return acquireSpanPrefix + "on_behalf_of"
	case "authorization_code":
		return acquireSpanPrefix + "authorization_code"
	case "refresh_token":
		return acquireSpanPrefix + "refresh_token"
	case "silent":
		return acquireSpanPrefix + "silent"
	case "managed_identity":
		return acquireSpanPrefix + "managed_identity"
	}
	return acquireSpanPrefix + flow
}

// acquisitionStartAttributes are known before the acquisition is made,
// so that samplers see them.
func acquisitionStartAttributes(a entra.Acquisition) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 5) // room for all, and a hit's source
	attrs = append(attrs, flowKey.String(a.Flow), tokenTypeKey.String(a.TokenType))
	if a.Reason != "" {
		attrs = append(attrs, refreshReasonKey.String(a.Reason))
	}
	if a.ManagedIdentitySource != "" {
		attrs = append(attrs, miSourceKey.String(a.ManagedIdentitySource))
	}
	return attrs
}

func tokenSource(a entra.Acquisition) string {
	if a.FromCache {
		return sourceCache
	}
	return sourceIdP
}

// endAcquisitionSpan sets the outcome of a started acquisition.
func endAcquisitionSpan(span trace.Span, a entra.Acquisition) {
	if span.IsRecording() {
		span.SetAttributes(tokenSourceKey.String(tokenSource(a)), coalescedKey.Bool(a.Coalesced),
			tokenTypeKey.String(a.TokenType)) // the type issued may differ from the one asked for
		if a.Region != "" {
			span.SetAttributes(regionKey.String(a.Region))
		}
		if a.ErrorCode != "" {
			span.SetAttributes(semconv.ErrorTypeKey.String(string(a.ErrorCode)))
			span.SetStatus(codes.Error, string(a.ErrorCode))
		}
	}
	span.End()
}

// traceHit makes the span of a cache hit when the caller is traced, so
// that its trace shows the token look-up. The hit already happened: the
// span is dated back by its duration.
func (o *Observer) traceHit(ctx context.Context, a entra.Acquisition) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return
	}
	end := time.Now()
	attrs := append(acquisitionStartAttributes(a), tokenSourceKey.String(sourceCache))
	_, span := o.tracer.Start(ctx, acquisitionSpanName(a.Flow), trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithTimestamp(end.Add(-a.Duration)), trace.WithAttributes(attrs...))
	span.End(trace.WithTimestamp(end))
}

// acquisitionKey is what the metric attributes of an acquisition depend on.
type acquisitionKey struct {
	flow, miSource, tokenType, reason string
	errorCode                         entra.Code
	fromCache, background             bool
}

// acquisitionOptions are the measurement options of one acquisitionKey,
// one per instrument, as slices ready to be passed with "...".
type acquisitionOptions struct {
	duration, remaining []metric.RecordOption
	outcome, proactive  []metric.AddOption
	coalesced           []metric.AddOption
}

func (o *Observer) recordAcquisition(ctx context.Context, a entra.Acquisition) {
	k := acquisitionKey{flow: a.Flow, miSource: a.ManagedIdentitySource, tokenType: a.TokenType, reason: a.Reason,
		errorCode: a.ErrorCode, fromCache: a.FromCache, background: a.Background}
	opts := o.acquisitionOptions.get(k, buildAcquisitionOptions)
	o.inst.acquisitionDuration.Record(ctx, a.Duration.Seconds(), opts.duration...)
	if a.Coalesced {
		o.inst.coalesced.Add(ctx, 1, opts.coalesced...)
	}
	if a.Background {
		o.inst.proactiveRefreshes.Add(ctx, 1, opts.proactive...)
		return // no caller waited for it: not an acquisition of theirs
	}
	o.inst.acquisitions.Add(ctx, 1, opts.outcome...)
	if a.ErrorCode == "" {
		o.inst.remainingLifetime.Record(ctx, a.Remaining.Seconds(), opts.remaining...)
	}
}

func buildAcquisitionOptions(k acquisitionKey) acquisitionOptions {
	flow := flowKey.String(k.flow)
	source := tokenSourceKey.String(sourceIdP)
	if k.fromCache {
		source = tokenSourceKey.String(sourceCache)
	}
	outcome, failure := outcomeKey.String(outcomeSuccess), []attribute.KeyValue(nil)
	if k.errorCode != "" {
		outcome = outcomeKey.String(outcomeFailure)
		failure = []attribute.KeyValue{semconv.ErrorTypeKey.String(string(k.errorCode))}
	}
	duration := []attribute.KeyValue{flow, source, tokenTypeKey.String(k.tokenType)}
	if k.reason != "" {
		duration = append(duration, refreshReasonKey.String(k.reason))
	}
	if k.miSource != "" {
		duration = append(duration, miSourceKey.String(k.miSource))
	}
	return acquisitionOptions{
		duration:  recordOptions(append(duration, failure...)...),
		remaining: recordOptions(flow, source),
		outcome:   addOptions(append([]attribute.KeyValue{flow, source, outcome}, failure...)...),
		proactive: addOptions(append([]attribute.KeyValue{flow, outcome}, failure...)...),
		coalesced: addOptions(flow),
	}
}

func recordOptions(attrs ...attribute.KeyValue) []metric.RecordOption {
	return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}
}

func addOptions(attrs ...attribute.KeyValue) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}
}
