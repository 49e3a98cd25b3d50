package tokencache

import "github.com/entra-go/entra/internal/lockfree"

// atIndex holds the access tokens. Hits read it without a lock; writers
// hold Cache.mu.
type atIndex = lockfree.Map[atKey, *atSlot]

func newATIndex() *atIndex { return lockfree.New[atKey, *atSlot]() }
