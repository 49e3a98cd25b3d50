package oauth

import (
	"encoding/base64"
	"strings"
	"testing"
)

func jwt(payload string) string {
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
}

func TestParseIDToken(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    IDClaims
		wantErr bool
	}{
		{name: "entra", raw: jwt(`{"aud":"app","iss":"https://login.microsoftonline.com/t/v2.0","sub":"s","oid":"o","tid":"t","preferred_username":"ada@contoso.example","name":"Ada","nonce":"n"}`),
			want: IDClaims{Audience: "app", Issuer: "https://login.microsoftonline.com/t/v2.0", Subject: "s", ObjectID: "o", TenantID: "t", PreferredUsername: "ada@contoso.example", Name: "Ada", Nonce: "n"}},
		{name: "audience array, upn, no oid", raw: jwt(`{"aud":["app","other"],"sub":"s","upn":"u@x"}`),
			want: IDClaims{Audience: "app", Subject: "s", ObjectID: "s", PreferredUsername: "u@x"}},
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
			if !tt.wantErr && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), tt.raw) {
				t.Error("the error shows the token")
			}
		})
	}
}

func TestParseClientInfo(t *testing.T) {
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
