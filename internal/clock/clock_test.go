package clock

import (
	"sync"
	"testing"
	"time"
)

func TestNowTracksWallClock(t *testing.T) {
	t.Parallel()
	c := New()
	for range 50 {
		got, want := c.Now(), time.Now()
		if d := want.Sub(got); d < -time.Millisecond || d > Resync+10*time.Millisecond {
			t.Fatalf("clock is %v behind time.Now", d)
		}
		time.Sleep(7 * time.Millisecond)
	}
}

func TestReanchorsAfterResync(t *testing.T) {
	t.Parallel()
	c := New()
	first := c.anchor.Load()
	time.Sleep(Resync + 5*time.Millisecond)
	c.Now()
	if c.anchor.Load() == first {
		t.Fatal("the clock did not take a new wall-clock reading after Resync")
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	c := New()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prev := c.Now()
			for range 1000 {
				now := c.Now()
				if now.Before(prev.Add(-Resync)) {
					t.Errorf("went back by more than Resync")
				}
				prev = now
			}
		}()
	}
	wg.Wait()
}

func BenchmarkNow(b *testing.B) {
	c := New()
	for b.Loop() {
		c.Now()
	}
}
