package managedidentity_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

const resource = "https://management.azure.com"

func startEmulator(t testing.TB, opts entratest.Options) *entratest.Emulator {
	t.Helper()
	emu, err := entratest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// retryRecorder asks the reference policy and records its answers, but
// never waits: the schedule is checked without sleeping.
type retryRecorder struct {
	inner    entra.RetryPolicy
	mu       sync.Mutex
	attempts []entra.Attempt
	delays   []time.Duration
}

func newRecorder(src managedidentity.Source) *retryRecorder {
	return &retryRecorder{inner: managedidentity.SourcePolicy(src)}
}

func (r *retryRecorder) Retry(a entra.Attempt) (time.Duration, bool) {
	d, ok := r.inner(a)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, a)
	if ok {
		r.delays = append(r.delays, d)
	}
	return 0, ok
}

func (r *retryRecorder) Delays() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.delays...)
}

func (r *retryRecorder) Attempts() []entra.Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]entra.Attempt(nil), r.attempts...)
}

// miSources are the managed identity sources, by the emulator's names.
func miSources() []string {
	return []string{"imds", "app_service", "azure_arc", "cloud_shell", "service_fabric", "machine_learning"}
}

// emulatorConfig reaches src through the emulator's environment, so the
// source is detected as on a real host.
func emulatorConfig(t testing.TB, emu *entratest.Emulator, src string) managedidentity.Config {
	return managedidentity.Config{
		Getenv:       emu.Getenv(src),
		ArcTokenDir:  emu.ArcTokenDir(),
		ArcAgentPath: filepath.Join(t.TempDir(), "no-himds"),
	}
}

func newClient(t *testing.T, emu *entratest.Emulator, src string,
	configure ...func(*managedidentity.Config)) (*managedidentity.Client, *retryRecorder) {
	t.Helper()
	rec := newRecorder(managedidentity.Source(src))
	cfg := emulatorConfig(t, emu, src)
	cfg.RetryPolicy = rec.Retry
	for _, f := range configure {
		f(&cfg)
	}
	c, err := managedidentity.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Source(); string(got) != string(src) {
		t.Fatalf("Source() = %q, want %q", got, src)
	}
	return c, rec
}

func wantCode(t *testing.T, err error, code entra.Code) *entra.Error {
	t.Helper()
	var e *entra.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
	return e
}

func durations(secs ...int) []time.Duration {
	out := make([]time.Duration, len(secs))
	for i, s := range secs {
		out[i] = time.Duration(s) * time.Second
	}
	return out
}

// fakeClock is a settable clock for tests of expiry and refresh.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
