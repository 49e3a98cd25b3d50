package jws

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/json"
	"io"
	"math/big"
	"strings"
	"testing"
)

func TestSignVerify(t *testing.T) {
	t.Parallel()
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

// garbageSigner returns a fixed signature whatever it is asked to sign.
type garbageSigner struct {
	pub crypto.PublicKey
	sig []byte
}

func (g garbageSigner) Public() crypto.PublicKey { return g.pub }
func (g garbageSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return g.sig, nil
}

// TestCheckSignature: Sign leaves verification to CheckSignature, which
// tells a faulty signer's output from a good one.
func TestCheckSignature(t *testing.T) {
	t.Parallel()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	wrongASN1, _ := asn1.Marshal(struct{ R, S *big.Int }{big.NewInt(1), big.NewInt(1)})
	tests := []struct {
		name    string
		signer  crypto.Signer
		alg     string
		signErr error // from Sign
		checked error // from CheckSignature
	}{
		{"RSA PS256", rsaKey, "PS256", nil, nil},
		{"RSA RS256", rsaKey, "RS256", nil, nil},
		{"ECDSA ES256", p256, "ES256", nil, nil},
		{"RSA garbage", garbageSigner{&rsaKey.PublicKey, []byte("garbage")}, "PS256", nil, ErrInvalidSignature},
		{"ECDSA valid ASN.1, wrong signature", garbageSigner{&p256.PublicKey, wrongASN1}, "ES256", nil, ErrInvalidSignature},
		{"ECDSA not ASN.1", garbageSigner{&p256.PublicKey, make([]byte, 64)}, "ES256", ErrInvalidSignature, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Sign(tt.signer, tt.alg, map[string]any{"typ": "JWT"}, map[string]string{"sub": "x"})
			if err != tt.signErr {
				t.Fatalf("Sign: %v, want %v", err, tt.signErr)
			}
			if err != nil {
				return
			}
			if err := CheckSignature(tok, tt.signer.Public(), tt.alg); err != tt.checked {
				t.Fatalf("CheckSignature: %v, want %v", err, tt.checked)
			}
		})
	}
	tok, _ := Sign(rsaKey, "PS256", nil, map[string]string{"sub": "x"})
	if CheckSignature(tok, &rsaKey.PublicKey, "RS256") != ErrInvalidSignature {
		t.Error("a PS256 token passed as RS256")
	}
	if CheckSignature("not.a.token", &rsaKey.PublicKey, "PS256") != ErrInvalidSignature {
		t.Error("a malformed token passed")
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

func TestRawECDSA(t *testing.T) {
	t.Parallel()
	der := func(r, s *big.Int) []byte { b, _ := asn1.Marshal(struct{ R, S *big.Int }{r, s}); return b }
	tests := []struct {
		name string
		in   []byte
		want []byte // nil: an error
	}{
		{"padded", der(big.NewInt(1), big.NewInt(0x0203)), append(append(make([]byte, 3), 1), 0, 0, 2, 3)},
		{"full width", der(big.NewInt(0x7f010203), big.NewInt(0x7f040506)), []byte{0x7f, 1, 2, 3, 0x7f, 4, 5, 6}},
		{"trailing data", append(der(big.NewInt(1), big.NewInt(1)), 0), nil},
		{"too wide", der(big.NewInt(0x0100000000), big.NewInt(1)), nil},
		{"zero", der(big.NewInt(0), big.NewInt(1)), nil},
		{"negative", der(big.NewInt(-1), big.NewInt(1)), nil},
		{"not ASN.1", []byte{1, 2, 3}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RawECDSA(tt.in, 4)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("got %x, want an error", got)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("got %x, %v; want %x", got, err, tt.want)
			}
		})
	}
}
