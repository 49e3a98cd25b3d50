package entraotel_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entraotel"
	"github.com/entra-go/entra/entratest"
)

// hitter returns a function that makes a cache hit in ctx, of a
// confidential client observed by obs (nil for none), after one warm-up
// acquisition.
func hitter(t testing.TB, h *harness, obs entra.Observer, ctx context.Context) func() {
	c := newConfidential(t, h.em, obs)
	if _, err := c.AcquireTokenForClient(ctx, forClient); err != nil {
		t.Fatal(err)
	}
	return func() {
		if tok, err := c.AcquireTokenForClient(ctx, forClient); err != nil || !tok.FromCache {
			t.Fatalf("%v, from cache %t: want a hit", err, tok.FromCache)
		}
	}
}

// TestAnObservedHitAllocatesNothing: with SDK providers and no caller's
// span, the Observer adds no allocation to a hit, which has none. Not
// parallel: allocations are counted process-wide.
func TestAnObservedHitAllocatesNothing(t *testing.T) {
	h := newHarness(t, entratest.Options{})
	hit := hitter(t, h, h.obs, t.Context())
	if n := testing.AllocsPerRun(1000, hit); n != 0 {
		t.Fatalf("an observed hit allocates %v times, want 0", n)
	}
}

// BenchmarkHit: a cache hit without an observer, and with entraotel on SDK
// providers (spans discarded once ended, a manual reader) outside a span
// and inside the caller's recording span, where the hit makes one.
//
//	go test -run '^$' -bench Hit -benchmem -count 6 .
func BenchmarkHit(b *testing.B) {
	for _, bc := range []struct {
		name             string
		observed, traced bool
	}{{"no observer", false, false}, {"entraotel", true, false}, {"entraotel in a span", true, true}} {
		b.Run(bc.name, func(b *testing.B) {
			h := newHarness(b, entratest.Options{})
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(discard{}))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			var obs entra.Observer // a nil interface, not a nil *Observer
			if bc.observed {
				o, err := entraotel.New(entraotel.Config{TracerProvider: tp, MeterProvider: mp})
				if err != nil {
					b.Fatal(err)
				}
				obs = o
			}
			ctx := b.Context()
			if bc.traced {
				var caller trace.Span
				ctx, caller = tp.Tracer("test").Start(ctx, "caller")
				defer caller.End()
			}
			hit := hitter(b, h, obs, ctx)
			b.ReportAllocs()
			for b.Loop() {
				hit()
			}
		})
	}
}

// discard is a span processor that keeps nothing, so that a long
// benchmark does not fill the memory with spans.
type discard struct{}

func (discard) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discard) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discard) Shutdown(context.Context) error                  { return nil }
func (discard) ForceFlush(context.Context) error                { return nil }
