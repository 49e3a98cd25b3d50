package encrypted

import (
	"bytes"
	"errors"
	"fmt"
)

// An encrypted document is laid out as
//
//	magic        4 bytes   0x89 'E' 'N' 'C'
//	version      1 byte    1
//	id length    1 byte    1 to 255
//	key id       id length bytes
//	nonce        12 bytes  random, drawn for each write
//	ciphertext             the document, AES-256-GCM
//	tag          16 bytes
//
// and sealed with additional data: everything before the nonce, then what
// the document is bound to (see binding). The first byte alone tells it
// from a document in the clear: 0x89 starts no JSON text, nor any UTF-8
// text at all (it is a continuation byte), so a plaintext cache, a byte
// order mark included, is never taken for an encrypted one.
const (
	magic     = "\x89ENC"
	version1  = 1
	nonceSize = 12
	tagSize   = 16
)

// sealed reports whether doc is in the encrypted format, damaged or not.
func sealed(doc []byte) bool { return len(doc) > 0 && doc[0] == magic[0] }

// appendHeader appends the header of a document encrypted under keyID,
// which NewKey keeps to 1 to 255 bytes.
func appendHeader(b []byte, keyID string) []byte {
	b = append(b, magic...)
	b = append(b, version1, byte(len(keyID)))
	return append(b, keyID...)
}

var errTruncated = errors.New("it is truncated")

// parseHeader splits an encrypted document into its header, the key id
// the header names, and the rest: nonce, ciphertext and tag. It reads
// outside input, so it checks every length before using it; its errors
// describe the document, never quote it.
func parseHeader(doc []byte) (header []byte, keyID string, rest []byte, err error) {
	if len(doc) < len(magic)+2 {
		return nil, "", nil, errTruncated
	}
	if !bytes.HasPrefix(doc, []byte(magic)) {
		return nil, "", nil, errors.New("its header is damaged")
	}
	if v := doc[len(magic)]; v != version1 {
		return nil, "", nil, fmt.Errorf("its format version is %d, which this library does not read (a newer one wrote it?)", v)
	}
	n := int(doc[len(magic)+1])
	if n == 0 {
		return nil, "", nil, errors.New("its key id is empty")
	}
	end := len(magic) + 2 + n
	if len(doc) < end+nonceSize+tagSize {
		return nil, "", nil, errTruncated
	}
	return doc[:end], string(doc[len(magic)+2 : end]), doc[end:], nil
}
