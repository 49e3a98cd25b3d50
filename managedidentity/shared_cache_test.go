package managedidentity_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache/filestore"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

// TestSharedCacheKeepsIdentitiesApart: clients of different identities
// sharing one cache file never get each other's tokens.
func TestSharedCacheKeepsIdentitiesApart(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	shared, err := filestore.Open(filepath.Join(t.TempDir(), "cache.json"), filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var tokens []entra.Token
	for _, id := range []managedidentity.ID{
		managedidentity.SystemAssigned(),
		managedidentity.UserAssignedClientID("c0ffee00-0000-4000-8000-000000000001"),
		managedidentity.UserAssignedObjectID("c0ffee00-0000-4000-8000-000000000001"),
	} {
		c, err := managedidentity.New(managedidentity.Config{ID: id, Getenv: emu.Getenv("imds"), Cache: shared})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
		if err != nil {
			t.Fatal(err)
		}
		if tok.FromCache {
			t.Fatalf("identity %d was served another identity's token", len(tokens))
		}
		tokens = append(tokens, tok)
	}
	if n := len(emu.Requests("imds")); n != 3 {
		t.Fatalf("%d IMDS requests, want 3", n)
	}
}

// TestCacheFileSharedByRunningClients: a client that opened the cache file
// before another process stored a token finds it on its next miss.
func TestCacheFileSharedByRunningClients(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mi_cache.json")
	newClient := func() *managedidentity.Client {
		store, err := filestore.Open(path, filestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		mi, err := managedidentity.New(managedidentity.Config{Getenv: emu.Getenv("imds"), Cache: store})
		if err != nil {
			t.Fatal(err)
		}
		return mi
	}
	first, second := newClient(), newClient() // both opened on an empty file
	a, err := first.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
	if err != nil {
		t.Fatal(err)
	}
	b, err := second.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource})
	if err != nil || !b.FromCache || b.AccessToken != a.AccessToken {
		t.Fatalf("the second client did not find the stored token: %v %v", b, err)
	}
	if n := len(emu.Requests("imds")); n != 1 {
		t.Fatalf("%d IMDS requests, want 1", n)
	}
}
