// Package filestore keeps a token cache in a file, in the cross-MSAL
// schema, shared safely by the processes that use it.
//
// Readers and writers hold the lock of a sibling lock file
// (path + ".lockfile", the name MSAL's extensions and azidentity use) for
// their whole read or read-modify-write, so processes writing
// concurrently lose no entries, those of other MSALs included (see
// lockfile.go for how the lock excludes both kinds of their locks). A write replaces the file atomically (temporary file,
// fsync, rename, fsync of the folder): a crash leaves the old file or the
// new one, never a mix. The file and its lock are created with mode 0600
// in a folder created 0700.
//
// The file and its lock are never followed through a symbolic link, and
// must be regular files: a link (even one pointing to a regular file, or
// to nothing), a directory or a device at either path is refused with
// entra.CodeCacheStorage, and left as it is, as is whatever a link points
// to. Whoever can plant a link there could otherwise have the tokens
// written to, or a mode changed on, a file of their choosing.
//
// A cache file that group or others may read is a leak of every token in
// it. This package fixes such a file to 0600 when it opens it for reading
// or writing and logs a warning naming the file and its old mode; if the
// mode cannot be changed (the file belongs to another user) it refuses the
// file with entra.CodeCacheStorage.
package filestore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"hash/maphash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/internal/errs"
)

// Options configure a Store.
type Options struct {
	// Logger receives the warning about a file readable by others; nil
	// discards it.
	Logger *slog.Logger
}

// store is a cache.Storage in one file. It is safe for concurrent use,
// by goroutines and by processes.
type store struct {
	path   string
	logger *slog.Logger
	// writers excludes the goroutines of this process from each other
	// (flock locks belong to open files, so two goroutines would both get
	// one); a weighted semaphore, so that waiting for it honours ctx.
	writers *semaphore.Weighted
	// reads counts the reads of the file's contents, for tests.
	reads atomic.Int64
	// seed and versions remember the contents of the versions of the file
	// this store read or wrote, by hash.
	seed     maphash.Seed
	mu       sync.Mutex
	versions map[string]uint64
}

var _ cache.VersionedStorage = (*store)(nil)

// Open returns a store for the file at path. It creates nothing until the
// first write.
func Open(path string, opts Options) (cache.Storage, error) {
	if path == "" {
		return nil, errs.New(entra.CodeInvalidArgument, "the cache file path is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, errs.Wrap(entra.CodeInvalidArgument, err, "the cache file path %q cannot be made absolute", path)
	}
	// Lstat: a link is refused as it is, whatever it points to.
	if fi, err := os.Lstat(abs); err == nil && !fi.Mode().IsRegular() {
		return nil, errs.New(entra.CodeInvalidArgument, "the cache file %s is %s", abs, notRegularKind(fi.Mode()))
	}
	return &store{path: abs, logger: opts.Logger, writers: semaphore.NewWeighted(1),
		seed: maphash.MakeSeed(), versions: map[string]uint64{}}, nil
}

// Load returns the file's contents, nil if it does not exist yet.
func (s *store) Load(ctx context.Context, _ string) ([]byte, error) {
	data, _, err := s.LoadIfChanged(ctx, "", unknownVersion)
	return data, err
}

// unknownVersion is no file's version: whatever is stored is read.
const unknownVersion = "?"

// LoadIfChanged returns the file's contents and version, or nothing if
// the version is still since: then the file is not read.
func (s *store) LoadIfChanged(ctx context.Context, _, since string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", canceled(err)
	}
	if s.unchanged(since) {
		return nil, since, nil
	}
	if err := s.writers.Acquire(ctx, 1); err != nil {
		return nil, "", canceled(err)
	}
	defer s.writers.Release(1)
	unlock, err := s.lock(ctx, lockShared)
	if err != nil {
		return nil, "", err
	}
	defer unlock()
	return s.readIfChanged(since, false)
}

// unchanged reports, without the lock, that the file's version is still
// since, so that a miss on an unchanged file neither reads it nor creates
// and deletes the lock file. Skipping a read is always safe: at worst a
// write in progress is seen at the next miss, and writes check the
// contents under the lock.
func (s *store) unchanged(since string) bool {
	fi, err := os.Lstat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return since == ""
	}
	return err == nil && fi.Mode().IsRegular() && versionOf(fi) == since
}

// Update calls fn with the file's contents (nil if it does not exist)
// while holding the lock, and replaces the file with what fn returns. If fn
// fails or returns nil, the file is left as it was.
func (s *store) Update(ctx context.Context, _ string, fn func(stored []byte) ([]byte, error)) error {
	_, err := s.update(ctx, unknownVersion, func(stored []byte, version string) (string, error) {
		next, err := fn(stored)
		if err != nil || next == nil {
			return version, err
		}
		return s.replace(func(w io.Writer) error {
			_, err := w.Write(next)
			return err
		})
	})
	return err
}

