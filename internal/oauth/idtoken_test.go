package oauth

import (
	"reflect"
	"time"

	"encoding/base64"
	"strings"
	"testing"

	"github.com/entra-go/entra"
)

func jwt(payload string) string {
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
}

func TestParseIDToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		want    IDClaims
		wantErr bool
	}{
		{name: "entra", raw: jwt(`{"aud":"app","iss":"https://login.microsoftonline.com/t/v2.0","exp":1800000000,"sub":"s","oid":"o","tid":"t","preferred_username":"ada@contoso.example","name":"Ada","nonce":"n"}`),
			want: IDClaims{Audiences: []string{"app"}, Issuer: "https://login.microsoftonline.com/t/v2.0", Expiry: time.Unix(1800000000, 0), Subject: "s", ObjectID: "o", TenantID: "t", PreferredUsername: "ada@contoso.example", Name: "Ada", Nonce: "n"}},
		{name: "audience array, upn, no oid, fractional exp", raw: jwt(`{"aud":["other","app"],"exp":1800000000.5,"sub":"s","upn":"u@x"}`),
			want: IDClaims{Audiences: []string{"other", "app"}, Expiry: time.Unix(1800000000, 0), Subject: "s", ObjectID: "s", PreferredUsername: "u@x"}},
		{name: "two segments", raw: "a.b", wantErr: true},
		{name: "payload not base64", raw: "a.!!!.c", wantErr: true},
		{name: "payload not an object", raw: jwt(`[1]`), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIDToken(tt.raw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), tt.raw) {
				t.Error("the error shows the token")
			}
		})
	}
}

func TestIDClaimsCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	good := IDClaims{Audiences: []string{"other", "app"}, Issuer: "iss", TenantID: "t", Expiry: now.Add(time.Hour), Nonce: "n"}
	issuer := func(iss, tid string) bool { return iss == "iss" && tid == "t" }
	tests := []struct {
		name   string
		change func(*IDClaims)
		nonce  string
		ok     bool
	}{
		{name: "valid", change: func(*IDClaims) {}, nonce: "n", ok: true},
		{name: "no nonce asked", change: func(c *IDClaims) { c.Nonce = "" }, ok: true},
		{name: "expired within the skew", change: func(c *IDClaims) { c.Expiry = now.Add(-ClockSkew + time.Second) }, ok: true},
		{name: "another audience", change: func(c *IDClaims) { c.Audiences = []string{"other"} }},
		{name: "no audience", change: func(c *IDClaims) { c.Audiences = nil }},
		{name: "another issuer", change: func(c *IDClaims) { c.Issuer = "https://evil.example/t/v2.0" }},
		{name: "another tenant", change: func(c *IDClaims) { c.TenantID = "u" }},
		{name: "expired", change: func(c *IDClaims) { c.Expiry = now.Add(-ClockSkew) }},
		{name: "no exp", change: func(c *IDClaims) { c.Expiry = time.Time{} }},
		{name: "wrong nonce", change: func(c *IDClaims) { c.Nonce = "m" }, nonce: "n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			err := c.Check(IDCheck{ClientID: "app", Issuer: issuer, Nonce: tt.nonce, Now: now})
			if tt.ok != (err == nil) || (err != nil && entra.ErrorCode(err) != entra.CodeInvalidIDToken) {
				t.Fatalf("Check = %v, want ok=%t or %s", err, tt.ok, entra.CodeInvalidIDToken)
			}
		})
	}
}

func TestParseClientInfo(t *testing.T) {
	t.Parallel()
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		raw, want string
		wantErr   bool
	}{
		{raw: enc(`{"uid":"u","utid":"t"}`), want: "u.t"},
		{raw: base64.URLEncoding.EncodeToString([]byte(`{"uid":"u","utid":"t"}`)), want: "u.t"}, // padded
		{raw: enc(`{"uid":"u"}`), wantErr: true},
		{raw: "***", wantErr: true},
		{raw: enc(`null`), wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseClientInfo(tt.raw)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseClientInfo(%q) = %q, %v", tt.raw, got, err)
		}
	}
}

func FuzzParseIDToken(f *testing.F) {
	f.Add(jwt(`{"aud":"a","sub":"s"}`))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := ParseIDToken(raw)
		if err == nil && strings.Count(raw, ".") != 2 {
			t.Fatalf("accepted %q as %+v", raw, c)
		}
	})
}

func FuzzParseClientInfo(f *testing.F) {
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"u","utid":"t"}`)))
	f.Fuzz(func(t *testing.T, raw string) {
		if id, err := ParseClientInfo(raw); err == nil && !strings.Contains(id, ".") {
			t.Fatalf("home account id %q has no dot", id)
		}
	})
}
