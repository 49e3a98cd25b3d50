package entraotel

import "testing"

func TestTheOptionCacheStopsGrowing(t *testing.T) {
	t.Parallel()
	var c optionCache[int, int]
	builds := 0
	double := func(k int) int { builds++; return 2 * k }
	for range 2 {
		for k := range maxCachedOptions + 10 {
			if v := c.get(k, double); v != 2*k {
				t.Fatalf("get(%d) = %d, want %d", k, v, 2*k)
			}
		}
	}
	if kept := len(*c.m.Load()); kept != maxCachedOptions {
		t.Errorf("%d combinations kept, want %d", kept, maxCachedOptions)
	}
	if want := maxCachedOptions + 2*10; builds != want {
		t.Errorf("%d builds, want %d: each kept combination once, the others each time", builds, want)
	}
}
