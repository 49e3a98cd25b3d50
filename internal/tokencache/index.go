package tokencache

import (
	"hash/maphash"
	"iter"
	"sync/atomic"
)

// atIndex holds the access tokens: a hash table whose chains are never
// changed once published. Hits read it with atomic loads only, without a
// lock and without writing anything shared, so that hits on many cores do
// not contend on a lock's reader count; writers, serialized by Cache.mu,
// publish a new chain for the bucket they change, and a new table when it
// grows. sync.Map would do the same, but hashes its keys through
// interfaces, at twice the cost of a lookup here.
type atIndex struct {
	table atomic.Pointer[atTable]
	seed  maphash.Seed
	n     int // entries; guarded by Cache.mu
}

type atTable struct {
	buckets []atomic.Pointer[atNode]
}

// atNode is an entry of a chain. It is never changed once published: a
// reader walking an old chain sees a consistent, if stale, list.
type atNode struct {
	key  atKey
	slot *atSlot
	next *atNode
}

// minBuckets is the size of a new table; it doubles when the entries
// outnumber the buckets twice.
const minBuckets = 8

func newATIndex() *atIndex {
	x := &atIndex{seed: maphash.MakeSeed()}
	x.table.Store(&atTable{buckets: make([]atomic.Pointer[atNode], minBuckets)})
	return x
}

func (t *atTable) bucket(h uint64) *atomic.Pointer[atNode] {
	return &t.buckets[h&uint64(len(t.buckets)-1)]
}

func (x *atIndex) get(ak *atKey) (*atSlot, bool) {
	for n := x.table.Load().bucket(maphash.Comparable(x.seed, *ak)).Load(); n != nil; n = n.next {
		if n.key == *ak {
			return n.slot, true
		}
	}
	return nil, false
}

// set stores slot under ak and returns the slot it replaced, if any.
// Cache.mu must be held.
func (x *atIndex) set(ak atKey, slot *atSlot) (old *atSlot, replaced bool) {
	b := x.table.Load().bucket(maphash.Comparable(x.seed, ak))
	head := b.Load()
	if old, ok := find(head, ak); ok {
		b.Store(without(head, ak, &atNode{key: ak, slot: slot}))
		return old, true
	}
	b.Store(&atNode{key: ak, slot: slot, next: head})
	if x.n++; x.n > 2*len(x.table.Load().buckets) {
		x.grow()
	}
	return nil, false
}

// delete removes ak's entry if its slot is still slot. Cache.mu must be
// held.
func (x *atIndex) delete(ak atKey, slot *atSlot) bool {
	b := x.table.Load().bucket(maphash.Comparable(x.seed, ak))
	head := b.Load()
	if cur, ok := find(head, ak); !ok || cur != slot {
		return false
	}
	b.Store(without(head, ak, nil))
	x.n--
	return true
}

func find(head *atNode, ak atKey) (*atSlot, bool) {
	for n := head; n != nil; n = n.next {
		if n.key == ak {
			return n.slot, true
		}
	}
	return nil, false
}

// without is the chain head with ak's node replaced by with (dropped if
// nil): the nodes before it are copied, the ones after it shared.
func without(head *atNode, ak atKey, with *atNode) *atNode {
	if head.key == ak {
		if with == nil {
			return head.next
		}
		with.next = head.next
		return with
	}
	return &atNode{key: head.key, slot: head.slot, next: without(head.next, ak, with)}
}

// grow publishes a table of twice as many buckets, of new nodes: readers
// may still walk the old chains.
func (x *atIndex) grow() {
	old := x.table.Load()
	t := &atTable{buckets: make([]atomic.Pointer[atNode], 2*len(old.buckets))}
	for i := range old.buckets {
		for n := old.buckets[i].Load(); n != nil; n = n.next {
			b := t.bucket(maphash.Comparable(x.seed, n.key))
			b.Store(&atNode{key: n.key, slot: n.slot, next: b.Load()})
		}
	}
	x.table.Store(t)
}

// all yields every entry of the table as it is when called.
func (x *atIndex) all() iter.Seq2[atKey, *atSlot] {
	return func(yield func(atKey, *atSlot) bool) {
		t := x.table.Load()
		for i := range t.buckets {
			for n := t.buckets[i].Load(); n != nil; n = n.next {
				if !yield(n.key, n.slot) {
					return
				}
			}
		}
	}
}
