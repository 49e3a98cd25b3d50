package main

import (
	"context"
	"log/slog"

	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/cache/filestore"
)

// openCache opens the --cache file; "" means an in-memory cache.
func openCache(ctx context.Context, path string, e env) (*cache.Cache, error) {
	if path == "" {
		return nil, nil
	}
	store, err := filestore.Open(path, filestore.Options{Logger: e.logger()})
	if err != nil {
		return nil, err
	}
	return cache.Open(ctx, store)
}

// logger prints warnings (a cache file that was readable by others, a
// cache write that failed) on stderr; it never carries secrets.
func (e env) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
