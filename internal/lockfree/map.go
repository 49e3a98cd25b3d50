// Package lockfree is a hash map that readers use without a lock and
// without writing anything shared, so that lookups on many cores do not
// contend on a lock's reader count: the token cache's hit path.
package lockfree

import (
	"hash/maphash"
	"iter"
	"sync/atomic"
)

// Map is a hash table whose chains are never changed once published.
// Get is safe at any time; Set, Delete and Clear must be serialized by
// the caller (a mutex its writers hold). Writers publish a new chain for
// the bucket they change, and a new table when it grows. sync.Map would
// do the same, but hashes its keys through interfaces, at twice the cost
// of a lookup here. The zero Map is not usable: call New.
type Map[K comparable, V comparable] struct {
	table atomic.Pointer[table[K, V]]
	seed  maphash.Seed
	n     int // entries; guarded by the writers' serialization
}

type table[K comparable, V comparable] struct {
	buckets []atomic.Pointer[node[K, V]]
}

// node is an entry of a chain. It is never changed once published: a
// reader walking an old chain sees a consistent, if stale, list.
type node[K comparable, V comparable] struct {
	key   K
	value V
	next  *node[K, V]
}

// minBuckets is the size of a new table; it doubles when the entries
// outnumber the buckets twice.
const minBuckets = 8

// New returns an empty map.
func New[K comparable, V comparable]() *Map[K, V] {
	m := &Map[K, V]{seed: maphash.MakeSeed()}
	m.Clear()
	return m
}

func (t *table[K, V]) bucket(h uint64) *atomic.Pointer[node[K, V]] {
	return &t.buckets[h&uint64(len(t.buckets)-1)]
}

// Get returns k's value.
func (m *Map[K, V]) Get(k *K) (v V, ok bool) {
	for n := m.table.Load().bucket(maphash.Comparable(m.seed, *k)).Load(); n != nil; n = n.next {
		if n.key == *k {
			return n.value, true
		}
	}
	return v, false
}

// Len is the number of entries. Writers' serialization must be held.
func (m *Map[K, V]) Len() int { return m.n }

// Set stores v under k and returns the value it replaced, if any.
func (m *Map[K, V]) Set(k K, v V) (old V, replaced bool) {
	b := m.table.Load().bucket(maphash.Comparable(m.seed, k))
	head := b.Load()
	if old, ok := find(head, k); ok {
		b.Store(without(head, k, &node[K, V]{key: k, value: v}))
		return old, true
	}
	b.Store(&node[K, V]{key: k, value: v, next: head})
	if m.n++; m.n > 2*len(m.table.Load().buckets) {
		m.grow()
	}
	return old, false
}

// Delete removes k's entry if its value is still v.
func (m *Map[K, V]) Delete(k K, v V) bool {
	b := m.table.Load().bucket(maphash.Comparable(m.seed, k))
	head := b.Load()
	if cur, ok := find(head, k); !ok || cur != v {
		return false
	}
	b.Store(without(head, k, nil))
	m.n--
	return true
}

// Clear publishes an empty table.
func (m *Map[K, V]) Clear() {
	m.table.Store(&table[K, V]{buckets: make([]atomic.Pointer[node[K, V]], minBuckets)})
	m.n = 0
}

func find[K comparable, V comparable](head *node[K, V], k K) (v V, ok bool) {
	for n := head; n != nil; n = n.next {
		if n.key == k {
			return n.value, true
		}
	}
	return v, false
}

// without is the chain head with k's node replaced by with (dropped if
// nil): the nodes before it are copied, the ones after it shared.
func without[K comparable, V comparable](head *node[K, V], k K, with *node[K, V]) *node[K, V] {
	if head.key == k {
		if with == nil {
			return head.next
		}
		with.next = head.next
		return with
	}
	return &node[K, V]{key: head.key, value: head.value, next: without(head.next, k, with)}
}

// grow publishes a table of twice as many buckets, of new nodes: readers
// may still walk the old chains.
func (m *Map[K, V]) grow() {
	old := m.table.Load()
	t := &table[K, V]{buckets: make([]atomic.Pointer[node[K, V]], 2*len(old.buckets))}
	for i := range old.buckets {
		for n := old.buckets[i].Load(); n != nil; n = n.next {
			b := t.bucket(maphash.Comparable(m.seed, n.key))
			b.Store(&node[K, V]{key: n.key, value: n.value, next: b.Load()})
		}
	}
	m.table.Store(t)
}

// All yields every entry of the table as it is when called; writers may
// change the map meanwhile.
func (m *Map[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		t := m.table.Load()
		for i := range t.buckets {
			for n := t.buckets[i].Load(); n != nil; n = n.next {
				if !yield(n.key, n.value) {
					return
				}
			}
		}
	}
}
