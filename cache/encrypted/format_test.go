package encrypted

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseHeader(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte{7}, nonceSize+tagSize)
	valid := append(appendHeader(nil, "k1"), body...)
	tests := []struct {
		name    string
		doc     []byte
		wantID  string
		wantErr string
	}{
		{"valid", valid, "k1", ""},
		{"longest id", append(appendHeader(nil, strings.Repeat("i", 255)), body...), strings.Repeat("i", 255), ""},
		{"empty", nil, "", "truncated"},
		{"magic only", []byte(magic), "", "truncated"},
		{"damaged magic", append([]byte("\x89ENX"), valid[4:]...), "", "damaged"},
		{"newer version", append(append([]byte(magic), 2), valid[5:]...), "", "version is 2"},
		{"empty id", append(append([]byte(magic), version1, 0), body...), "", "key id is empty"},
		{"id longer than the document", append([]byte(magic), version1, 200, 'k'), "", "truncated"},
		{"no room for the tag", valid[:len(valid)-1], "", "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			header, id, rest, err := parseHeader(tt.doc)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || id != tt.wantID || !bytes.Equal(rest, body) || !bytes.Equal(header, appendHeader(nil, tt.wantID)) {
				t.Fatalf("parseHeader = %q %q %q %v", header, id, rest, err)
			}
		})
	}
}

// FuzzParseHeader: the parser of stored documents, which whoever can write
// to the store controls, never panics, and what it accepts is a header it
// would write followed by room for a nonce and a tag. No JSON or UTF-8
// text is ever taken for an encrypted document.
func FuzzParseHeader(f *testing.F) {
	f.Add(append(appendHeader(nil, "k1"), make([]byte, nonceSize+tagSize+10)...))
	f.Add([]byte(`{"AccessToken":{}}`))
	f.Add([]byte("\ufeff{}"))
	f.Add([]byte(magic))
	f.Add([]byte(magic + "\x01\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, doc []byte) {
		if sealed(doc) && (json.Valid(doc) || utf8.Valid(doc)) {
			t.Fatalf("text %q is taken for an encrypted document", doc)
		}
		header, id, rest, err := parseHeader(doc)
		if err != nil {
			return
		}
		if !sealed(doc) || id == "" || len(rest) < nonceSize+tagSize ||
			!bytes.Equal(header, appendHeader(nil, id)) || !bytes.Equal(append(header[:len(header):len(header)], rest...), doc) {
			t.Fatalf("parseHeader(%q) = %q %q %q", doc, header, id, rest)
		}
	})
}
