package bench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entra-go/entra/cache/filestore"
	"github.com/entra-go/entra/confidential"
)

// fileTokens is how many app tokens the file holds before the writes, and
// fileTokenSize the length of each token.
const fileTokens, fileTokenSize = 10_000, 1_200

// BenchmarkFileStoreWrite compares a cache miss that writes its token into
// a file holding 10,000 tokens (store=entra: the change check, the fetch,
// the verified read and the compact write) with a durable write of the same
// bytes (store=durable-write: a temporary file, fsync, rename). B/op is the
// allocation per write; file-bytes the size of the file.
func BenchmarkFileStoreWrite(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	path := filepath.Join(dir, "msal_cache.json")
	svc := &tokenService{tokenSize: fileTokenSize}
	if err := os.WriteFile(path, fileCacheJSON(b, msalTemplateEntry(b, svc), fileTokens, fileTokenSize), 0o600); err != nil {
		b.Fatal(err)
	}
	next := fileTokens // each write is a new tenant's, in every run
	acquire := func(b *testing.B, client *confidential.Client) {
		next++
		if _, err := client.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: scopes, Tenant: tenantID(next)}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("store=entra", func(b *testing.B) {
		client := newFileClient(b, svc, path)
		acquire(b, client) // the first acquisition loads the file
		for b.Loop() {
			acquire(b, client)
		}
		reportFileSize(b, path)
	})
	b.Run("store=durable-write", func(b *testing.B) {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			durableWrite(b, filepath.Join(dir, "copy.json"), data)
		}
		reportFileSize(b, path)
	})
}

func newFileClient(tb testing.TB, svc *tokenService, path string) *confidential.Client {
	store, err := filestore.Open(path, filestore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return newStoredEntraClient(tb, svc, store)
}

// durableWrite is what any durable replacement of a file costs.
func durableWrite(tb testing.TB, path string, data []byte) {
	f, err := os.CreateTemp(filepath.Dir(path), "tmp-*")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		tb.Fatal(err)
	}
}

func reportFileSize(b *testing.B, path string) {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size()), "file-bytes")
}

// fileCacheJSON is a cross-MSAL cache document holding n tenants' app
// tokens as MSAL Go writes them, each token size bytes long.
func fileCacheJSON(tb testing.TB, template map[string]any, n, size int) []byte {
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal(msalCacheJSON(tb, template, n), &doc); err != nil {
		tb.Fatal(err)
	}
	for _, e := range doc["AccessToken"] {
		e["secret"] = appToken(strings.TrimPrefix(e["secret"].(string), "at-"), size)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}
