//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package filestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
)

func open(t *testing.T, path string, logger *slog.Logger) *store {
	t.Helper()
	s, err := Open(path, Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return s.(*store)
}

// appendItem is an update that appends one string to a JSON array.
func appendItem(item string) func([]byte) ([]byte, error) {
	return func(stored []byte) ([]byte, error) {
		var items []string
		if len(stored) > 0 {
			if err := json.Unmarshal(stored, &items); err != nil {
				return nil, err
			}
		}
		return json.Marshal(append(items, item))
	}
}

func TestLoadAndUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "cache.json")
	s := open(t, path, nil)
	if data, err := s.Load(ctx, ""); data != nil || err != nil {
		t.Fatalf("Load of a missing file = %q, %v", data, err)
	}
	if err := s.Update(ctx, "", appendItem("a")); err != nil {
		t.Fatal(err)
	}
	var seen []byte
	if err := s.Update(ctx, "", func(stored []byte) ([]byte, error) { seen = stored; return appendItem("b")(stored) }); err != nil {
		t.Fatal(err)
	}
	if string(seen) != `["a"]` {
		t.Errorf("the second update saw %q", seen)
	}
	data, err := s.Load(ctx, "")
	if err != nil || string(data) != `["a","b"]` {
		t.Fatalf("Load = %q, %v", data, err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", p, fi.Mode().Perm(), want, err)
		}
	}
}

func TestFailedUpdateLeavesTheFileUntouched(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "cache.json")
	corrupt := []byte(`{"AccessToken": {"k": `)
	if err := os.WriteFile(path, corrupt, 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	s := open(t, path, nil)
	boom := errors.New("the document is corrupt")
	if err := s.Update(ctx, "", func([]byte) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if err := s.Update(ctx, "", func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatalf("a no-op update failed: %v", err)
	}
	// A streamed write that fails half way leaves no half file behind.
	_, err := s.UpdateIfChanged(ctx, "", unknownVersion, func(_ []byte, _ bool, w io.Writer) error {
		w.Write(bytes.Repeat([]byte("x"), 200<<10))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	after, _ := os.Stat(path)
	data, _ := os.ReadFile(path)
	if !bytes.Equal(data, corrupt) || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("the file was rewritten")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "cache.json" && e.Name() != "cache.json.lockfile" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestReadableByOthersIsFixed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cache.json")
	if err := os.WriteFile(path, []byte(`["secret-token-value"]`), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644) // whatever the umask
	var logs bytes.Buffer
	s := open(t, path, slog.New(slog.NewJSONHandler(&logs, nil)))
	if _, err := s.Load(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if !bytes.Contains(logs.Bytes(), []byte("readable by other users")) || !bytes.Contains(logs.Bytes(), []byte("-rw-r--r--")) {
		t.Errorf("no warning: %s", logs.String())
	}
	if bytes.Contains(logs.Bytes(), []byte("secret-token-value")) {
		t.Error("the log shows the file's contents")
	}
}

func TestLockWaitHonoursTheContext(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cache.json")
	holder := open(t, path, nil)
	waiter := open(t, path, nil) // another Store: like another process
	held, release := make(chan struct{}), make(chan struct{})
	go holder.Update(context.Background(), "", func([]byte) ([]byte, error) {
		close(held)
		<-release
		return nil, nil
	})
	<-held
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := waiter.Update(ctx, "", appendItem("x"))
	if !errors.Is(err, context.DeadlineExceeded) || entra.ErrorCode(err) != entra.CodeCanceled {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	if _, err := Open("", Options{}); entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Errorf("empty path: %v", err)
	}
	if _, err := Open(t.TempDir(), Options{}); entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Errorf("a folder: %v", err)
	}
}

func TestConcurrentGoroutinesLoseNothing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cache.json")
	s := open(t, path, nil)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if err := s.Update(context.Background(), "", appendItem(fmt.Sprintf("g%d-%d", g, i))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	assertItems(t, path, 16*20)
}

// runProcesses runs n copies of this test binary, each running only the
// test named run with its own environment, at the same time, and waits.
func runProcesses(t *testing.T, run string, n int, env func(i int) []string) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^"+run+"$", "-test.count=1")
		cmd.Env = append(os.Environ(), env(i)...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("process %d: %v\n%s", i, err, out)
			}
		}()
	}
	wg.Wait()
}

