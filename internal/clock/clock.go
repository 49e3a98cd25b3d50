// Package clock is a cheap wall clock for the cache-hit path.
//
// time.Now reads two clocks (wall and monotonic); on some virtual machines
// that costs a quarter of a cache hit. Clock reads only the monotonic clock
// and adds it to a wall-clock anchor taken at most Resync ago. A wall-clock
// step, or time spent suspended (which the monotonic clock does not count),
// is therefore seen within Resync: far inside the five minutes before expiry
// at which tokens stop being served.
package clock

import (
	"sync/atomic"
	"time"
)

// Resync is the longest time between two wall-clock readings.
const Resync = 100 * time.Millisecond

type anchor struct {
	wall     time.Time
	wallNano int64         // wall in Unix ns
	elapsed  time.Duration // monotonic time since Clock.base at wall
}

// Clock is safe for concurrent use. Create it with New.
type Clock struct {
	base   time.Time
	anchor atomic.Pointer[anchor]
}

// New returns a clock.
func New() *Clock {
	c := &Clock{base: time.Now()}
	c.anchor.Store(&anchor{wall: c.base, wallNano: c.base.UnixNano()})
	return c
}

// Now is the current wall time, within Resync of time.Now.
func (c *Clock) Now() time.Time {
	elapsed := time.Since(c.base)
	a := c.anchor.Load()
	if d := elapsed - a.elapsed; d >= 0 && d < Resync {
		return a.wall.Add(d)
	}
	return c.resync().wall
}

// UnixNano is Now in Unix ns, without building a time.Time.
func (c *Clock) UnixNano() int64 {
	elapsed := time.Since(c.base)
	a := c.anchor.Load()
	if d := elapsed - a.elapsed; d >= 0 && d < Resync {
		return a.wallNano + int64(d)
	}
	return c.resync().wallNano
}

// resync reads the wall clock and makes it the anchor.
func (c *Clock) resync() *anchor {
	now := time.Now()
	a := &anchor{wall: now, wallNano: now.UnixNano(), elapsed: now.Sub(c.base)}
	c.anchor.Store(a)
	return a
}
