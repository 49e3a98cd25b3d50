//go:build unix

package main

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// lockHeld reports whether another process holds the lock file's lock,
// trying it without waiting and releasing it at once. A missing lock file
// is not created.
func lockHeld(path string) (held, exists bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, true, err
	}
	defer f.Close()
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); {
	case errors.Is(err, syscall.EWOULDBLOCK):
		return true, true, nil
	case err != nil:
		return false, true, err
	}
	return false, true, syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
