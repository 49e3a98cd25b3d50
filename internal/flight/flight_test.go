package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/entra-go/entra"
)

func TestDoSharesOneCall(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var g Group[int]
		var calls atomic.Int32
		release := make(chan struct{})
		const callers = 50
		var wg sync.WaitGroup
		results := make([]int, callers)
		for i := range callers {
			wg.Go(func() {
				v, err := g.Do(context.Background(), "k", time.Minute, func(context.Context) (int, error) {
					calls.Add(1)
					<-release
					return 42, nil
				})
				if err != nil {
					t.Error(err)
				}
				results[i] = v
			})
		}
		synctest.Wait() // every caller is waiting on the one call
		close(release)
		wg.Wait()
		if n := calls.Load(); n != 1 {
			t.Fatalf("fn ran %d times, want 1", n)
		}
		for i, v := range results {
			if v != 42 {
				t.Fatalf("caller %d got %d", i, v)
			}
		}
	})
}

func TestCallerCancellationDoesNotCancelOthers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var g Group[string]
		release := make(chan struct{})
		fnCtxErr := make(chan error, 1)
		first, cancelFirst := context.WithCancel(context.Background())
		firstDone := make(chan error, 1)
		go func() {
			_, err := g.Do(first, "k", time.Minute, func(ctx context.Context) (string, error) {
				<-release
				fnCtxErr <- ctx.Err()
				return "token", nil
			})
			firstDone <- err
		}()
		synctest.Wait()
		secondDone := make(chan string, 1)
		go func() {
			v, err := g.Do(context.Background(), "k", time.Minute, func(context.Context) (string, error) {
				t.Error("second caller must join the first call")
				return "", nil
			})
			if err != nil {
				t.Error(err)
			}
			secondDone <- v
		}()
		synctest.Wait()
		cancelFirst()
		err := <-firstDone
		if entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.Canceled) {
			t.Fatalf("first caller: %v, want canceled wrapping context.Canceled", err)
		}
		close(release)
		if v := <-secondDone; v != "token" {
			t.Fatalf("second caller got %q", v)
		}
		if err := <-fnCtxErr; err != nil {
			t.Fatalf("shared work saw its context end: %v", err)
		}
	})
}

func TestBudgetEndsTheWorkWithTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var g Group[int]
		start := time.Now()
		_, err := g.Do(context.Background(), "k", 5*time.Second, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want deadline exceeded", err)
		}
		if took := time.Since(start); took != 5*time.Second {
			t.Fatalf("the work ended after %s, want the 5s budget", took)
		}
	})
}

func TestCallerDeadlineIsCanceledNotTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var g Group[int]
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		workEnded := make(chan time.Duration, 1)
		start := time.Now()
		_, err := g.Do(ctx, "k", time.Minute, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			workEnded <- time.Since(start)
			return 0, ctx.Err()
		})
		if entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want canceled wrapping DeadlineExceeded", err)
		}
		// The caller's deadline does not end the shared work: its own budget does.
		if took := <-workEnded; took != time.Minute {
			t.Fatalf("the shared work ended after %s, want its 1m budget", took)
		}
	})
}

func TestErrorsReachEveryCaller(t *testing.T) {
	t.Parallel()
	var g Group[int]
	want := errors.New("boom")
	_, err := g.Do(context.Background(), "k", time.Second, func(context.Context) (int, error) { return 0, want })
	if !errors.Is(err, want) {
		t.Fatalf("got %v", err)
	}
}
