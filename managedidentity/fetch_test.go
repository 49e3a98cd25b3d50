package managedidentity

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/internal/pipeline"
	"github.com/entra-go/entra/internal/tokencache"
)

func fetchClient(t *testing.T, policy entra.RetryPolicy) (*Client, *entratest.Emulator) {
	t.Helper()
	emu, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	c, err := New(Config{Getenv: emu.Getenv("imds"), RetryPolicy: policy})
	if err != nil {
		t.Fatal(err)
	}
	return c, emu
}

func (c *Client) fetchForTest(ctx context.Context) (pipeline.Answer, error) {
	key := tokencache.Key{Environment: c.cacheEnv, ClientID: c.cacheID}
	return (*fetcher)(c).Fetch(ctx, request{key: key, resource: "https://management.azure.com"}, time.Now())
}

// Cancellation is never offered to the retry policy, even one that would
// retry anything.
func TestCancellationIsNeverRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	always := entra.RetryPolicy(func(entra.Attempt) (time.Duration, bool) { calls.Add(1); return 0, true })
	c, emu := fetchClient(t, always)
	release := make(chan struct{})
	defer close(release)
	emu.InjectFault(entratest.Fault{Hold: release, Times: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.fetchForTest(ctx)
	if entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want canceled", err)
	}
	if n := calls.Load(); n != 0 || len(emu.Requests()) != 1 {
		t.Errorf("policy called %d times after %d requests; want 0 after 1", n, len(emu.Requests()))
	}
}

// A pause ends when the context does.
func TestPauseEndsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	policy := entra.RetryPolicy(func(entra.Attempt) (time.Duration, bool) { cancel(); return time.Hour, true })
	c, emu := fetchClient(t, policy)
	emu.InjectFault(entratest.Fault{Status: 503})
	_, err := c.fetchForTest(ctx)
	if entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
}

// A pause that would outlast the deadline is not started: the failure is
// returned at once.
func TestPausePastDeadlineIsSkipped(t *testing.T) {
	t.Parallel()
	policy := entra.RetryPolicy(func(entra.Attempt) (time.Duration, bool) { return time.Hour, true })
	c, emu := fetchClient(t, policy)
	emu.InjectFault(entratest.Fault{Status: 503})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := c.fetchForTest(ctx)
	var e *entra.Error
	if !errors.As(err, &e) || e.StatusCode != 503 || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %s, want the 503 at once", err, time.Since(start))
	}
}
