package claims

import (
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

// maxDepth is the deepest nesting of objects and arrays accepted. Real claims
// requests nest three or four levels; the cap keeps recursion bounded.
const maxDepth = 64

// The complete set of messages a parse error can carry. None of them is ever
// formatted with input text, so errors cannot leak claims.
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

// invalid returns the package's only kind of error.
func invalid(msg string) error {
	return errs.New(entra.CodeInvalidJSONClaims, "%s", msg)
}

// kind is the type of a JSON value.
type kind uint8

const (
	kindNull kind = iota
	kindFalse
	kindTrue
	kindNumber
	kindString
	kindArray
	kindObject
)

// node is a parsed JSON value.
type node struct {
	kind kind
	// text is the decoded value of a string, or a number exactly as written.
	text string
	// elems are the elements of an array.
	elems []*node
	// members are the members of an object, sorted by key, keys unique.
	members []member
}

// member is one key/value pair of an object.
type member struct {
	key   string
	value *node
}

// isBlank reports whether s is empty or only JSON whitespace.
func isBlank(s string) bool {
	return strings.TrimLeft(s, " \t\r\n") == ""
}

// parse parses s as a claims request: a single JSON object with nothing
// after it. Callers handle blank input before calling it.
func parse(s string) (*node, error) {
	// Checked once up front so that the scanner can copy bytes >= 0x80
	// without decoding them.
	if !utf8.ValidString(s) {
		return nil, invalid(msgInvalidUTF8)
	}
	p := parser{s: s}
	p.skipSpace()
	if p.i >= len(s) || s[p.i] != '{' {
		return nil, invalid(msgNotObject)
	}
	root, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(s) {
		return nil, invalid(msgTrailing)
	}
	return root, nil
}

// parser is a recursive-descent scanner over valid UTF-8 text.
type parser struct {
	s string
	i int
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// value parses the value starting at the next non-space byte. depth is the
// number of containers enclosing it.
func (p *parser) value(depth int) (*node, error) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return nil, invalid(msgTruncated)
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		str, err := p.str()
		if err != nil {
			return nil, err
		}
		return &node{kind: kindString, text: str}, nil
	case c == 't':
		return p.literal("true", kindTrue)
	case c == 'f':
		return p.literal("false", kindFalse)
	case c == 'n':
		return p.literal("null", kindNull)
	case c == '-' || isDigit(c):
		return p.number()
	default:
		return nil, invalid(msgSyntax)
	}
}

// object parses an object; p.i is at '{'.
func (p *parser) object(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, invalid(msgTooDeep)
	}
	p.i++
	n := &node{kind: kindObject}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return n, nil
	}
	for {
		p.skipSpace()
		if err := p.expect('"'); err != nil {
			return nil, err
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		p.i++
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		n.members = append(n.members, member{key: key, value: v})
		p.skipSpace()
		if err := p.expect(',', '}'); err != nil {
			return nil, err
		}
		p.i++
		if p.s[p.i-1] == '}' {
			break
		}
	}
	// Sorting here makes the tree canonical at once and turns the duplicate
	// check into a comparison of neighbours.
	slices.SortFunc(n.members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	for i := 1; i < len(n.members); i++ {
		if n.members[i].key == n.members[i-1].key {
			return nil, invalid(msgDuplicateKey)
		}
	}
	return n, nil
}

// array parses an array; p.i is at '['.
func (p *parser) array(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, invalid(msgTooDeep)
	}
	p.i++
	n := &node{kind: kindArray}
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return n, nil
	}
	for {
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		n.elems = append(n.elems, v)
		p.skipSpace()
		if err := p.expect(',', ']'); err != nil {
			return nil, err
		}
		p.i++
		if p.s[p.i-1] == ']' {
			return n, nil
		}
	}
}

// expect checks that the byte at p.i is one of want, without consuming it.
func (p *parser) expect(want ...byte) error {
	if p.i >= len(p.s) {
		return invalid(msgTruncated)
	}
	if !slices.Contains(want, p.s[p.i]) {
		return invalid(msgSyntax)
	}
	return nil
}