// UpdateIfChanged is Update that reads the file only if its version is no
// longer since, streams what fn writes to the new file, and returns the
// version of the file it leaves.
func (s *store) UpdateIfChanged(ctx context.Context, _, since string, fn func(stored []byte, changed bool, w io.Writer) error) (string, error) {
	return s.update(ctx, since, func(stored []byte, version string) (string, error) {
		return s.replace(func(w io.Writer) error { return fn(stored, version != since, w) })
	})
}

// update calls write with the file's contents, or nil if it is unchanged
// since, and its version, holding the lock for writers.
func (s *store) update(ctx context.Context, since string, write func(stored []byte, version string) (string, error)) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", canceled(err)
	}
	if err := s.writers.Acquire(ctx, 1); err != nil {
		return "", canceled(err)
	}
	defer s.writers.Release(1)
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return "", s.ioError(err, "cannot create the cache file's folder")
	}
	unlock, err := s.lock(ctx, lockExclusive)
	if err != nil {
		return "", err
	}
	defer unlock()
	// Verified: a write over entries another process added would lose
	// them, so the contents are checked too, not only the version.
	stored, version, err := s.readIfChanged(since, true)
	if err != nil {
		return "", err
	}
	s.removeLeftovers()
	return write(stored, version)
}

// removeLeftovers deletes the temporary files of writers that died before
// their rename: whole copies of the cache, which should not linger. Only a
// writer holding the exclusive lock calls it, so none is in use.
func (s *store) removeLeftovers() {
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(s.path), globEscape(filepath.Base(s.path))+".tmp-*"))
	for _, f := range leftovers {
		os.Remove(f)
	}
}

// globEscape quotes the pattern characters of a file name.
func globEscape(name string) string {
	var b strings.Builder
	for _, r := range name {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// readIfChanged returns the file's contents and version, fixing a mode
// that exposes them; nothing but the version if it is still since. With
// verify, the contents are read whatever the version says and compared
// with those seen at since: a file system with coarse times could show an
// in-place write of the same size, or a reused inode, as no change.
func (s *store) readIfChanged(since string, verify bool) ([]byte, string, error) {
	f, err := openRegular(s.path, "cache file", os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	if err := s.checkMode(f); err != nil {
		return nil, "", err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, "", s.ioError(err, "cannot read the cache file's attributes")
	}
	version := versionOf(fi)
	if version == since {
		if !verify {
			return nil, version, nil
		}
		// Hashed as it streams by: unchanged contents, the usual case,
		// cost no buffer the size of the file.
		sum, err := s.hashFile(f)
		if err != nil {
			return nil, "", err
		}
		if s.seen(version, sum) {
			return nil, version, nil
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, "", s.ioError(err, "cannot read the cache file")
		}
	}
	s.reads.Add(1)
	data, err := readAll(f, fi.Size())
	if err != nil {
		return nil, "", s.ioError(err, "cannot read the cache file")
	}
	sum := s.contentHash(data)
	if version == since {
		version += "-" + strconv.FormatUint(sum, 16) // the same attributes, other contents
	}
	s.remember(version, sum)
	return data, version, nil
}

// hashFile is the contentHash of f's contents.
func (s *store) hashFile(f io.Reader) (uint64, error) {
	s.reads.Add(1)
	var h maphash.Hash
	h.SetSeed(s.seed)
	if _, err := io.CopyBuffer(&h, struct{ io.Reader }{f}, make([]byte, 64<<10)); err != nil {
		return 0, s.ioError(err, "cannot read the cache file")
	}
	return h.Sum64(), nil
}

// readAll reads f, of about size bytes, into one buffer of that size
// (io.ReadAll would grow it, allocating about twice the file).
func readAll(f io.Reader, size int64) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, max(size, 0)+bytes.MinRead))
	_, err := buf.ReadFrom(f)
	return buf.Bytes(), err
}

// contentHash identifies contents, to tell whether a file changed.
func (s *store) contentHash(data []byte) uint64 { return maphash.Bytes(s.seed, data) }

// maxVersions bounds the versions remembered.
const maxVersions = 64

// remember records the contents of a version of the file.
func (s *store) remember(version string, sum uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.versions) >= maxVersions {
		clear(s.versions)
	}
	s.versions[version] = sum
}

// seen reports whether version had contents sum when it was read or
// written.
func (s *store) seen(version string, sum uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	known, ok := s.versions[version]
	return ok && known == sum
}

