package entratest

import (
	"bytes"
	"context"
	"sync"

	"github.com/entra-go/entra/cache"
)

// Storage is a cache.Storage in memory, with the locking of a real one:
// clients sharing it behave as processes sharing a cache file. The zero
// value is empty and ready.
type Storage struct {
	mu   sync.Mutex
	data []byte
}

var _ cache.Storage = (*Storage)(nil)

// Load returns the stored document.
func (s *Storage) Load(context.Context, string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.data), nil
}

// Update stores what fn returns for the stored document; nothing when fn
// fails.
func (s *Storage) Update(_ context.Context, _ string, fn func([]byte) ([]byte, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := fn(bytes.Clone(s.data))
	if err != nil {
		return err
	}
	s.data = out
	return nil
}
