package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
)

const decodeAbout = `Reads TOKEN, or standard input with - or no argument (which keeps the
token out of the process list): a JWT, "Bearer JWT", or the JSON that
"entra token" prints. Prints the header and claims (the signature never),
each time claim as RFC 3339 with how long ago or until, and the cnf binding
of a proof-of-possession token. Nothing is verified: the signature is not
checked, so the claims are what the token says, not what is true. A token
that is not a JWT is reported as opaque; an encrypted one (JWE) shows its
header only.
`

// maxTokenInput bounds what decode reads from standard input.
const maxTokenInput = 1 << 20

// timeClaims are the claims that hold NumericDate times.
var timeClaims = []string{"exp", "nbf", "iat", "auth_time"}

// decodeOutput is decode's JSON contract.
type decodeOutput struct {
	decodedToken
	// Times are the time claims, readable.
	Times map[string]claimTime `json:"times,omitempty"`
	// Confirmation is the cnf claim: what the token is bound to.
	Confirmation json.RawMessage `json:"cnf,omitempty"`
}

type claimTime struct {
	Time     string `json:"time"`
	Relative string `json:"relative"`
}

func setupDecode(fs *flagSet, e env) runFunc {
	output := fs.output("json")
	return func(_ context.Context, args []string) error {
		if len(args) > 1 {
			return fmt.Errorf("%w: give one TOKEN, or - for standard input", errUsage)
		}
		token, err := readToken(args, e)
		if err != nil {
			return err
		}
		out, err := decodeToken(token, time.Now())
		if err != nil {
			return err
		}
		if output.value == "text" {
			return printDecoded(e.stdout, out)
		}
		return printJSON(e.stdout, out)
	}
}

// readToken is the argument, or standard input for "-" or none.
func readToken(args []string, e env) (string, error) {
	if len(args) == 1 && args[0] != "-" {
		return tokenText(args[0]), nil
	}
	stdin := e.stdin
	if stdin == nil {
		if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && len(args) == 0 {
			return "", fmt.Errorf("%w: give a TOKEN, or pipe one in (standard input is a terminal)", errUsage)
		}
		stdin = os.Stdin
	}
	b, err := io.ReadAll(io.LimitReader(stdin, maxTokenInput+1))
	switch {
	case err != nil:
		return "", errs.Wrap(entra.CodeInvalidArgument, err, "cannot read the token from standard input")
	case len(b) > maxTokenInput:
		return "", errs.New(entra.CodeInvalidArgument, "standard input holds more than %d bytes: not a token", maxTokenInput)
	}
	return tokenText(string(b)), nil
}

// tokenText is the token in text: trimmed, without a "Bearer " scheme,
// or the access_token of "entra token" JSON output.
func tokenText(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		var out struct {
			AccessToken string `json:"access_token"`
		}
		if json.Unmarshal([]byte(s), &out) == nil && out.AccessToken != "" {
			return out.AccessToken
		}
	}
	if scheme, rest, ok := strings.Cut(s, " "); ok && (strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "mtls_pop")) {
		return strings.TrimSpace(rest)
	}
	return s
}

// decodeToken decodes token and reads its times against now.
func decodeToken(token string, now time.Time) (decodeOutput, error) {
	if token == "" {
		return decodeOutput{}, errs.New(entra.CodeInvalidArgument, "the token is empty")
	}
	d, err := decodeJWT(token)
	if err != nil {
		return decodeOutput{}, errs.New(entra.CodeInvalidArgument, "%v", err)
	}
	out := decodeOutput{decodedToken: d}
	if d.Claims == nil {
		return out, nil
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(d.Claims, &claims); err != nil {
		return out, errs.Wrap(entra.CodeInvalidArgument, err, "the token's claims are not a JSON object")
	}
	out.Confirmation = claims["cnf"]
	for _, name := range timeClaims {
		var v float64
		if raw, ok := claims[name]; !ok || json.Unmarshal(raw, &v) != nil || math.IsNaN(v) || math.Abs(v) > 253402300799 {
			continue
		}
		if out.Times == nil {
			out.Times = map[string]claimTime{}
		}
		out.Times[name] = readableTime(name, v, now)
	}
	return out, nil
}

// readableTime is a NumericDate as RFC 3339, with how far from now.
func readableTime(name string, v float64, now time.Time) claimTime {
	sec, frac := math.Modf(v)
	t := time.Unix(int64(sec), int64(frac*1e9)).UTC()
	d := t.Sub(now).Round(time.Second)
	var rel string
	switch {
	case name == "exp" && d > 0:
		rel = "expires in " + span(d)
	case name == "exp":
		rel = "expired " + span(-d) + " ago"
	case d > 0:
		rel = "in " + span(d)
	default:
		rel = span(-d) + " ago"
	}
	return claimTime{Time: t.Format(time.RFC3339), Relative: rel}
}

// span is a duration as people read it: 1h0m0s, or from two days on in
// days and hours.
func span(d time.Duration) string {
	if d < 48*time.Hour {
		return d.String()
	}
	return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
}

// printDecoded prints the text form: one "name: value" line per header
// field and claim, sorted, time claims annotated.
func printDecoded(w io.Writer, out decodeOutput) error {
	var b strings.Builder
	fmt.Fprintf(&b, "format: %s (%d bytes)\n", out.Format, out.Length)
	if out.Format == "opaque" {
		b.WriteString("not a JWT: only its issuer can read it\n")
	}
	for _, part := range []struct {
		title string
		raw   json.RawMessage
	}{{"header", out.Header}, {"claims", out.Claims}} {
		if part.raw == nil {
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(part.raw, &fields); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s:\n", part.title)
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			fmt.Fprintf(&b, "  %s: %s", k, compactJSON(fields[k]))
			if t, ok := out.Times[k]; ok && part.title == "claims" {
				fmt.Fprintf(&b, " (%s, %s)", t.Time, t.Relative)
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// compactJSON is a JSON value on one line; a string without its quotes.
func compactJSON(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return oneLine(s)
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
