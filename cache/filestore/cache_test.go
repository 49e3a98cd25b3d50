//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package filestore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/tokencache"
)

// TestProcessesSharingACacheFileLoseNoTokens: 8 processes each store 20
// distinct tokens through tokencache.Open on one file, at the same time; every
// one of the 400 is in the file afterwards.
func TestProcessesSharingACacheFileLoseNoTokens(t *testing.T) {
	t.Parallel()
	if os.Getenv("CACHE_WRITER") != "" {
		t.Skip("in a writer process")
	}
	path := filepath.Join(t.TempDir(), "msal_cache.json")
	const processes, each = 8, 20 // every write re-reads the growing file: O(n²)
	runProcesses(t, "TestCacheWriterProcess", processes, func(p int) []string {
		return []string{"CACHE_WRITER=" + strconv.Itoa(p), "CACHE_PATH=" + path, "CACHE_EACH=" + strconv.Itoa(each)}
	})
	c, err := openCache(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	missing := 0
	for p := range processes {
		for i := range each {
			if _, st := c.Lookup(ptr(writerKey(strconv.Itoa(p), i)), []string{"s/.default"}, now); st != tokencache.Hit {
				missing++
			}
		}
	}
	if missing != 0 || c.Len() != processes*each {
		t.Fatalf("%d of %d tokens missing; the file holds %d", missing, processes*each, c.Len())
	}
}

func writerKey(process string, i int) tokencache.Key {
	return tokencache.Key{Environment: "login.windows.net", ClientID: "c", Tenant: fmt.Sprintf("tenant-%s-%d", process, i)}
}

// TestCacheWriterProcess is a writer process's body; it does nothing in a
// normal run.
func TestCacheWriterProcess(t *testing.T) {
	t.Parallel()
	id := os.Getenv("CACHE_WRITER")
	if id == "" {
		t.Skip("not a writer process")
	}
	each, _ := strconv.Atoi(os.Getenv("CACHE_EACH"))
	c, err := openCache(os.Getenv("CACHE_PATH"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range each {
		at := tokencache.AccessToken{Key: writerKey(id, i), Scopes: []string{"s/.default"}, Secret: "token",
			CachedAt: now, ExpiresOn: now.Add(time.Hour)}
		if err := c.Save(context.Background(), tokencache.Entries{AccessToken: &at}, now); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCorruptCacheFile: a truncated file is reported, and left as it was.
func TestCorruptCacheFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "msal_cache.json")
	truncated := []byte(`{"AccessToken": {"k": {"secret": "at-secret-value", "client_id": "c"`)
	if err := os.WriteFile(path, truncated, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := openCache(path)
	if entra.ErrorCode(err) != entra.CodeInvalidCacheData {
		t.Fatalf("err = %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(truncated) {
		t.Error("the corrupt file was changed")
	}
	if msg := err.Error(); strings.Contains(msg, "at-secret-value") {
		t.Errorf("error %q", msg)
	}
}

// openCache opens a cache on the file at path, as a program does.
func openCache(path string) (*tokencache.Cache, error) {
	store, err := Open(path, Options{})
	if err != nil {
		return nil, err
	}
	return tokencache.Open(context.Background(), store)
}

func ptr[T any](v T) *T { return &v }

// TestReloadOfAnUnchangedFileDoesNotReadIt: a cache miss reloads the file;
// while no other process wrote it, the file is not read again, and once
// one did, the new token is seen.
func TestReloadOfAnUnchangedFileDoesNotReadIt(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "msal_cache.json")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := s.(*store)
	c, err := tokencache.Open(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	save(t, c, writerKey("a", 0), now)
	readsAfterWrite := fs.reads.Load()
	for range 10 {
		if err := c.Reload(context.Background(), ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := fs.reads.Load() - readsAfterWrite; got != 0 {
		t.Fatalf("10 reloads of an unchanged file read it %d times", got)
	}

	other, err := openCache(path) // another process
	if err != nil {
		t.Fatal(err)
	}
	save(t, other, writerKey("b", 0), now)
	if err := c.Reload(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if got := fs.reads.Load() - readsAfterWrite; got != 1 {
		t.Fatalf("a reload after another process wrote read the file %d times, want 1", got)
	}
	if _, st := c.Lookup(ptr(writerKey("b", 0)), []string{"s/.default"}, now); st != tokencache.Hit {
		t.Fatalf("the other process's token is not seen: %v", st)
	}
}

// TestSameSizeWriteWithRestoredTimeIsNotLost: a writer that rewrites the
// file in place with contents of the same size and puts its modification
// time back leaves the version unchanged; the next write still keeps its
// entries, because a write compares the contents it reads.
func TestSameSizeWriteWithRestoredTimeIsNotLost(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "msal_cache.json")
	c, err := openCache(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	save(t, c, writerKey("a", 0), now)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The same document with tenant-a-0 renamed tenant-z-0: same size.
	edited := strings.ReplaceAll(string(data), "tenant-a-0", "tenant-z-0")
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}

	save(t, c, writerKey("b", 0), now)
	after, err := openCache(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"z", "b"} {
		if _, st := after.Lookup(ptr(writerKey(tenant, 0)), []string{"s/.default"}, now); st != tokencache.Hit {
			t.Errorf("tenant-%s-0 was lost: %v", tenant, st)
		}
	}
}

func save(t *testing.T, c *tokencache.Cache, k tokencache.Key, now time.Time) {
	t.Helper()
	at := tokencache.AccessToken{Key: k, Scopes: []string{"s/.default"}, Secret: "token",
		CachedAt: now, ExpiresOn: now.Add(time.Hour)}
	if err := c.Save(context.Background(), tokencache.Entries{AccessToken: &at}, now); err != nil {
		t.Fatal(err)
	}
}
