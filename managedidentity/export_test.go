package managedidentity

import "time"

// WithClock returns cfg with a clock, for tests of expiry and refresh.
func WithClock(cfg Config, now func() time.Time) Config {
	cfg.now = now
	return cfg
}

// WaitBackground waits for the proactive refreshes in progress.
func (c *Client) WaitBackground() { c.pipe.Wait() }

// SourcePolicy is a source's reference retry policy.
var SourcePolicy = sourcePolicy
