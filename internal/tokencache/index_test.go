package tokencache

import (
	"fmt"
	"sync"
	"testing"
)

func keyPtr(k atKey) *atKey { return &k }

func indexKey(i int) atKey {
	return atKey{Key: Key{Environment: "login.windows.net", ClientID: "c", Tenant: fmt.Sprint("t", i)}, scopes: uint64(i % 3)}
}

// TestIndex: entries survive growth, replacing and deleting; a delete of a
// slot that was replaced meanwhile leaves the new one.
func TestIndex(t *testing.T) {
	x := newATIndex()
	const n = 1000 // grows the table seven times
	slots := make([]*atSlot, n)
	for i := range n {
		slots[i] = &atSlot{secret: fmt.Sprint("s", i)}
		if _, replaced := x.set(indexKey(i), slots[i]); replaced {
			t.Fatalf("key %d replaced something", i)
		}
	}
	if x.n != n || len(x.table.Load().buckets) < n/2 {
		t.Fatalf("n = %d, %d buckets", x.n, len(x.table.Load().buckets))
	}
	for i := range n {
		if got, ok := x.get(keyPtr(indexKey(i))); !ok || got != slots[i] {
			t.Fatalf("get(%d) = %v, %t", i, got, ok)
		}
	}
	newer := &atSlot{secret: "newer"}
	if old, replaced := x.set(indexKey(7), newer); !replaced || old != slots[7] {
		t.Fatalf("replace returned %v, %t", old, replaced)
	}
	if x.delete(indexKey(7), slots[7]) {
		t.Fatal("a stale slot's delete removed its replacement")
	}
	if !x.delete(indexKey(8), slots[8]) || x.delete(indexKey(8), slots[8]) {
		t.Fatal("delete of a current slot, then again")
	}
	seen := 0
	for k, s := range x.all() {
		seen++
		if k == indexKey(8) || (k == indexKey(7) && s != newer) {
			t.Fatalf("all() yields %v", k)
		}
	}
	if _, ok := x.get(keyPtr(indexKey(8))); ok || seen != n-1 || x.n != n-1 {
		t.Fatalf("after the delete: found %t, %d yielded, n = %d", ok, seen, x.n)
	}
}

// TestIndexReadersDuringWrites: lock-free readers always find the entries
// that are never removed while a writer adds, replaces and removes others
// and grows the table (run with -race).
func TestIndexReadersDuringWrites(t *testing.T) {
	x := newATIndex()
	var mu sync.Mutex // Cache.mu's part
	stable := &atSlot{secret: "stable"}
	for i := range 10 {
		x.set(indexKey(i), stable)
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
					if s, ok := x.get(keyPtr(indexKey(i))); !ok || s != stable {
						t.Errorf("key %d lost during writes", i)
						return
					}
				}
			}
		})
	}
	var prev *atSlot
	for i := 10; i < 5000; i++ {
		mu.Lock()
		x.set(indexKey(i), &atSlot{})
		s := &atSlot{}
		x.set(indexKey(i), s) // replaced
		if i%2 == 1 && !x.delete(indexKey(i-1), prev) {
			t.Errorf("key %d not deleted", i-1)
		}
		prev = s
		mu.Unlock()
	}
	close(done)
	wg.Wait()
}
