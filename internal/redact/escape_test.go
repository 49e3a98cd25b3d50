package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestEscapeUnreserved(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`{"xms_az_nwperimid":{"essential":true}}`, `%7B%22xms_az_nwperimid%22%3A%7B%22essential%22%3Atrue%7D%7D`},
		{"a b+c~d.e-f_g", "a%20b%2Bc~d.e-f_g"},
		{"é", "%C3%A9"},
		{"/?#[]@!$&'()*,;=%", "%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2C%3B%3D%25"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := EscapeUnreserved(tt.in); got != tt.want {
			t.Errorf("EscapeUnreserved(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Every byte: unreserved ones kept, all others as upper-case %XX.
	for b := 0; b < 256; b++ {
		s := string([]byte{byte(b)})
		got := EscapeUnreserved(s)
		unreserved := strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~", rune(b)) && b < 128
		if unreserved != (got == s) || (!unreserved && (len(got) != 3 || got != strings.ToUpper(got))) {
			t.Errorf("EscapeUnreserved(%#x) = %q", b, got)
		}
		if back, err := url.PathUnescape(got); err != nil || back != s {
			t.Errorf("%q does not decode to %#x", got, b)
		}
	}
}
