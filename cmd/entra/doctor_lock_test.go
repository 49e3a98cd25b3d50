//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TestDoctorSeesAHeldLock: while another process (here, the test, locking
// as MSAL Python's extensions do: the lock file, flock, its pid) holds the
// cache's lock, doctor warns; once released, the lock is free.
func TestDoctorSeesAHeldLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cacheFile := filepath.Join(dir, "cache.json")
	if err := os.WriteFile(cacheFile, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	lockFile := cacheFile + ".lockfile"
	lock, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := lock.WriteString(strconv.Itoa(os.Getpid()) + " test"); err != nil {
		t.Fatal(err)
	}
	c := cli{bin: binary(t)}
	if status, detail, _ := doctorRun(t, c, 0, "--cache", cacheFile).check(t, "cache lock"); status != "warn" || detail != "held by another process now" {
		t.Fatalf("held: %s %q", status, detail)
	}
	if err := os.Remove(lockFile); err != nil { // the protocol's unlock: delete, then release
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if status, detail, _ := doctorRun(t, c, 0, "--cache", cacheFile).check(t, "cache lock"); status != "ok" || detail != "free" {
		t.Fatalf("released: %s %q", status, detail)
	}
}
