package main

import (
	"context"
	"log/slog"

	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/cache/filestore"
	"github.com/entra-go/entra/internal/tokencache"
)

// openCache opens the --cache file; "" means an in-memory cache. A file
// that is not a cache (corrupt, truncated) is refused here, with
// invalid_cache_data, rather than worked around in memory as a
// long-running client does.
func openCache(ctx context.Context, path string, e env) (cache.Storage, error) {
	if path == "" {
		return nil, nil
	}
	store, err := filestore.Open(path, filestore.Options{Logger: e.logger()})
	if err != nil {
		return nil, err
	}
	if _, err := tokencache.Open(ctx, store); err != nil {
		return nil, err
	}
	return store, nil
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