// TestConcurrentProcessesLoseNothing runs 8 processes (this test binary
// again) that each append 50 items to one file at the same time.
func TestConcurrentProcessesLoseNothing(t *testing.T) {
	t.Parallel()
	if os.Getenv("FILESTORE_WRITER") != "" {
		t.Skip("in a writer process")
	}
	path := filepath.Join(t.TempDir(), "cache.json")
	const processes, each = 8, 50
	runProcesses(t, "TestWriterProcess", processes, func(p int) []string {
		return []string{"FILESTORE_WRITER=" + strconv.Itoa(p), "FILESTORE_PATH=" + path, "FILESTORE_EACH=" + strconv.Itoa(each)}
	})
	assertItems(t, path, processes*each)
}

// TestWriterProcess is the body of a writer process; it does nothing in a
// normal run.
func TestWriterProcess(t *testing.T) {
	t.Parallel()
	id := os.Getenv("FILESTORE_WRITER")
	if id == "" {
		t.Skip("not a writer process")
	}
	each, _ := strconv.Atoi(os.Getenv("FILESTORE_EACH"))
	s := open(t, os.Getenv("FILESTORE_PATH"), nil)
	for i := range each {
		if err := s.Update(context.Background(), "", appendItem(fmt.Sprintf("p%s-%d", id, i))); err != nil {
			t.Fatal(err)
		}
	}
}

func assertItems(t *testing.T, path string, want int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	if err := json.Unmarshal(data, &items); err != nil {
		t.Fatalf("the file is not valid JSON: %v", err)
	}
	distinct := map[string]bool{}
	for _, it := range items {
		distinct[it] = true
	}
	if len(items) != want || len(distinct) != want {
		t.Fatalf("%d items (%d distinct), want %d", len(items), len(distinct), want)
	}
}

// TestLeftoversOfADeadWriterAreRemoved: a temporary copy a crashed writer
// left beside the file is deleted by the next writer.
func TestLeftoversOfADeadWriterAreRemoved(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "cache[1].json") // pattern characters in the name
	leftover := path + ".tmp-123456"
	if err := os.WriteFile(leftover, []byte(`["a whole copy of the cache"]`), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "cache1.json.tmp-9") // another file's: kept
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := open(t, path, nil).Update(context.Background(), "", appendItem("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Error("the leftover temporary file is still there")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("another file's temporary file was removed")
	}
}

// TestWaitingGoroutineHonoursItsContext: a goroutine queued behind another
// writer of the same Store gives up when its context ends.
func TestWaitingGoroutineHonoursItsContext(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "cache.json"), nil)
	held, release := make(chan struct{}), make(chan struct{})
	go s.Update(context.Background(), "", func([]byte) ([]byte, error) { close(held); <-release; return nil, nil })
	<-held
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := s.Load(ctx, ""); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
}

// TestLockHeld: LockHeld sees this package's lock while it is held, and a
// lock file of another library's process by its flock lock or its live
// pid; a crashed holder's file (a dead pid) and no file are free.
func TestLockHeld(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "cache.json")
	s := open(t, path, nil)
	check := func(want bool, when string) {
		t.Helper()
		held, lockFile, err := LockHeld(path)
		if err != nil || held != want || lockFile != path+".lockfile" {
			t.Fatalf("%s: held %t, %q, %v; want held %t", when, held, lockFile, err, want)
		}
	}
	check(false, "no lock file")
	unlock, err := s.lock(context.Background(), lockExclusive)
	if err != nil {
		t.Fatal(err)
	}
	check(true, "held by this package")
	unlock()
	check(false, "released")
	for _, tt := range []struct {
		pid  int
		want bool
	}{{os.Getpid(), true}, {1 << 30, false}} { // a live pid without flock (MSAL Node), a dead one
		if err := os.WriteFile(path+".lockfile", []byte(strconv.Itoa(tt.pid)), 0o600); err != nil {
			t.Fatal(err)
		}
		check(tt.want, "a lock file of pid "+strconv.Itoa(tt.pid))
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("LockHeld created the cache file")
	}
}
