package lockfree

import (
	"fmt"
	"sync"
	"testing"
)

// key is a key of the kind the token cache uses: strings and a hash.
type key struct {
	environment, client, tenant string
	scopes                      uint64
}

type slot struct{ secret string }

func keyPtr(k key) *key { return &k }

func indexKey(i int) key {
	return key{environment: "login.windows.net", client: "c", tenant: fmt.Sprint("t", i), scopes: uint64(i % 3)}
}

// TestMap: entries survive growth, replacing and deleting; a delete of a
// slot that was replaced meanwhile leaves the new one.
func TestMap(t *testing.T) {
	x := New[key, *slot]()
	const n = 1000 // grows the table seven times
	slots := make([]*slot, n)
	for i := range n {
		slots[i] = &slot{secret: fmt.Sprint("s", i)}
		if _, replaced := x.Set(indexKey(i), slots[i]); replaced {
			t.Fatalf("key %d replaced something", i)
		}
	}
	if x.Len() != n || len(x.table.Load().buckets) < n/2 {
		t.Fatalf("n = %d, %d buckets", x.Len(), len(x.table.Load().buckets))
	}
	for i := range n {
		if got, ok := x.Get(keyPtr(indexKey(i))); !ok || got != slots[i] {
			t.Fatalf("get(%d) = %v, %t", i, got, ok)
		}
	}
	newer := &slot{secret: "newer"}
	if old, replaced := x.Set(indexKey(7), newer); !replaced || old != slots[7] {
		t.Fatalf("replace returned %v, %t", old, replaced)
	}
	if x.Delete(indexKey(7), slots[7]) {
		t.Fatal("a stale slot's delete removed its replacement")
	}
	if !x.Delete(indexKey(8), slots[8]) || x.Delete(indexKey(8), slots[8]) {
		t.Fatal("delete of a current slot, then again")
	}
	seen := 0
	for k, s := range x.All() {
		seen++
		if k == indexKey(8) || (k == indexKey(7) && s != newer) {
			t.Fatalf("all() yields %v", k)
		}
	}
	if _, ok := x.Get(keyPtr(indexKey(8))); ok || seen != n-1 || x.Len() != n-1 {
		t.Fatalf("after the delete: found %t, %d yielded, n = %d", ok, seen, x.Len())
	}
}

// TestReadersDuringWrites: lock-free readers always find the entries
// that are never removed while a writer adds, replaces and removes others
// and grows the table (run with -race).
func TestReadersDuringWrites(t *testing.T) {
	x := New[key, *slot]()
	var mu sync.Mutex // the writers' serialization
	stable := &slot{secret: "stable"}
	for i := range 10 {
		x.Set(indexKey(i), stable)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				for i := range 10 {
					if s, ok := x.Get(keyPtr(indexKey(i))); !ok || s != stable {
						t.Errorf("key %d lost during writes", i)
						return
					}
				}
			}
		})
	}
	var prev *slot
	for i := 10; i < 5000; i++ {
		mu.Lock()
		x.Set(indexKey(i), &slot{})
		s := &slot{}
		x.Set(indexKey(i), s) // replaced
		if i%2 == 1 && !x.Delete(indexKey(i-1), prev) {
			t.Errorf("key %d not deleted", i-1)
		}
		prev = s
		mu.Unlock()
	}
	close(done)
	wg.Wait()
}
