//go:build !unix

package main

import (
	"errors"
	"io/fs"
	"os"
)

// lockHeld cannot test the lock here; it reports whether the file exists.
func lockHeld(path string) (held, exists bool, err error) {
	_, err = os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	return false, err == nil, errors.New("testing the lock is supported on Unix only")
}
