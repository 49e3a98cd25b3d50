package redact

import (
	"strings"
	"testing"

	"github.com/entra-go/entra"
)

func TestString(t *testing.T) {
	t.Parallel()
	var s Set
	s.Add("s3cret value/+=")
	s.Add("short") // too short to redact
	jwt := "eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2ln"
	tests := []struct{ in, want string }{
		{"no secret here", "no secret here"},
		{"got s3cret value/+= twice: s3cret value/+=", "got [redacted] twice: [redacted]"},
		{"form-encoded: s3cret+value%2F%2B%3D", "form-encoded: [redacted]"},
		{"path-encoded: s3cret%20value%2F+=", "path-encoded: [redacted]"},
		{"unreserved-encoded: s3cret%20value%2F%2B%3D", "unreserved-encoded: [redacted]"},
		{"a short word stays", "a short word stays"},
		{"assertion " + jwt + " echoed", "assertion [redacted] echoed"},
		{"cut assertion " + jwt[:30], "cut assertion [redacted]"},
		{"eyJ alone, eyJabc", "eyJ alone, eyJabc"},
	}
	for _, tt := range tests {
		if got := s.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorRedactsEveryField(t *testing.T) {
	t.Parallel()
	const secret = "the-client-secret-value"
	var s Set
	s.Add(secret)
	e := s.Error(&entra.Error{Code: secret, Message: "m " + secret, Description: secret, CorrelationID: secret,
		TraceID: secret, Timestamp: secret, Claims: secret})
	for _, f := range []string{string(e.Code), e.Message, e.Description, e.CorrelationID, e.TraceID, e.Timestamp, e.Claims} {
		if strings.Contains(f, secret) || !strings.Contains(f, Mark) {
			t.Errorf("field %q is not redacted", f)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("secret-value", "text with secret-value and eyJhbGciOiJub25lIn0.e30.sig")
	f.Fuzz(func(t *testing.T, secret, text string) {
		var s Set
		s.Add(secret)
		got := s.String(text)
		if len(secret) >= minLen && strings.Contains(got, secret) && !strings.Contains(Mark, secret) {
			t.Fatalf("String(%q) with secret %q = %q", text, secret, got)
		}
	})
}
