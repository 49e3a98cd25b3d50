package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var errCanceled = errors.New("caller left")

func onCancel(context.Context) error { return errCanceled }

func TestDoSharesOneCall(t *testing.T) {
	var g Group[int]
	var calls atomic.Int32
	release := make(chan struct{})
	const callers = 50
	var wg sync.WaitGroup
	results := make([]int, callers)
	started := make(chan struct{}, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			v, err := g.Do(context.Background(), "k", time.Minute, onCancel, func(context.Context) (int, error) {
				calls.Add(1)
				<-release
				return 42, nil
			})
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		}()
	}
	for range callers {
		<-started
	}
	time.Sleep(100 * time.Millisecond) // let the goroutines reach DoChan
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
}

func TestCallerCancellationDoesNotCancelOthers(t *testing.T) {
	var g Group[string]
	release := make(chan struct{})
	fnCtxErr := make(chan error, 1)
	first, cancelFirst := context.WithCancel(context.Background())

	firstDone := make(chan error, 1)
	go func() {
		_, err := g.Do(first, "k", time.Minute, onCancel, func(ctx context.Context) (string, error) {
			<-release
			fnCtxErr <- ctx.Err()
			return "token", nil
		})
		firstDone <- err
	}()
	time.Sleep(10 * time.Millisecond)

	secondDone := make(chan string, 1)
	go func() {
		v, err := g.Do(context.Background(), "k", time.Minute, onCancel, func(context.Context) (string, error) {
			t.Error("second caller must join the first call")
			return "", nil
		})
		if err != nil {
			t.Error(err)
		}
		secondDone <- v
	}()
	time.Sleep(10 * time.Millisecond)

	cancelFirst()
	if err := <-firstDone; !errors.Is(err, errCanceled) {
		t.Fatalf("first caller: %v, want the cancel error", err)
	}
	close(release)
	if v := <-secondDone; v != "token" {
		t.Fatalf("second caller got %q", v)
	}
	if err := <-fnCtxErr; err != nil {
		t.Fatalf("shared work saw its context end: %v", err)
	}
}

func TestSharedWorkIsBoundedByTimeout(t *testing.T) {
	var g Group[int]
	_, err := g.Do(context.Background(), "k", 5*time.Millisecond, onCancel, func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want deadline exceeded", err)
	}
}

func TestErrorsReachEveryCaller(t *testing.T) {
	var g Group[int]
	want := errors.New("boom")
	_, err := g.Do(context.Background(), "k", time.Second, onCancel, func(context.Context) (int, error) { return 0, want })
	if !errors.Is(err, want) {
		t.Fatalf("got %v", err)
	}
}
