package main

import (
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra"
)

func jwtOf(header, claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + ".c2lnbmF0dXJl"
}

func TestDecodeToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, token string
		wantFormat  string
		wantCode    entra.Code
		check       func(t *testing.T, out decodeOutput)
	}{
		{name: "signed JWT with times and cnf", wantFormat: "jwt",
			token: jwtOf(`{"alg":"RS256","kid":"k1"}`, `{"aud":"api://x","exp":1796130000,"nbf":1796126399.5,"cnf":{"x5t#S256":"abc"}}`),
			check: func(t *testing.T, out decodeOutput) {
				if got := out.Times["exp"]; got.Time != "2026-12-01T13:00:00Z" || got.Relative != "expires in 1h0m0s" {
					t.Errorf("exp %+v", got)
				}
				if got := out.Times["nbf"]; got.Time != "2026-12-01T11:59:59Z" || got.Relative != "1s ago" {
					t.Errorf("nbf %+v", got)
				}
				if string(out.Confirmation) != `{"x5t#S256":"abc"}` || !strings.Contains(string(out.Header), `"kid":"k1"`) {
					t.Errorf("cnf %s header %s", out.Confirmation, out.Header)
				}
			}},
		{name: "expired", wantFormat: "jwt", token: jwtOf(`{"alg":"none"}`, `{"exp":1796122800}`),
			check: func(t *testing.T, out decodeOutput) {
				if got := out.Times["exp"].Relative; got != "expired 1h0m0s ago" {
					t.Errorf("relative %q", got)
				}
			}},
		{name: "far times in days", wantFormat: "jwt", token: jwtOf(`{"alg":"none"}`, `{"exp":1796731200,"iat":1764590400}`),
			check: func(t *testing.T, out decodeOutput) {
				if got := out.Times["exp"].Relative; got != "expires in 7d0h" {
					t.Errorf("exp %q", got)
				}
				if got := out.Times["iat"].Relative; got != "365d0h ago" {
					t.Errorf("iat %q", got)
				}
			}},
		{name: "padded segments", wantFormat: "jwt", token: base64.URLEncoding.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." +
			base64.URLEncoding.EncodeToString([]byte(`{"a":1}`)) + ".sig"},
		{name: "a time claim that is not a number is kept, not read", wantFormat: "jwt", token: jwtOf(`{"alg":"RS256"}`, `{"exp":"soon"}`),
			check: func(t *testing.T, out decodeOutput) {
				if len(out.Times) != 0 || !strings.Contains(string(out.Claims), `"exp":"soon"`) {
					t.Errorf("%+v", out)
				}
			}},
		{name: "encrypted", wantFormat: "jwe", token: jwtOf(`{"alg":"RSA-OAEP","enc":"A256GCM"}`, "k") + ".iv.tag",
			check: func(t *testing.T, out decodeOutput) {
				if out.Claims != nil {
					t.Errorf("claims of a JWE: %s", out.Claims)
				}
			}},
		{name: "opaque", wantFormat: "opaque", token: "EwBwA8l6BAAU7p9QDpi/D7xJLwsTgCg3TskyTaQAAf"},
		{name: "opaque with dots", wantFormat: "opaque", token: "a.b.c"},
		{name: "a JWT whose claims are not JSON", wantCode: entra.CodeInvalidArgument, token: "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.sig"},
		{name: "a JWT whose header is not base64url", wantCode: entra.CodeInvalidArgument, token: "eyJ*.e30.sig"},
		{name: "a JWT whose claims are an array", wantCode: entra.CodeInvalidArgument, token: jwtOf(`{"alg":"RS256"}`, `[1]`)},
		{name: "empty", wantCode: entra.CodeInvalidArgument, token: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := decodeToken(tt.token, now)
			if entra.ErrorCode(err) != tt.wantCode {
				t.Fatalf("error %v, want code %q", err, tt.wantCode)
			}
			if err != nil {
				return
			}
			if out.Format != tt.wantFormat || out.Length != len(tt.token) {
				t.Fatalf("format %q length %d", out.Format, out.Length)
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

func TestTokenText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"  abc \n":                     "abc",
		"Bearer abc":                   "abc",
		"mtls_pop abc":                 "abc",
		`{"access_token":"abc","x":1}`: "abc",
		`{"no_token":1}`:               `{"no_token":1}`,
		"two words":                    "two words",
	} {
		if got := tokenText(in); got != want {
			t.Errorf("tokenText(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDecodeToken: decode never panics on outside input, what it calls a
// JWT has a JSON object for header and claims, and the signature never
// appears in its output.
func FuzzDecodeToken(f *testing.F) {
	f.Add(jwtOf(`{"alg":"RS256"}`, `{"exp":1796130000,"cnf":{"jkt":"x"}}`))
	f.Add("eyJ.e30.")
	f.Add("eyJhbGciOiJub25lIn0.eyJleHAiOjF9.c2ln.x.y")
	f.Add("opaque")
	f.Add(`{"access_token":"eyJhbGciOiJub25lIn0.e30.x"}`)
	f.Add("Bearer eyJhbGciOiJub25lIn0.e30.x")
	f.Fuzz(func(t *testing.T, input string) {
		token := tokenText(input)
		out, err := decodeToken(token, time.Unix(0, 0))
		if err != nil {
			if entra.ErrorCode(err) != entra.CodeInvalidArgument {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		if out.Format == "jwt" {
			var h, c map[string]any
			if json.Unmarshal(out.Header, &h) != nil || json.Unmarshal(out.Claims, &c) != nil {
				t.Fatalf("header %s claims %s", out.Header, out.Claims)
			}
			if sig := token[strings.LastIndex(token, ".")+1:]; len(sig) > 8 && strings.Contains(string(b), sig) {
				t.Fatalf("output shows the signature")
			}
		}
	})
}

// TestDecodeCommand runs the built binary on a token from the emulator,
// given on standard input as "entra token" prints it, and on an opaque
// string.
func TestDecodeCommand(t *testing.T) {
	t.Parallel()
	em, ca, certFile := startEmulator(t)
	dc := em.DefaultClient()
	c := cli{bin: binary(t), env: []string{"SSL_CERT_FILE=" + ca}}
	tokJSON, stderr, status := c.run(t, "token", "client-credentials", "--authority", em.URL()+"/oidc", "--authority-type", "oidc",
		"--client-id", dc.ID, "--cert", certFile, "--mtls-pop", "--scope", "api://x/.default")
	if status != 0 {
		t.Fatalf("token: %s", stderr)
	}
	var tok tokenOutput
	json.Unmarshal([]byte(tokJSON), &tok)

	cmd := exec.Command(c.bin, "decode")
	cmd.Stdin = strings.NewReader(tokJSON)
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	var out struct {
		Format string
		Header map[string]any
		Claims map[string]any
		Times  map[string]claimTime
		Cnf    map[string]string
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("decode output: %v\n%s", err, stdout)
	}
	if out.Format != "jwt" || out.Header["alg"] == nil || out.Claims["aud"] == nil || out.Cnf["x5t#S256"] != tok.BindingCertificateSHA256 {
		t.Fatalf("decoded %+v, want cnf x5t#S256 %s", out, tok.BindingCertificateSHA256)
	}
	if exp := out.Times["exp"]; exp.Time == "" || !strings.HasPrefix(exp.Relative, "expires in ") {
		t.Fatalf("exp %+v", exp)
	}
	signature := tok.AccessToken[strings.LastIndex(tok.AccessToken, ".")+1:]
	if strings.Contains(string(stdout), signature) {
		t.Fatal("decode shows the signature")
	}

	text, _, status := c.run(t, "decode", "-o", "text", tok.AccessToken)
	if status != 0 || !strings.Contains(text, "format: jwt") || !strings.Contains(text, "  exp: ") || !strings.Contains(text, ", expires in ") {
		t.Fatalf("decode -o text: exit %d\n%s", status, text)
	}
	opaque, _, status := c.run(t, "decode", "EwBwA8l6BAAU7p9QDpi")
	if status != 0 || !strings.Contains(opaque, `"format": "opaque"`) || strings.Contains(opaque, "claims") {
		t.Fatalf("opaque: exit %d\n%s", status, opaque)
	}
	_, stderr, status = c.run(t, "decode", "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.sig")
	if status != 1 || stderr != "entra: invalid_argument: the token looks like a JWT but its claims are not a JSON object\n" {
		t.Fatalf("malformed JWT: exit %d: %q", status, stderr)
	}
}
