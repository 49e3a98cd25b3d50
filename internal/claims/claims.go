package claims

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// Canonicalize parses a JSON claims request strictly and returns its canonical form.
// Blank input (empty or only JSON whitespace) returns "", nil.
//
// Errors are *entra.Error with code entra.CodeInvalidJSONClaims; see the
// package documentation for what is refused.
func Canonicalize(claimsJSON string) (string, error) {
	if isBlank(claimsJSON) {
		return "", nil
	}
	root, err := parse(claimsJSON)
	if err != nil {
		return "", err
	}
	return encode(root), nil
}

// Merge merges JSON objects left to right (later layers win) and returns the canonical result.
// Blank layers are skipped; all blank → "".
//
// Objects merge recursively; when both values are arrays they are
// concatenated, earlier elements first; any other collision takes the later
// value, except that a later null never replaces an existing value. Every
// layer is validated like [Canonicalize] and the first invalid layer's error
// is returned.
func Merge(layers ...string) (string, error) {
	var acc *node
	for _, layer := range layers {
		if isBlank(layer) {
			continue
		}
		n, err := parse(layer)
		if err != nil {
			return "", err
		}
		if acc == nil {
			acc = n
		} else {
			acc = mergeValues(acc, n)
		}
	}
	if acc == nil {
		return "", nil
	}
	return encode(acc), nil
}

// WithCapabilities merges {"access_token":{"xms_cc":{"values":[caps...]}}} into claims
// (claims may be blank; no capabilities → Canonicalize(claims)). Capability names are
// kept in the given order; blank ones are skipped.
//
// The capabilities are the later layer of a [Merge], so values already present
// under access_token.xms_cc.values come first. A capability name that is not
// valid UTF-8 is refused with entra.CodeInvalidJSONClaims.
func WithCapabilities(claimsJSON string, capabilities []string) (string, error) {
	values := &node{kind: kindArray}
	for _, c := range capabilities {
		if strings.TrimSpace(c) == "" {
			continue
		}
		if !utf8.ValidString(c) {
			return "", invalid(msgCapability)
		}
		values.elems = append(values.elems, &node{kind: kindString, text: c})
	}
	if len(values.elems) == 0 {
		return Canonicalize(claimsJSON)
	}
	caps := object("access_token", object("xms_cc", object("values", values)))
	if isBlank(claimsJSON) {
		return encode(caps), nil
	}
	root, err := parse(claimsJSON)
	if err != nil {
		return "", err
	}
	return encode(mergeValues(root, caps)), nil
}

// KeyHash returns a short, stable cache-key component for canonical claims:
// base64url (unpadded) SHA-256 of the canonical text. "" for "".
//
// It hashes its argument as given; pass the result of [Canonicalize],
// [Merge] or [WithCapabilities] so that equivalent claims share a key.
func KeyHash(canonical string) string {
	if canonical == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// object returns a one-member object.
func object(key string, value *node) *node {
	return &node{kind: kindObject, members: []member{{key: key, value: value}}}
}

// mergeValues merges later into earlier without modifying either; the
// result may share unchanged subtrees with them.
func mergeValues(earlier, later *node) *node {
	switch {
	case later.kind == kindNull:
		// A null in a later layer means "no opinion", never "remove".
		return earlier
	case earlier.kind == kindObject && later.kind == kindObject:
		return mergeObjects(earlier, later)
	case earlier.kind == kindArray && later.kind == kindArray:
		elems := make([]*node, 0, len(earlier.elems)+len(later.elems))
		elems = append(elems, earlier.elems...)
		elems = append(elems, later.elems...)
		return &node{kind: kindArray, elems: elems}
	default:
		return later
	}
}

// mergeObjects merges two objects whose members are sorted by key, keeping
// the result sorted.
func mergeObjects(a, b *node) *node {
	out := make([]member, 0, len(a.members)+len(b.members))
	i, j := 0, 0
	for i < len(a.members) && j < len(b.members) {
		ma, mb := a.members[i], b.members[j]
		switch {
		case ma.key < mb.key:
			out = append(out, ma)
			i++
		case ma.key > mb.key:
			out = append(out, mb)
			j++
		default:
			out = append(out, member{key: ma.key, value: mergeValues(ma.value, mb.value)})
			i++
			j++
		}
	}
	out = append(out, a.members[i:]...)
	out = append(out, b.members[j:]...)
	return &node{kind: kindObject, members: out}
}
