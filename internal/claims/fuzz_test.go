package claims_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/claims"
)

// The fuzz tests check this package against encoding/json, an independent
// parser: whatever Canonicalize accepts must be valid JSON with the same
// meaning, and its output must not depend on key order, whitespace or
// escaping choices.

var fuzzSeeds = []string{
	``,
	` `,
	`{}`,
	`{ "b" : 1, "a" : {"y":[{"d":1,"c":2}],"x":1.50} }`,
	`{"xms_az_nwperimid":{"essential":true}}`,
	`{"access_token":{"nbf":{"essential":true,"value":"1"},"xms_cc":{"values":["cp1","cp2"]}}}`,
	`{"é":1,"z":2,"Z":3,"a":4,"😀":5,"｡":6}`,
	`{"a":"\ud83d\ude00\u00e9\/\"\\\b\f\n\r\t\u0000\u001f"}`,
	`{"a":[1,-0,1e5,1E-5,0.5e+10,123456789012345678901234567890]}`,
	`{"a":null,"b":true,"c":false,"d":[[],{},[{}]]}`,
	`{"a":1,"a":2}`,
	`{"a":`,
	`{"a":"\ud800"}`,
	`null`,
	`[]`,
	`"x"`,
	`{"a":01}`,
	"{\"a\":\"\xff\"}",
	`{"a":1} {}`,
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Add(nest(64))
	f.Add(nest(65))
	f.Fuzz(func(t *testing.T, in string) {
		out, err := claims.Canonicalize(in)
		if err != nil {
			msg := checkFuzzError(t, err, in)
			// Input that encoding/json accepts may only be refused for a
			// reason this package is deliberately stricter about.
			if json.Valid([]byte(in)) && utf8.ValidString(in) {
				stricter := []string{msgNotObject, msgDuplicateKey, msgTooDeep, msgSurrogate}
				if !slices.Contains(stricter, msg) {
					t.Fatalf("valid JSON refused with %q", msg)
				}
			}
			return
		}
		if blank(in) {
			if out != "" {
				t.Fatalf("blank input gave %q", out)
			}
			return
		}
		if !json.Valid([]byte(in)) {
			t.Fatalf("accepted input that encoding/json refuses")
		}
		checkCanonical(t, out)
		if !reflect.DeepEqual(decode(t, in), decode(t, out)) {
			t.Fatalf("output %q means something else than the input", out)
		}

		// Any other spelling of the same claims has the same canonical form.
		tree := readTree(t, out)
		rng := rngFor(in)
		for range 3 {
			respelled := string(writeRespelled(nil, tree, rng))
			got, err := claims.Canonicalize(respelled)
			if err != nil {
				t.Fatalf("Canonicalize(%q): %v", respelled, err)
			}
			if got != out {
				t.Fatalf("Canonicalize(%q) = %q, want %q", respelled, got, out)
			}
		}
	})
}

func FuzzMerge(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, fuzzSeeds[(i+3)%len(fuzzSeeds)])
	}
	f.Add(`{"a":[1],"b":{"c":1}}`, `{"a":[2],"b":{"d":null,"c":2}}`)
	f.Add(`{"a":1,"b":{"c":"x"}}`, `{"a":null,"b":null}`)
	f.Add(`{"a":{"x":1}}`, `{"a":[1]}`)
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := claims.Merge(a, b)
		ca, errA := claims.Canonicalize(a)
		cb, errB := claims.Canonicalize(b)
		if errA != nil || errB != nil {
			if err == nil {
				t.Fatalf("Merge accepted an invalid layer")
			}
			checkFuzzError(t, err, a)
			checkFuzzError(t, err, b)
			first := errA
			if first == nil {
				first = errB
			}
			if err.Error() != first.Error() {
				t.Fatalf("Merge error %q, want the first layer's %q", err, first)
			}
			return
		}
		if err != nil {
			t.Fatalf("Merge of valid layers: %v", err)
		}
		switch {
		case ca == "" && cb == "":
			if got != "" {
				t.Fatalf("Merge of blank layers = %q", got)
			}
			return
		case ca == "":
			if got != cb {
				t.Fatalf("Merge(blank, b) = %q, want %q", got, cb)
			}
		case cb == "":
			if got != ca {
				t.Fatalf("Merge(a, blank) = %q, want %q", got, ca)
			}
		}
		checkCanonical(t, got)
		if again, err := claims.Merge(ca, cb); err != nil || again != got {
			t.Fatalf("Merge of the canonical layers = %q, %v; want %q", again, err, got)
		}
		var want any
		switch {
		case ca == "":
			want = decode(t, cb)
		case cb == "":
			want = decode(t, ca)
		default:
			want = referenceMerge(decode(t, ca), decode(t, cb))
		}
		if !reflect.DeepEqual(decode(t, got), want) {
			t.Fatalf("Merge = %q, differs from the reference merge", got)
		}
	})
}

// referenceMerge is a plain restatement of the merge rules over
// encoding/json values.
func referenceMerge(earlier, later any) any {
	if later == nil {
		return earlier
	}
	if a, ok := earlier.(map[string]any); ok {
		if b, ok := later.(map[string]any); ok {
			out := make(map[string]any, len(a)+len(b))
			for k, v := range a {
				out[k] = v
			}
			for k, v := range b {
				if old, ok := out[k]; ok {
					out[k] = referenceMerge(old, v)
				} else {
					out[k] = v
				}
			}
			return out
		}
	}
	if a, ok := earlier.([]any); ok {
		if b, ok := later.([]any); ok {
			return append(slices.Clip(a), b...)
		}
	}
	return later
}