// versionOf tells one state of the file from another: a writer replaces
// the file (a new inode), and its size and modification time change with
// its content.
func versionOf(fi fs.FileInfo) string {
	return strconv.FormatUint(inode(fi), 10) + "-" + strconv.FormatInt(fi.Size(), 10) + "-" + strconv.FormatInt(fi.ModTime().UnixNano(), 10)
}

// replace writes what write writes to a temporary file and renames it
// over the file, and returns the version of the new file.
func (s *store) replace(write func(io.Writer) error) (version string, err error) {
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(s.path)+".tmp-*")
	if err != nil {
		return "", s.ioError(err, "cannot create a temporary file next to the cache file")
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return "", s.ioError(err, "cannot restrict the temporary cache file's mode")
	}
	// Hashed as it is written, to know the file as ours when next read.
	var h maphash.Hash
	h.SetSeed(s.seed)
	out := &fileWriter{w: bufio.NewWriterSize(io.MultiWriter(tmp, &h), 64<<10)}
	if err := write(out); err != nil {
		if out.err != nil {
			return "", s.ioError(out.err, "cannot write the cache file")
		}
		return "", err
	}
	if err := out.w.Flush(); err != nil {
		return "", s.ioError(err, "cannot write the cache file")
	}
	if err := tmp.Sync(); err != nil {
		return "", s.ioError(err, "cannot flush the cache file")
	}
	fi, err := tmp.Stat() // a rename keeps the inode, size and modification time
	if err != nil {
		return "", s.ioError(err, "cannot read the cache file's attributes")
	}
	if err := tmp.Close(); err != nil {
		return "", s.ioError(err, "cannot write the cache file")
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return "", s.ioError(err, "cannot replace the cache file")
	}
	syncDir(dir) // the rename is durable once the folder is flushed
	version = versionOf(fi)
	s.remember(version, h.Sum64())
	return version, nil
}

// fileWriter remembers a failure to write the file, to report it as the
// store's own error whatever the writer makes of it.
type fileWriter struct {
	w   *bufio.Writer
	err error
}

func (f *fileWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil && f.err == nil {
		f.err = err
	}
	return n, err
}

// checkMode fixes a cache file that group or others may access.
func (s *store) checkMode(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return s.ioError(err, "cannot read the cache file's mode")
	}
	mode := fi.Mode().Perm()
	if mode&0o077 == 0 || !enforceMode {
		return nil
	}
	if err := f.Chmod(0o600); err != nil {
		return errs.Wrap(entra.CodeCacheStorage, err,
			"the cache file %s has mode %v, readable by other users, and its mode cannot be changed; run chmod 600 on it", s.path, mode)
	}
	if s.logger != nil {
		s.logger.Warn("entra: the cache file was readable by other users; its mode is now 0600",
			"path", s.path, "old_mode", mode.String())
	}
	return nil
}

// openRegular opens name (created 0600 if flag says so), refusing anything
// but a regular file without touching it. Lstat gives the refusal its
// reason; noFollow closes the gap between Lstat and open, in which a link
// could be planted; Stat of the open file catches a directory planted in
// that gap. A missing file's error matches fs.ErrNotExist.
func openRegular(name, what string, flag int) (*os.File, error) {
	if fi, err := os.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return nil, notRegular(name, what, fi.Mode())
	}
	f, err := os.OpenFile(name, flag|noFollow, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		// A link planted after Lstat makes open fail (ELOOP, or EMLINK
		// on some BSDs); say so rather than pass on the errno.
		if fi, lerr := os.Lstat(name); lerr == nil && !fi.Mode().IsRegular() {
			return nil, notRegular(name, what, fi.Mode())
		}
		return nil, errs.Wrap(entra.CodeCacheStorage, err, "cannot open the %s %s", what, name)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		f.Close()
		return nil, notRegular(name, what, fi.Mode())
	}
	if err != nil {
		f.Close()
		return nil, errs.Wrap(entra.CodeCacheStorage, err, "cannot read the mode of the %s %s", what, name)
	}
	return f, nil
}

// notRegular refuses name; the message names the path and what is there,
// never where a link points.
func notRegular(name, what string, mode fs.FileMode) error {
	return errs.New(entra.CodeCacheStorage, "the %s %s is %s; it is left as it is", what, name, notRegularKind(mode))
}

func notRegularKind(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeSymlink != 0:
		return "a symbolic link, which is not followed"
	case mode.IsDir():
		return "a directory"
	}
	return "not a regular file"
}

func (s *store) ioError(err error, msg string) error {
	return errs.Wrap(entra.CodeCacheStorage, err, "%s %s", msg, s.path)
}

func canceled(err error) error {
	return errs.Wrap(entra.CodeCanceled, err, "the cache file operation was canceled")
}
