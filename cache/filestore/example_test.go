//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package filestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/entra-go/entra/cache/filestore"
	"github.com/entra-go/entra/internal/tokencache"
)

// A token cache that lasts across runs and is shared by processes: give it
// to confidential.Config.Cache or managedidentity.Config.Cache.
func Example() {
	dir, _ := os.MkdirTemp("", "entra-example-")
	defer os.RemoveAll(dir)
	store, err := filestore.Open(filepath.Join(dir, "msal_cache.json"), filestore.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := tokencache.Open(context.Background(), store)
	if err != nil {
		fmt.Println(err) // e.g. invalid_cache_data for a corrupt file, which is left as it is
		return
	}
	fmt.Println(c.Len())
	// Output: 0
}
