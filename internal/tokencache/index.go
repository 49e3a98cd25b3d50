package tokencache

import (
	"iter"
	"sync"
)

// atIndex holds the access tokens. Hits read it without a lock and
// without writing anything shared (sync.Map's hash trie loads atomic
// pointers only), so that hits on many cores do not contend on a lock's
// reader count; writers are serialized by Cache.mu.
type atIndex struct {
	m sync.Map // atKey → *atSlot; a slot is never changed once stored
	n int      // entries; guarded by Cache.mu
}

func (x *atIndex) get(ak *atKey) (*atSlot, bool) {
	v, ok := x.m.Load(*ak)
	if !ok {
		return nil, false
	}
	return v.(*atSlot), true
}

// set stores slot under ak and returns the slot it replaced, if any.
func (x *atIndex) set(ak atKey, slot *atSlot) (old *atSlot, replaced bool) {
	prev, loaded := x.m.Swap(ak, slot)
	if !loaded {
		x.n++
		return nil, false
	}
	return prev.(*atSlot), true
}

// delete removes ak's slot if it is still slot.
func (x *atIndex) delete(ak atKey, slot *atSlot) bool {
	if x.m.CompareAndDelete(ak, slot) {
		x.n--
		return true
	}
	return false
}

// all yields every entry; entries may be deleted meanwhile.
func (x *atIndex) all() iter.Seq2[atKey, *atSlot] {
	return func(yield func(atKey, *atSlot) bool) {
		x.m.Range(func(k, v any) bool { return yield(k.(atKey), v.(*atSlot)) })
	}
}
