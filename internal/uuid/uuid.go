// Package uuid makes random (version 4) UUIDs for correlation ids,
// assertion ids and emulator identifiers.
package uuid

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns a random UUID in its 36-character text form. crypto/rand
// never fails on supported platforms (Go 1.24+ panics rather than return an
// error), so neither does New.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}
