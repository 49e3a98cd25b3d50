package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
)

func TestSignVerify(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for _, tt := range []struct {
		key crypto.Signer
		alg string
	}{{rsaKey, "PS256"}, {rsaKey, "RS256"}, {p256, "ES256"}, {p384, "ES384"}} {
		t.Run(tt.alg, func(t *testing.T) {
			tok, err := Sign(tt.key, tt.alg, map[string]any{"typ": "JWT"}, map[string]string{"sub": "x"})
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			if p.Alg() != tt.alg || p.HeaderString("typ") != "JWT" {
				t.Fatalf("header %v", p.Header)
			}
			var c map[string]string
			if json.Unmarshal(p.Payload, &c); c["sub"] != "x" {
				t.Fatalf("payload %s", p.Payload)
			}
			if err := p.Verify(tt.key.Public(), tt.alg); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if err := p.Verify(tt.key.Public(), "RS512"); err == nil {
				t.Fatal("verified with a disallowed algorithm")
			}
			tampered, _ := Parse(strings.Replace(tok, ".", ".e30", 1)[:len(tok)])
			if tampered != nil && tampered.Verify(tt.key.Public(), tt.alg) == nil {
				t.Fatal("tampered token verified")
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err == nil && p.Verify(&rsa.PublicKey{}, "RS256") == nil {
			t.Fatal("verified a fuzzed token")
		}
	})
}
