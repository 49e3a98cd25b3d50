package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/cache/encrypted"
	"github.com/entra-go/entra/cache/filestore"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/tokencache"
)

// cacheFlags name a token cache file and the key that encrypts it.
type cacheFlags struct {
	path, keyEnv, keyFile string
}

// add defines --cache, described by usage, and the flags of its key.
// A required cache is checked after parsing.
func (c *cacheFlags) add(fs *flagSet, usage string, required bool) {
	fs.group("token cache", func() {
		fs.StringVar(&c.path, "cache", "", usage)
		fs.StringVar(&c.keyEnv, "cache-key-env", "", "encrypt the --cache file with the key in this environment variable (`NAME`; base64 of 32 bytes)")
		fs.StringVar(&c.keyFile, "cache-key-file", "", "encrypt the --cache file with the key in this `FILE` (32 bytes, or their base64)")
	})
	fs.check(func() error {
		switch {
		case required && c.path == "":
			return fmt.Errorf("missing --cache: %s reads its accounts and tokens from a cache file", fs.Name())
		case c.keyEnv != "" && c.keyFile != "":
			return fmt.Errorf("give at most one of --cache-key-env and --cache-key-file")
		case (c.keyEnv != "" || c.keyFile != "") && c.path == "":
			return fmt.Errorf("--cache-key-env and --cache-key-file encrypt the --cache file; give --cache")
		}
		return nil
	})
}

// openExisting opens the --cache file, which must exist: a command that
// only reads the cache fails on a missing file, naming it, and creates
// nothing (no file, no lock file).
func (c cacheFlags) openExisting(ctx context.Context, e env) (cache.Storage, error) {
	if _, err := os.Lstat(c.path); errors.Is(err, fs.ErrNotExist) {
		return nil, errs.New(entra.CodeInvalidArgument, "the cache file %s does not exist", c.path)
	}
	return c.open(ctx, e)
}

// open opens the --cache file, encrypted if a key is given; no --cache
// means an in-memory cache. A file that is not a cache (corrupt,
// truncated) is refused here, with invalid_cache_data, rather than worked
// around in memory as a long-running client does. A file the key cannot
// decrypt is not: it may be another key's, and like a client the command
// then fetches its token, keeps it in memory and leaves the file as it is,
// while the library's warning says why.
func (c cacheFlags) open(ctx context.Context, e env) (cache.Storage, error) {
	keyed := c.keyEnv != "" || c.keyFile != ""
	if c.path == "" {
		return nil, nil
	}
	store, err := filestore.Open(c.path, filestore.Options{Logger: e.logger()})
	if err != nil {
		return nil, err
	}
	if keyed {
		if store, err = c.encrypt(store, e); err != nil {
			return nil, err
		}
	}
	if _, err := tokencache.Open(ctx, store); err != nil && entra.ErrorCode(err) != encrypted.CodeDecryptionFailed {
		return nil, err
	}
	return store, nil
}

// encrypt wraps store in the encryption of the key flag given. A cache
// written in the clear is read, and encrypted at its next write.
func (c cacheFlags) encrypt(store cache.Storage, e env) (cache.Storage, error) {
	var key encrypted.Key
	var err error
	if c.keyEnv != "" {
		key, err = encrypted.KeyFromEnv(c.keyEnv, e.getenv)
	} else {
		key, err = encrypted.KeyFromFile(c.keyFile)
	}
	if err != nil {
		return nil, err
	}
	keys, err := encrypted.StaticKeys(key)
	if err != nil {
		return nil, err
	}
	return encrypted.New(store, keys, encrypted.Options{})
}

// logger prints warnings (a cache file that was readable by others, a
// cache write that failed) on stderr, and with --verbose the library's
// debug log; it never carries secrets.
func (e env) logger() *slog.Logger {
	level := slog.LevelWarn
	if e.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}
