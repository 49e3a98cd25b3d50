package uuid

import (
	"regexp"
	"testing"
)

var form = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNew(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		u := New()
		if !form.MatchString(u) || seen[u] {
			t.Fatalf("%q is not a fresh v4 UUID", u)
		}
		seen[u] = true
	}
}