// literal parses true, false or null.
func (p *parser) literal(word string, k kind) (*node, error) {
	rest := p.s[p.i:]
	if !strings.HasPrefix(rest, word) {
		if strings.HasPrefix(word, rest) {
			return nil, invalid(msgTruncated)
		}
		return nil, invalid(msgSyntax)
	}
	p.i += len(word)
	return &node{kind: k}, nil
}

// number scans an RFC 8259 number and keeps its literal text.
func (p *parser) number() (*node, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	if p.i >= len(p.s) {
		return nil, invalid(msgTruncated)
	}
	switch c := p.s[p.i]; {
	case c == '0':
		p.i++
	case isDigit(c):
		p.digits()
	default:
		return nil, invalid(msgNumber)
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if err := p.requireDigits(); err != nil {
			return nil, err
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if err := p.requireDigits(); err != nil {
			return nil, err
		}
	}
	// A number directly followed by more number characters ("01", "1.2.3",
	// "1e5e") is one malformed number, not a number and a stray character.
	if p.i < len(p.s) && strings.IndexByte("0123456789.eE+-", p.s[p.i]) >= 0 {
		return nil, invalid(msgNumber)
	}
	return &node{kind: kindNumber, text: p.s[start:p.i]}, nil
}

// requireDigits consumes one or more digits.
func (p *parser) requireDigits() error {
	if p.i >= len(p.s) {
		return invalid(msgTruncated)
	}
	if !isDigit(p.s[p.i]) {
		return invalid(msgNumber)
	}
	p.digits()
	return nil
}

func (p *parser) digits() {
	for p.i < len(p.s) && isDigit(p.s[p.i]) {
		p.i++
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// str parses a string literal; p.i is at the opening quote. It returns the
// decoded value.
func (p *parser) str() (string, error) {
	p.i++
	start := p.i
	// Most strings have no escapes: return a substring without copying.
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '"' {
			p.i++
			return p.s[start : p.i-1], nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", invalid(msgControl)
		}
		p.i++
	}
	buf := []byte(p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), nil
		case c < 0x20:
			return "", invalid(msgControl)
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		// An escape sequence.
		p.i++
		if p.i >= len(p.s) {
			return "", invalid(msgTruncated)
		}
		e := p.s[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := p.unicodeEscape()
			if err != nil {
				return "", err
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", invalid(msgEscape)
		}
	}
	return "", invalid(msgTruncated)
}

// unicodeEscape decodes the hex digits of a \u escape (p.i is just after the
// 'u'), combining a surrogate pair into one rune. Unpaired surrogates are
// refused because they cannot be written as UTF-8.
func (p *parser) unicodeEscape() (rune, error) {
	r, err := p.hex4()
	if err != nil {
		return 0, err
	}
	if !utf16.IsSurrogate(r) {
		return r, nil
	}
	if r >= 0xDC00 { // a low surrogate cannot come first
		return 0, invalid(msgSurrogate)
	}
	if len(p.s)-p.i < 2 {
		if strings.HasPrefix(`\u`, p.s[p.i:]) {
			return 0, invalid(msgTruncated)
		}
		return 0, invalid(msgSurrogate)
	}
	if p.s[p.i] != '\\' || p.s[p.i+1] != 'u' {
		return 0, invalid(msgSurrogate)
	}
	p.i += 2
	low, err := p.hex4()
	if err != nil {
		return 0, err
	}
	combined := utf16.DecodeRune(r, low)
	if combined == utf8.RuneError {
		return 0, invalid(msgSurrogate)
	}
	return combined, nil
}

// hex4 decodes four hex digits.
func (p *parser) hex4() (rune, error) {
	var r rune
	for range 4 {
		if p.i >= len(p.s) {
			return 0, invalid(msgTruncated)
		}
		c := p.s[p.i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, invalid(msgEscape)
		}
		r = r<<4 | rune(d)
		p.i++
	}
	return r, nil
}