// checkFuzzError checks an error for input in and returns its message.
func checkFuzzError(t *testing.T, err error, in string) string {
	t.Helper()
	msg := invalidMessage(t, err)
	text := err.Error()
	want := string(entra.CodeInvalidJSONClaims) + ": " + msg
	if text != want {
		t.Fatalf("Error() = %q, want %q", text, want)
	}
	// The text is fixed, so it can only contain an input that is itself a
	// piece of the fixed wording (such as "JSON").
	if len(in) > 3 && strings.Contains(text, in) && !strings.Contains(want, in) {
		t.Fatalf("error %q contains the input", text)
	}
	var e *entra.Error
	if !errors.As(err, &e) || e.Code != entra.CodeInvalidJSONClaims {
		t.Fatalf("not an invalid_json_claims_format error: %v", err)
	}
	return msg
}

func blank(s string) bool { return strings.Trim(s, " \t\r\n") == "" }

// decode parses s with encoding/json, keeping numbers as written.
func decode(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("encoding/json cannot decode %q: %v", s, err)
	}
	return v
}

// checkCanonical checks canonical output: valid JSON, a fixed point of
// Canonicalize, no whitespace between tokens, only the minimal escapes, and
// keys strictly increasing in every object.
func checkCanonical(t *testing.T, out string) {
	t.Helper()
	if !json.Valid([]byte(out)) {
		t.Fatalf("output %q is not valid JSON", out)
	}
	if again, err := claims.Canonicalize(out); err != nil || again != out {
		t.Fatalf("not idempotent: Canonicalize(%q) = %q, %v", out, again, err)
	}
	inString := false
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case !inString && (c == ' ' || c == '\t' || c == '\r' || c == '\n'):
			t.Fatalf("whitespace between tokens in %q", out)
		case c == '"':
			inString = !inString
		case inString && c == '\\':
			i++
			switch out[i] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
			case 'u':
				hex := out[i+1 : i+5]
				if hex[:2] != "00" || hex[2] > '1' || strings.ContainsAny(hex, "ABCDEF") ||
					slices.Contains([]string{"0008", "0009", "000a", "000c", "000d"}, hex) {
					t.Fatalf("non-minimal escape \\u%s in %q", hex, out)
				}
				i += 4
			default:
				t.Fatalf("non-minimal escape \\%c in %q", out[i], out)
			}
		}
	}
	checkSorted(t, readTree(t, out))
}

func checkSorted(t *testing.T, v any) {
	t.Helper()
	switch v := v.(type) {
	case object:
		for i, m := range v {
			if i > 0 && v[i-1].key >= m.key {
				t.Fatalf("keys %q and %q out of order", v[i-1].key, m.key)
			}
			checkSorted(t, m.value)
		}
	case array:
		for _, e := range v {
			checkSorted(t, e)
		}
	}
}

// A JSON tree that keeps member order, read with encoding/json's tokenizer.
type (
	object []objectMember
	array  []any
)

type objectMember struct {
	key   string
	value any
}

func readTree(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := readValue(dec)
	if err != nil {
		t.Fatalf("reading %q: %v", s, err)
	}
	return v
}

func readValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := object{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			obj = append(obj, objectMember{key: k.(string), value: v})
		}
		_, err := dec.Token()
		return obj, err
	case json.Delim('['):
		arr := array{}
		for dec.More() {
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return tok, nil // string, json.Number, bool or nil
}

// rngFor returns a generator seeded from the input, so failures reproduce.
func rngFor(in string) *rand.Rand {
	sum := sha256.Sum256([]byte(in))
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
}

// writeRespelled writes v as JSON with its keys reordered, random whitespace
// between tokens and randomly chosen (but valid) string escapes.
func writeRespelled(b []byte, v any, rng *rand.Rand) []byte {
	space := func() {
		b = append(b, []string{"", "", " ", "\n", "\t", "\r\n", " \n\t "}[rng.IntN(7)]...)
	}
	space()
	switch v := v.(type) {
	case object:
		members := slices.Clone(v)
		if rng.IntN(2) == 0 {
			slices.Reverse(members)
		} else {
			rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
		}
		b = append(b, '{')
		for i, m := range members {
			if i > 0 {
				b = append(b, ',')
			}
			space()
			b = writeRespelledString(b, m.key, rng)
			space()
			b = append(b, ':')
			b = writeRespelled(b, m.value, rng)
		}
		space()
		b = append(b, '}')
	case array:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = writeRespelled(b, e, rng)
		}
		space()
		b = append(b, ']')
	case string:
		b = writeRespelledString(b, v, rng)
	case json.Number:
		b = append(b, v...)
	case bool:
		b = fmt.Appendf(b, "%t", v)
	case nil:
		b = append(b, "null"...)
	default:
		panic(fmt.Sprintf("unexpected %T", v))
	}
	space()
	return b
}

func writeRespelledString(b []byte, s string, rng *rand.Rand) []byte {
	short := map[rune]string{'"': `\"`, '\\': `\\`, '/': `\/`, '\b': `\b`, '\f': `\f`, '\n': `\n`, '\r': `\r`, '\t': `\t`}
	b = append(b, '"')
	for _, r := range s {
		literalOK := r >= 0x20 && r != '"' && r != '\\'
		switch choice := rng.IntN(3); {
		case choice == 0 && literalOK:
			b = utf8.AppendRune(b, r)
		case choice == 1 && short[r] != "":
			b = append(b, short[r]...)
		default:
			format := `\u%04x`
			if rng.IntN(2) == 0 {
				format = `\u%04X`
			}
			if r >= 0x10000 {
				r -= 0x10000
				b = fmt.Appendf(b, format+format, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			} else {
				b = fmt.Appendf(b, format, r)
			}
		}
	}
	return append(b, '"')
}
