//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package filestore

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

type lockKind int

const (
	lockShared    lockKind = syscall.LOCK_SH
	lockExclusive lockKind = syscall.LOCK_EX
)

// enforceMode: unix permissions say who may read the file.
const enforceMode = true

// noFollow makes open fail on a symbolic link, so a link planted after
// the Lstat check is not followed either.
const noFollow = syscall.O_NOFOLLOW

// tryLock takes an flock lock without blocking; ok is false if another
// holder has it.
func tryLock(f *os.File, kind lockKind) (ok bool, err error) {
	err = syscall.Flock(int(f.Fd()), int(kind)|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

func unlockFile(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// syncDir flushes a folder so a rename in it survives a crash.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// inode is the file's inode number.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// processAlive reports whether a process of that id runs (signal 0 checks
// without sending; EPERM means it runs as another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
