//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestForeignLockersLoseNothing: processes of this package and processes
// locking <file>.lockfile as other MSALs' extensions do write one file at
// the same time; every entry is there after. The foreign writers write
// the file in place, as those extensions do.
//
//	excl:  O_EXCL create, pid, delete to unlock (MSAL Node)
//	py:    O_EXCL create, then flock, pid, delete to unlock (MSAL Python)
func TestForeignLockersLoseNothing(t *testing.T) {
	t.Parallel()
	if os.Getenv("FILESTORE_WRITER") != "" || os.Getenv("FOREIGN_WRITER") != "" {
		t.Skip("in a writer process")
	}
	for _, tt := range []struct {
		name    string
		foreign []string
		each    int
	}{
		{"exclusive create and flock", []string{"excl", "py", "excl", "py"}, 25},
		// Not tested: a locker that takes only an flock lock (MSAL Go's
		// extensions) can lock a file its holder just deleted; see
		// lockfile.go. Such lockers race among themselves too.
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cache.json")
			ours := 2
			runProcesses(t, "TestWriterProcess|TestForeignWriterProcess", ours+len(tt.foreign), func(p int) []string {
				common := []string{"FILESTORE_PATH=" + path, "FILESTORE_EACH=" + strconv.Itoa(tt.each)}
				if p < ours {
					return append(common, "FILESTORE_WRITER="+strconv.Itoa(p))
				}
				return append(common, "FOREIGN_WRITER="+tt.foreign[p-ours]+strconv.Itoa(p))
			})
			assertItems(t, path, (ours+len(tt.foreign))*tt.each)
			if _, err := os.Lstat(path + lockSuffix); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the lock file is left behind: %v", err)
			}
		})
	}
}

// TestForeignWriterProcess is the body of a foreign writer process; it
// does nothing in a normal run.
func TestForeignWriterProcess(t *testing.T) {
	id := os.Getenv("FOREIGN_WRITER")
	if id == "" {
		t.Skip("not a foreign writer process")
	}
	path := os.Getenv("FILESTORE_PATH")
	each, _ := strconv.Atoi(os.Getenv("FILESTORE_EACH"))
	deadline := time.Now().Add(60 * time.Second)
	for i := range each {
		unlock := foreignLock(t, id[:len(id)-1], path+lockSuffix, deadline)
		data, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		out, err := appendItem(fmt.Sprintf("%s-%d", id, i))(data)
		if err != nil {
			t.Fatalf("read a torn file: %v", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		// In place and in two writes, so that a reader not excluded would
		// see a torn file.
		f.Write(out[:len(out)/2])
		time.Sleep(time.Millisecond)
		f.Write(out[len(out)/2:])
		f.Close()
		unlock()
	}
}

func foreignLock(t *testing.T, kind, name string, deadline time.Time) (unlock func()) {
	t.Helper()
	createExclusive := func() {
		for {
			f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
			if err == nil {
				if kind == "excl" {
					f.WriteString(strconv.Itoa(os.Getpid()))
				}
				f.Close()
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: lock not taken in time: %v", kind, err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	flockFile := func(flag int) *os.File {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|flag, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s: flock not taken in time", kind)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return f
	}
	switch kind {
	case "excl":
		createExclusive()
		return func() { os.Remove(name) }
	default: // "py"
		createExclusive()
		f := flockFile(os.O_TRUNC)
		f.WriteString(strconv.Itoa(os.Getpid()) + " python3")
		return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close(); os.Remove(name) }
	}
}

// TestStaleLockFileTakenOver: a lock file left by a process that died
// does not block the cache; one of a live process does.
func TestStaleLockFileTakenOver(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "cache.json")
	s := open(t, path, nil)
	dead := exec0(t)
	if err := os.WriteFile(path+lockSuffix, []byte(strconv.Itoa(dead)+" crashed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(t.Context(), "", appendItem("a")); err != nil {
		t.Fatalf("a dead holder's lock file blocked the update: %v", err)
	}
	if err := os.WriteFile(path+lockSuffix, []byte(strconv.Itoa(os.Getppid())), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithTimeout(t, 200*time.Millisecond)
	defer cancel()
	if err := s.Update(ctx, "", appendItem("b")); err == nil {
		t.Fatal("a live holder's lock file was taken over")
	}
}

// exec0 runs a process to its end and returns its pid: the id of a
// process that no longer runs.
func exec0(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}
