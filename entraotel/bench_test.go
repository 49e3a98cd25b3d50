package entraotel_test

import (
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
)

// hitter returns a function that makes a cache hit of a confidential
// client observed by obs (nil for none), after one warm-up acquisition.
func hitter(t testing.TB, h *harness, obs entra.Observer) func() {
	c := newConfidential(t, h.em, obs)
	ctx := t.Context()
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
	hit := hitter(t, h, h.obs)
	if n := testing.AllocsPerRun(1000, hit); n != 0 {
		t.Fatalf("an observed hit allocates %v times, want 0", n)
	}
}

// BenchmarkHit: a cache hit without an observer and with entraotel on SDK
// providers (a span recorder, a manual reader), no caller's span.
//
//	go test -run '^$' -bench Hit -benchmem -count 6 .
func BenchmarkHit(b *testing.B) {
	for _, bc := range []struct {
		name     string
		observed bool
	}{{"no observer", false}, {"entraotel", true}} {
		b.Run(bc.name, func(b *testing.B) {
			h := newHarness(b, entratest.Options{})
			var obs entra.Observer // a nil interface, not a nil *Observer
			if bc.observed {
				obs = h.obs
			}
			hit := hitter(b, h, obs)
			b.ReportAllocs()
			for b.Loop() {
				hit()
			}
		})
	}
}
