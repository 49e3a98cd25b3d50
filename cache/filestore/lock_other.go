//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos)

package filestore

import (
	"errors"
	"io/fs"
	"os"
)

type lockKind int

const (
	lockShared lockKind = iota
	lockExclusive
)

// enforceMode: other systems' permissions are not unix mode bits.
const enforceMode = false

// noFollow: no O_NOFOLLOW here; links are still refused by the Lstat
// check, but one planted between that check and open would be followed.
const noFollow = 0

var errNoLock = errors.New("file locking is implemented for unix systems only")

func tryLock(*os.File, lockKind) (bool, error) { return false, errNoLock }

func unlockFile(*os.File) {}

func syncDir(string) {}

// inode is 0 where the file system's inode is not at hand; size and
// modification time then tell versions apart.
func inode(fs.FileInfo) uint64 { return 0 }

// processAlive: unknown here, so a lock file is held while it exists.
func processAlive(int) bool { return true }
