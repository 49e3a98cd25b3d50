package claims_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/claims"
)

// Every message an error of this package may carry. Tests assert that errors
// use exactly these, which proves that no input text is ever formatted in.
const (
	msgNotObject    = "claims must be a JSON object"
	msgDuplicateKey = "duplicate key in claims JSON"
	msgInvalidUTF8  = "claims JSON is not valid UTF-8"
	msgTrailing     = "unexpected data after the claims JSON object"
	msgTruncated    = "claims JSON ends unexpectedly"
	msgSyntax       = "unexpected character in claims JSON"
	msgNumber       = "invalid number in claims JSON"
	msgTooDeep      = "claims JSON nests deeper than 64 levels"
	msgControl      = "unescaped control character in claims JSON string"
	msgEscape       = "invalid escape sequence in claims JSON string"
	msgSurrogate    = "unpaired surrogate escape in claims JSON string"
	msgCapability   = "client capability is not valid UTF-8"
)

var knownMessages = []string{
	msgNotObject, msgDuplicateKey, msgInvalidUTF8, msgTrailing, msgTruncated, msgSyntax,
	msgNumber, msgTooDeep, msgControl, msgEscape, msgSurrogate, msgCapability,
}

// invalidMessage checks that err is an *entra.Error of code
// invalid_json_claims_format, with no cause and one of the known messages,
// and returns that message.
func invalidMessage(t testing.TB, err error) string {
	t.Helper()
	var e *entra.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *entra.Error", err, err)
	}
	if e.Code != entra.CodeInvalidJSONClaims {
		t.Fatalf("code = %q, want %q", e.Code, entra.CodeInvalidJSONClaims)
	}
	if e.Err != nil || e.StatusCode != 0 || e.Description != "" || e.Claims != "" {
		t.Fatalf("error carries more than code and message: %#v", e)
	}
	if !slices.Contains(knownMessages, e.Message) {
		t.Fatalf("message %q is not one of the fixed messages", e.Message)
	}
	if entra.ErrorCode(err) != entra.CodeInvalidJSONClaims {
		t.Fatalf("the error has code %q", entra.ErrorCode(err))
	}
	return e.Message
}

// nest returns n nested containers around a number, alternating objects and
// arrays, so that the outermost is an object.
func nest(n int) string {
	var open, close strings.Builder
	for i := range n {
		if i%2 == 0 {
			open.WriteString(`{"k":`)
			close.WriteString("}")
		} else {
			open.WriteString("[")
			close.WriteString("]")
		}
	}
	c := []byte(close.String())
	slices.Reverse(c)
	return open.String() + "1" + string(c)
}

func TestCanonicalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"required vector", `{ "b" : 1, "a" : {"y":[{"d":1,"c":2}],"x":1.50} }`, `{"a":{"x":1.50,"y":[{"c":2,"d":1}]},"b":1}`},
		{"network perimeter", `{"xms_az_nwperimid":{"essential":true}}`, `{"xms_az_nwperimid":{"essential":true}}`},
		{"empty object", `{}`, `{}`},
		{"empty object with space", " { \n } ", `{}`},
		{"empty array", `{"a":[ ]}`, `{"a":[]}`},
		{"literals", `{"t":true,"f":false,"n":null}`, `{"f":false,"n":null,"t":true}`},
		{"arrays keep order", `{"a":[3,1,2,"b","a"]}`, `{"a":[3,1,2,"b","a"]}`},
		{"objects in nested arrays", `{"a":[[{"z":1,"y":[{"q":0,"p":0}]}]]}`, `{"a":[[{"y":[{"p":0,"q":0}],"z":1}]]}`},
		{"already canonical", `{"access_token":{"xms_cc":{"values":["cp1"]}}}`, `{"access_token":{"xms_cc":{"values":["cp1"]}}}`},

		// Whitespace variants: only space, tab, LF and CR, anywhere between tokens.
		{"tabs", "{\t\"a\"\t:\t1\t}", `{"a":1}`},
		{"newlines", "\n{\n\"a\"\n:\n[\n1\n,\n2\n]\n}\n", `{"a":[1,2]}`},
		{"crlf", "\r\n{\"a\":1}\r\n", `{"a":1}`},
		{"mixed", " \t\r\n{ \"b\" :\t{ } , \"a\" : [ ] }\n\t ", `{"a":[],"b":{}}`},

		// Numbers are kept exactly as written.
		{"trailing zero", `{"a":1.50}`, `{"a":1.50}`},
		{"exponent", `{"a":1e5,"b":1E5,"c":1e+5,"d":1E-05}`, `{"a":1e5,"b":1E5,"c":1e+5,"d":1E-05}`},
		{"big integer", `{"a":123456789012345678901234567890123456789}`, `{"a":123456789012345678901234567890123456789}`},
		{"beyond float64", `{"a":1e400,"b":-1e-400}`, `{"a":1e400,"b":-1e-400}`},
		{"many digits", `{"a":0.10000000000000000555111512312578270211815834045}`, `{"a":0.10000000000000000555111512312578270211815834045}`},
		{"negative zero", `{"a":-0,"b":-0.0}`, `{"a":-0,"b":-0.0}`},
		{"max int64 plus one", `{"a":9223372036854775808}`, `{"a":9223372036854775808}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := claims.Canonicalize(tt.in)
			if err != nil {
				t.Fatalf("Canonicalize: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Canonicalize = %s, want %s", got, tt.want)
			}
			again, err := claims.Canonicalize(got)
			if err != nil || again != got {
				t.Fatalf("not idempotent: %q, %v", again, err)
			}
		})
	}
}

func TestCanonicalizeBlank(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", " ", "\t", "\n", "\r\n", " \t\r\n "} {
		got, err := claims.Canonicalize(in)
		if got != "" || err != nil {
			t.Errorf("Canonicalize(%q) = %q, %v; want \"\", nil", in, got, err)
		}
	}
	// Only JSON whitespace is blank: other Unicode spaces are invalid JSON.
	for _, in := range []string{"\v", "\f", "\u00a0", "\u2028", "\ufeff"} {
		if _, err := claims.Canonicalize(in); err == nil {
			t.Errorf("Canonicalize(%q) succeeded; want an error", in)
		}
	}
}

func TestEscaping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"quote and backslash", `{"a":"\"\\"}`, `{"a":"\"\\"}`},
		{"short forms", `{"a":"\b\t\n\f\r"}`, `{"a":"\b\t\n\f\r"}`},
		{"short forms from \\u", `{"a":"\u0008\u0009\u000A\u000c\u000D"}`, `{"a":"\b\t\n\f\r"}`},
		{"other controls lower hex", `{"a":"\u0000\u0001\u001F\u001b"}`, `{"a":"\u0000\u0001\u001f\u001b"}`},
		{"solidus unescaped", `{"a":"\/x/y"}`, `{"a":"/x/y"}`},
		{"html characters literal", `{"a":"\u003c\u003e\u0026<>&"}`, `{"a":"<>&<>&"}`},
		{"DEL literal", `{"a":"\u007f"}`, "{\"a\":\"\x7f\"}"},
		{"line separators literal", `{"a":"\u2028\u2029"}`, "{\"a\":\"\u2028\u2029\"}"},
		{"non-ASCII literal", `{"a":"\u00e9\u00E9é"}`, `{"a":"ééé"}`},
		{"surrogate pair", `{"a":"\ud83d\ude00\uD83D\uDE00"}`, `{"a":"😀😀"}`},
		{"replacement character", `{"a":"\ufffd"}`, "{\"a\":\"\ufffd\"}"},
		{"escaped key", `{"\u0061":1,"\"k\"":2}`, `{"\"k\"":2,"a":1}`},
		{"plain ASCII letters from \\u", `{"a":"\u0041\u0062"}`, `{"a":"Ab"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := claims.Canonicalize(tt.in)
			if err != nil {
				t.Fatalf("Canonicalize: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Canonicalize = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUnicodeKeyOrder(t *testing.T) {
	t.Parallel()
	// Code-point order: "Z" U+005A < "a" U+0061 < "z" U+007A < "é" U+00E9 <
	// "｡" U+FF61 < "😀" U+1F600. UTF-16 order (JCS) would put the astral
	// "😀" (0xD83D...) before "｡" (0xFF61).
	tests := []struct {
		name, in, want string
	}{
		{
			"mixed",
			`{"é":1,"z":2,"Z":3,"a":4,"😀":5,"｡":6}`,
			`{"Z":3,"a":4,"z":2,"é":1,"｡":6,"😀":5}`,
		},
		{
			"escaped astral key",
			`{"\ud83d\ude00":1,"\uff61":2,"\u00e9":3}`,
			`{"é":3,"｡":2,"😀":1}`,
		},
		{"prefix sorts first", `{"ab":1,"a":2,"":3}`, `{"":3,"a":2,"ab":1}`},
		{"control character key", `{"a":1,"\u0001":2," ":3}`, `{"\u0001":2," ":3,"a":1}`},
		{"nested", `{"x":{"é":1,"e":2},"X":[{"😀":1,"｡":2}]}`, `{"X":[{"｡":2,"😀":1}],"x":{"e":2,"é":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := claims.Canonicalize(tt.in)
			if err != nil {
				t.Fatalf("Canonicalize: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Canonicalize = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCanonicalizeInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, msg string
	}{
		// Root not an object.
		{"null", `null`, msgNotObject},
		{"array", `[]`, msgNotObject},
		{"string", `"x"`, msgNotObject},
		{"number", `1`, msgNotObject},
		{"true", `true`, msgNotObject},
		{"false", ` false `, msgNotObject},
		{"garbage", `abc`, msgNotObject},
		{"byte order mark", "\ufeff{}", msgNotObject},

		// Duplicates, compared after unescaping, at any depth.
		{"duplicate", `{"a":1,"a":2}`, msgDuplicateKey},
		{"duplicate same value", `{"a":1,"a":1}`, msgDuplicateKey},
		{"duplicate escaped", `{"a":1,"\u0061":2}`, msgDuplicateKey},
		{"duplicate nested", `{"x":{"b":1,"c":2,"b":3}}`, msgDuplicateKey},
		{"duplicate in array", `{"x":[{},{"b":1,"b":1}]}`, msgDuplicateKey},

		// UTF-8.
		{"invalid byte", "{\"a\":\"\xff\"}", msgInvalidUTF8},
		{"invalid key byte", "{\"\xc3\":1}", msgInvalidUTF8},
		{"encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", msgInvalidUTF8},
		{"overlong", "{\"a\":\"\xc0\xaf\"}", msgInvalidUTF8},
		{"outside string", "{\xff}", msgInvalidUTF8},

		// Trailing data.
		{"two objects", `{}{}`, msgTrailing},
		{"trailing comma", `{"a":1},`, msgTrailing},
		{"trailing garbage", `{"a":1} x`, msgTrailing},
		{"trailing NUL", "{}\x00", msgTrailing},

		// Truncation.
		{"after colon", `{"a":`, msgTruncated},
		{"open brace", `{`, msgTruncated},
		{"after key", `{"a"`, msgTruncated},
		{"in key", `{"a`, msgTruncated},
		{"in string", `{"a":"b`, msgTruncated},
		{"after comma", `{"a":1,`, msgTruncated},
		{"after value", `{"a":1`, msgTruncated},
		{"open array", `{"a":[`, msgTruncated},
		{"array after value", `{"a":[1`, msgTruncated},
		{"in literal", `{"a":tr`, msgTruncated},
		{"in number", `{"a":-`, msgTruncated},
		{"after point", `{"a":1.`, msgTruncated},
		{"after exponent", `{"a":1e`, msgTruncated},
		{"after exponent sign", `{"a":1e+`, msgTruncated},
		{"in escape", `{"a":"\`, msgTruncated},
		{"in unicode escape", `{"a":"\u00`, msgTruncated},
		{"before low surrogate", `{"a":"\ud83d`, msgTruncated},
		{"in low surrogate", `{"a":"\ud83d\ude`, msgTruncated},
		{"backslash after high surrogate", `{"a":"\ud83d\`, msgTruncated},

		// Syntax.
		{"trailing comma in object", `{"a":1,}`, msgSyntax},
		{"trailing comma in array", `{"a":[1,]}`, msgSyntax},
		{"missing colon", `{"a" 1}`, msgSyntax},
		{"missing comma", `{"a":1 "b":2}`, msgSyntax},
		{"unquoted key", `{a:1}`, msgSyntax},
		{"single quotes", `{'a':1}`, msgSyntax},
		{"bad literal", `{"a":nul}`, msgSyntax},
		{"capital literal", `{"a":True}`, msgSyntax},
		{"literal with suffix", `{"a":truex}`, msgSyntax},
		{"comment", `{"a":1 /* c */}`, msgSyntax},
		{"vertical tab", "{\v}", msgSyntax},
		{"mismatched bracket", `{"a":[1}`, msgSyntax},
		{"mismatched brace", `{"a":1]`, msgSyntax},
		{"empty value", `{"a":,}`, msgSyntax},

		// Numbers (RFC 8259 §6).
		{"leading zero", `{"a":01}`, msgNumber},
		{"leading plus", `{"a":+1}`, msgSyntax},
		{"leading point", `{"a":.5}`, msgSyntax},
		{"point without digits", `{"a":1.}`, msgNumber},
		{"exponent without digits", `{"a":1e}`, msgNumber},
		{"two points", `{"a":1.2.3}`, msgNumber},
		{"minus alone", `{"a":-}`, msgNumber},
		{"minus point", `{"a":-.5}`, msgNumber},
		{"hex", `{"a":0x10}`, msgSyntax},
		{"NaN", `{"a":NaN}`, msgSyntax},
		{"Infinity", `{"a":-Infinity}`, msgNumber},
		{"double exponent", `{"a":1e5e5}`, msgNumber},
		{"minus minus", `{"a":--1}`, msgNumber},

		// Strings.
		{"raw newline", "{\"a\":\"x\ny\"}", msgControl},
		{"raw tab", "{\"a\":\"\t\"}", msgControl},
		{"raw NUL in key", "{\"\x00\":1}", msgControl},
		{"raw control after escape", "{\"a\":\"\\n\x1f\"}", msgControl},
		{"unknown escape", `{"a":"\q"}`, msgEscape},
		{"escaped single quote", `{"a":"\'"}`, msgEscape},
		{"bad hex", `{"a":"\u00zz"}`, msgEscape},
		{"short unicode escape", `{"a":"\u12"}`, msgEscape},
		{"upper U", `{"a":"\U0041"}`, msgEscape},
		{"lone high surrogate", `{"a":"\ud800"}`, msgSurrogate},
		{"lone low surrogate", `{"a":"\udc00"}`, msgSurrogate},
		{"high surrogate then quote at end", `{"a":"\ud800"`, msgSurrogate},
		{"high then text", `{"a":"\ud800abc"}`, msgSurrogate},
		{"high then high", `{"a":"\ud800\ud800"}`, msgSurrogate},
		{"high then BMP escape", `{"a":"\ud800\u0041"}`, msgSurrogate},
		{"high then other escape", `{"a":"\ud800\n"}`, msgSurrogate},
		{"reversed pair", `{"a":"\ude00\ud83d"}`, msgSurrogate},
		{"lone surrogate in key", `{"\ud800":1}`, msgSurrogate},

		// Depth.
		{"too deep", nest(65), msgTooDeep},
		{"far too deep", strings.Repeat(`{"a":`, 100000), msgTooDeep},
		{"deep arrays", `{"a":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`, msgTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := claims.Canonicalize(tt.in)
			if err == nil {
				t.Fatalf("Canonicalize succeeded with %q; want an error", got)
			}
			if got != "" {
				t.Errorf("Canonicalize returned %q with its error", got)
			}
			if msg := invalidMessage(t, err); msg != tt.msg {
				t.Errorf("message = %q, want %q", msg, tt.msg)
			}
			if _, err := claims.Merge(`{"ok":1}`, tt.in); err == nil {
				t.Errorf("Merge accepted the invalid layer")
			} else if msg := invalidMessage(t, err); msg != tt.msg {
				t.Errorf("Merge message = %q, want %q", msg, tt.msg)
			}
			if _, err := claims.WithCapabilities(tt.in, []string{"cp1"}); err == nil {
				t.Errorf("WithCapabilities accepted the invalid claims")
			} else if msg := invalidMessage(t, err); msg != tt.msg {
				t.Errorf("WithCapabilities message = %q, want %q", msg, tt.msg)
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	t.Parallel()
	for depth := 1; depth <= 64; depth++ {
		in := nest(depth)
		got, err := claims.Canonicalize(in)
		if err != nil {
			t.Fatalf("depth %d: %v", depth, err)
		}
		if got != in {
			t.Fatalf("depth %d: got %s", depth, got)
		}
	}
	// 64 levels made of one object and 63 arrays is still accepted.
	in := `{"a":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`
	if _, err := claims.Canonicalize(in); err != nil {
		t.Fatalf("63 arrays in an object: %v", err)
	}
	// Merging and adding capabilities never deepen the result past the limit.
	deep := nest(64)
	merged, err := claims.Merge(deep, deep)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	if _, err := claims.Canonicalize(merged); err != nil {
		t.Fatalf("merged result not accepted again: %v", err)
	}
	withCaps, err := claims.WithCapabilities(deep, []string{"cp1"})
	if err != nil {
		t.Fatalf("WithCapabilities: %v", err)
	}
	if _, err := claims.Canonicalize(withCaps); err != nil {
		t.Fatalf("result not accepted again: %v", err)
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		layers []string
		want   string
	}{
		{"required vector", []string{`{"a":[1],"b":{"c":1}}`, `{"a":[2],"b":{"d":null,"c":2}}`}, `{"a":[1,2],"b":{"c":2,"d":null}}`},
		{"later null keeps value", []string{`{"a":1,"b":{"c":"x"}}`, `{"a":null,"b":null}`}, `{"a":1,"b":{"c":"x"}}`},
		{"later null keeps nested value", []string{`{"b":{"c":[1]}}`, `{"b":{"c":null}}`}, `{"b":{"c":[1]}}`},
		{"null replaced by value", []string{`{"a":null}`, `{"a":1}`}, `{"a":1}`},
		{"null and null", []string{`{"a":null}`, `{"a":null}`}, `{"a":null}`},
		{"no layers", nil, ""},
		{"all blank", []string{"", " ", "\n\t"}, ""},
		{"blank layers skipped", []string{"", `{"b":1,"a":2}`, "  "}, `{"a":2,"b":1}`},
		{"single layer canonicalized", []string{` { "b" : 1.50 , "a" : [ ] } `}, `{"a":[],"b":1.50}`},
		{"later scalar wins", []string{`{"a":1,"b":"x"}`, `{"a":"one","b":false}`}, `{"a":"one","b":false}`},
		{"object replaces scalar", []string{`{"a":1}`, `{"a":{"x":1}}`}, `{"a":{"x":1}}`},
		{"scalar replaces object", []string{`{"a":{"x":1}}`, `{"a":1}`}, `{"a":1}`},
		{"array replaces object", []string{`{"a":{"x":1}}`, `{"a":[1]}`}, `{"a":[1]}`},
		{"object replaces array", []string{`{"a":[1]}`, `{"a":{"x":1}}`}, `{"a":{"x":1}}`},
		{"arrays concatenate with duplicates", []string{`{"a":[1,2]}`, `{"a":[2,1]}`}, `{"a":[1,2,2,1]}`},
		{"arrays of objects are not merged", []string{`{"a":[{"x":1}]}`, `{"a":[{"x":2}]}`}, `{"a":[{"x":1},{"x":2}]}`},
		{"disjoint keys interleave", []string{`{"a":1,"c":3,"e":5}`, `{"b":2,"d":4,"f":6}`}, `{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}`},
		{"deep merge", []string{`{"access_token":{"nbf":{"essential":true}}}`, `{"access_token":{"xms_cc":{"values":["cp1"]}},"id_token":{}}`}, `{"access_token":{"nbf":{"essential":true},"xms_cc":{"values":["cp1"]}},"id_token":{}}`},
		{"three layers", []string{`{"a":[1],"v":1}`, `{"a":[2],"v":2}`, `{"a":[3],"v":null}`}, `{"a":[1,2,3],"v":2}`},
		{"numbers kept", []string{`{"a":1.0}`, `{"b":1e2}`}, `{"a":1.0,"b":1e2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := claims.Merge(tt.layers...)
			if err != nil {
				t.Fatalf("Merge: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Merge = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestMergeDoesNotAliasLayers(t *testing.T) {
	t.Parallel()
	// Merging the same layer twice must concatenate, not share and grow.
	got, err := claims.Merge(`{"a":[1]}`, `{"a":[2]}`, `{"a":[3]}`, `{"a":[4]}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":[1,2,3,4]}`; got != want {
		t.Fatalf("Merge = %s, want %s", got, want)
	}
}

func TestMergeInvalidLayer(t *testing.T) {
	t.Parallel()
	// The first invalid layer decides the error, wherever it is.
	layers := []string{`{"a":1}`, "", `[]`, `{"a":1,"a":2}`}
	_, err := claims.Merge(layers...)
	if msg := invalidMessage(t, err); msg != msgNotObject {
		t.Fatalf("message = %q, want %q", msg, msgNotObject)
	}
	_, err = claims.Merge(`{"a":`, `{}`)
	if msg := invalidMessage(t, err); msg != msgTruncated {
		t.Fatalf("message = %q, want %q", msg, msgTruncated)
	}
}

func TestWithCapabilities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		claims string
		caps   []string
		want   string
	}{
		{"required: no claims", "", []string{"cp1"}, `{"access_token":{"xms_cc":{"values":["cp1"]}}}`},
		{
			"required: merged with claims",
			`{"access_token":{"nbf":{"essential":true,"value":"1"}}}`,
			[]string{"cp1", "cp2"},
			`{"access_token":{"nbf":{"essential":true,"value":"1"},"xms_cc":{"values":["cp1","cp2"]}}}`,
		},
		{"blank claims", " \n", []string{"cp1"}, `{"access_token":{"xms_cc":{"values":["cp1"]}}}`},
		{"order kept", "", []string{"cp2", "cp1"}, `{"access_token":{"xms_cc":{"values":["cp2","cp1"]}}}`},
		{"blank names skipped", "", []string{"", "cp1", " ", "\t", "cp2"}, `{"access_token":{"xms_cc":{"values":["cp1","cp2"]}}}`},
		{"no capabilities", `{ "b":1, "a":2 }`, nil, `{"a":2,"b":1}`},
		{"only blank capabilities", `{"a":1}`, []string{"", " "}, `{"a":1}`},
		{"nothing at all", "", nil, ""},
		{"blank claims no capabilities", "  ", []string{""}, ""},
		{"other claims kept", `{"id_token":{"auth_time":{"essential":true}}}`, []string{"cp1"}, `{"access_token":{"xms_cc":{"values":["cp1"]}},"id_token":{"auth_time":{"essential":true}}}`},
		{"existing values come first", `{"access_token":{"xms_cc":{"values":["cp0"]}}}`, []string{"cp1"}, `{"access_token":{"xms_cc":{"values":["cp0","cp1"]}}}`},
		{"names needing escapes", "", []string{`a"b`, "c\\d", "é"}, `{"access_token":{"xms_cc":{"values":["a\"b","c\\d","é"]}}}`},
		{"access_token not an object", `{"access_token":null}`, []string{"cp1"}, `{"access_token":{"xms_cc":{"values":["cp1"]}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := claims.WithCapabilities(tt.claims, tt.caps)
			if err != nil {
				t.Fatalf("WithCapabilities: %v", err)
			}
			if got != tt.want {
				t.Fatalf("WithCapabilities = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestWithCapabilitiesInvalidName(t *testing.T) {
	t.Parallel()
	_, err := claims.WithCapabilities("", []string{"cp1", "\xff"})
	if msg := invalidMessage(t, err); msg != msgCapability {
		t.Fatalf("message = %q, want %q", msg, msgCapability)
	}
}

func TestWithCapabilitiesDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	caps := []string{"cp1", "", "cp2"}
	if _, err := claims.WithCapabilities("", caps); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(caps, []string{"cp1", "", "cp2"}) {
		t.Fatalf("capabilities changed to %q", caps)
	}
}

func TestKeyHash(t *testing.T) {
	t.Parallel()
	if got := claims.KeyHash(""); got != "" {
		t.Fatalf(`KeyHash("") = %q`, got)
	}
	canonical := `{"xms_az_nwperimid":{"essential":true}}`
	sum := sha256.Sum256([]byte(canonical))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	got := claims.KeyHash(canonical)
	if got != want {
		t.Fatalf("KeyHash = %q, want %q", got, want)
	}
	if len(got) != 43 || strings.ContainsAny(got, "+/=") {
		t.Fatalf("KeyHash = %q is not unpadded base64url of 32 bytes", got)
	}

	// Equivalent claims share a key; different ones do not.
	a, _ := claims.Canonicalize(`{ "b":1, "a":{"y":2,"x":1} }`)
	b, _ := claims.Canonicalize("{\"a\":{\"x\":1,\"y\":2},\n\"b\":1}")
	c, _ := claims.Canonicalize(`{"a":{"x":1,"y":2},"b":1.0}`)
	if claims.KeyHash(a) != claims.KeyHash(b) {
		t.Fatalf("equivalent claims hash differently")
	}
	if claims.KeyHash(a) == claims.KeyHash(c) {
		t.Fatalf("different claims hash equally")
	}
}

// TestErrorsNeverContainClaims drives every error path with a distinctive
// secret-looking value inside the claims and checks that no error text
// contains it, or any 6-byte piece of it.
func TestErrorsNeverContainClaims(t *testing.T) {
	t.Parallel()
	const secret = "SeCrEt-7f3a9c1e-Pa55w0rd-do-not-log"
	s := secret
	inputs := map[string]string{
		msgNotObject:    `["` + s + `"]`,
		msgDuplicateKey: `{"` + s + `":1,"` + s + `":2}`,
		msgInvalidUTF8:  `{"` + s + "\xff" + `":1}`,
		msgTrailing:     `{"a":1}` + s,
		msgTruncated:    `{"` + s + `":"` + s,
		msgSyntax:       `{"a":` + s + `}`,
		msgNumber:       `{"a":-` + s + `}`,
		msgTooDeep:      strings.Repeat(`{"`+s+`":`, 65) + `1` + strings.Repeat("}", 65),
		msgControl:      `{"a":"` + s + "\n" + s + `"}`,
		msgEscape:       `{"a":"` + s + `\x` + s + `"}`,
		msgSurrogate:    `{"a":"` + s + `\ud800` + s + `"}`,
	}
	// Variants with the secret in other places.
	extra := []string{
		`"` + s + `"`,
		s,
		`{"a":"` + s + `","a":"` + s + `"}`,
		`{"` + s + `":{"` + s + `":[` + s + `]}}`,
		`{"` + s + `":1}` + ` {"` + s + `":1}`,
		`{"a":"` + s + `\u00` + `"}`,
		`{"a":"\u` + s + `"}`,
		`{"a":0` + s + `}`,
		`{"` + s + `" ` + s + `}`,
	}
	seen := map[string]bool{}
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		seen[invalidMessage(t, err)] = true
		text := err.Error()
		for i := 0; i+6 <= len(secret); i++ {
			if strings.Contains(text, secret[i:i+6]) {
				t.Fatalf("%s: error %q contains part of the claims", what, text)
			}
		}
	}
	run := func(name, in string) {
		_, err := claims.Canonicalize(in)
		check(name+"/Canonicalize", err)
		_, err = claims.Merge(in)
		check(name+"/Merge first", err)
		_, err = claims.Merge(`{"`+s+`":[1]}`, in)
		check(name+"/Merge second", err)
		_, err = claims.WithCapabilities(in, []string{s})
		check(name+"/WithCapabilities", err)
		_, err = claims.WithCapabilities(in, nil)
		check(name+"/WithCapabilities no caps", err)
	}
	for msg, in := range inputs {
		run(msg, in)
	}
	for i, in := range extra {
		run("extra "+string(rune('a'+i)), in)
	}
	_, err := claims.WithCapabilities(`{"`+s+`":1}`, []string{s + "\xff"})
	check("capability", err)

	for _, msg := range knownMessages {
		if !seen[msg] {
			t.Errorf("error path %q was not exercised", msg)
		}
	}
}
