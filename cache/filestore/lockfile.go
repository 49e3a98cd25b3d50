package filestore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

// The lock of a cache file is shared with other libraries' processes,
// which lock <file>.lockfile in one of two ways:
//
//   - MSAL Node's extensions create it with O_CREAT|O_EXCL, write their
//     pid, and delete it to unlock; a process waits while it exists.
//   - MSAL Python's extensions create it with O_EXCL too, then take an
//     flock lock on it (portalocker), and delete it to unlock; MSAL.NET,
//     MSAL Go's extensions and azidentity take an flock lock on it, write
//     their pid and delete it after unlocking.
//
// To exclude both kinds, this package does both: it creates the file
// with O_EXCL (or, finding one no process holds, takes it over), takes
// an exclusive flock lock on it, writes its pid, and deletes it before
// releasing the flock lock. A file that exists is held if an flock lock
// is on it, if the pid written in it is of a live process, or if it is
// empty and new (another process between its create and its write). A
// file of a dead pid (a crashed holder) is taken over, so a crash does not
// block the cache for good.
//
// What remains: a locker that takes only an flock lock and does not check
// that the file it locked is still the one at the path (MSAL Go's
// extensions, azidentity, MSAL.NET) can lock a file that its holder has
// just deleted, while another process creates the next one. Those
// libraries have that race among themselves (MSAL Go's extensions document
// their lock as unreliable on Linux and macOS); deleting the file, which
// MSAL Node needs, keeps it with us. Against MSAL Node's and MSAL Python's
// locks the exclusion is complete.

// lockSuffix names the lock file beside the cache file.
const lockSuffix = ".lockfile"

// freshLock is how long an empty lock file counts as held: its creator
// may not have written its pid yet.
const freshLock = time.Second

// lock takes the cache file's lock, waiting until ctx ends. Reads take it
// too (kind lockShared): the other libraries' locks are exclusive only,
// and they write the file in place, which a read must not see halfway.
// A read of a cache whose folder does not exist locks nothing.
func (s *store) lock(ctx context.Context, kind lockKind) (unlock func(), err error) {
	name := s.path + lockSuffix
	if kind == lockShared {
		if _, err := os.Lstat(filepath.Dir(s.path)); errors.Is(err, fs.ErrNotExist) {
			return func() {}, nil // nothing was ever written
		}
	}
	wait := time.Millisecond
	for {
		lf, err := tryLockFile(name)
		if err != nil {
			return nil, err
		}
		if lf != nil {
			return func() {
				// Delete, then release: a process that opened this file
				// meanwhile finds our live pid in it and tries again.
				os.Remove(name)
				unlockFile(lf)
				lf.Close()
			}, nil
		}
		select {
		case <-ctx.Done():
			return nil, errs.Wrap(entra.CodeCanceled, ctx.Err(), "gave up waiting for the lock of the cache file %s", s.path)
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// LockHeld reports whether a process holds the lock of the cache file at
// path now: a process of this package's, or of another MSAL library
// sharing the file (see the lock's protocol above). It returns the lock
// file's path too. It waits for nothing, creates nothing and changes
// nothing; it is a diagnosis, not a lock: the answer may be stale at once.
func LockHeld(path string) (held bool, lockFile string, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false, "", errs.Wrap(entra.CodeInvalidArgument, err, "bad cache file path %q", path)
	}
	name := abs + lockSuffix
	f, err := openRegular(name, "cache lock file", os.O_RDWR)
	if errors.Is(err, fs.ErrNotExist) {
		return false, name, nil // it exists only while held
	}
	if err != nil {
		return false, name, err
	}
	defer f.Close()
	ok, err := tryLock(f, lockExclusive)
	if err != nil {
		return false, name, lockError(err, name)
	}
	if !ok {
		return true, name, nil
	}
	defer unlockFile(f)
	return heldWithoutFlock(f) && stillAt(f, name), name, nil
}

// tryLockFile takes the lock file if no one holds it: the open file, or
// nil if it is held.
func tryLockFile(name string) (*os.File, error) {
	f, err := openRegular(name, "cache lock file", os.O_RDWR|os.O_CREATE|os.O_EXCL)
	switch {
	case err == nil:
		ok, err := tryLock(f, lockExclusive)
		if err != nil || !ok {
			// An flock locker opened it first: it is theirs now.
			f.Close()
			return nil, lockError(err, name)
		}
		return f, writePID(f, name)
	case errors.Is(err, fs.ErrExist):
		f, err = openRegular(name, "cache lock file", os.O_RDWR)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // deleted meanwhile: try again
	}
	if err != nil {
		return nil, err
	}
	ok, err := tryLock(f, lockExclusive)
	if err != nil || !ok {
		f.Close()
		return nil, lockError(err, name)
	}
	if heldWithoutFlock(f) || !stillAt(f, name) {
		unlockFile(f)
		f.Close()
		return nil, nil
	}
	// A holder that died: take its file over.
	if err := f.Truncate(0); err != nil {
		unlockFile(f)
		f.Close()
		return nil, lockError(err, name)
	}
	return f, writePID(f, name)
}

// heldWithoutFlock reports a lock file that a live process holds without
// flock: its pid is of a live process, or it is empty and new.
func heldWithoutFlock(f *os.File) bool {
	head := make([]byte, 64)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	if len(bytes.TrimSpace(head)) == 0 {
		fi, err := f.Stat()
		return err != nil || time.Since(fi.ModTime()) < freshLock
	}
	// "<pid>" (MSAL Node), "<pid> <program>" (MSAL Python) or
	// "{<pid>} {<program>}" (MSAL Go's extensions).
	field, _, _ := bytes.Cut(bytes.TrimSpace(head), []byte(" "))
	pid, err := strconv.Atoi(string(bytes.Trim(field, "{}")))
	if err != nil || pid <= 0 {
		fi, err := f.Stat()
		return err != nil || time.Since(fi.ModTime()) < freshLock
	}
	return processAlive(pid)
}

// stillAt reports whether name still names the open file f.
func stillAt(f *os.File, name string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Lstat(name)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

func writePID(f *os.File, name string) error {
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0); err != nil && !errors.Is(err, io.EOF) {
		os.Remove(name)
		unlockFile(f)
		f.Close()
		return lockError(err, name)
	}
	return nil
}

func lockError(err error, name string) error {
	if err == nil {
		return nil
	}
	return errs.Wrap(entra.CodeCacheStorage, err, "cannot lock the cache lock file %s", name)
}
