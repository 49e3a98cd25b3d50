package csr

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func rsaKey(t testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

var sample = Request{ClientID: "11111111-2222-3333-4444-555555555555", TenantID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
	CuID: `{"vmId":"0e8f2b1c-1d2e-4f3a-9b8c-7d6e5f4a3b2c","vmssId":"v"}`}

func TestBuildParsesBack(t *testing.T) {
	der, err := Build(rsaKey(t), sample)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	if p.Request != sample {
		t.Fatalf("parsed %+v, want %+v", p.Request, sample)
	}
	// crypto/x509 reads it on its own and checks the PSS signature.
	if err := p.CSR.CheckSignature(); err != nil {
		t.Fatal(err)
	}
	if got := p.CSR.Subject.CommonName; got != sample.ClientID {
		t.Fatalf("CN %q", got)
	}
}

// TestOpenSSLVerifies has an independent parser check the request.
func TestOpenSSLVerifies(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	der, err := Build(rsaKey(t), sample)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "req.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "req", "-in", path, "-verify", "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"verify OK", "rsassaPss", "1.3.6.1.4.1.311.90.2.10", "Salt Length: 0x20", sample.ClientID, sample.TenantID} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl output lacks %q:\n%s", want, text)
		}
	}
}

func TestBuildRefusesKeys(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	for name, key := range map[string]crypto.Signer{"ecdsa": ec, "rsa1024": small} {
		t.Run(name, func(t *testing.T) {
			if _, err := Build(key, sample); err == nil {
				t.Fatal("Build accepted the key")
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	good, err := Build(rsaKey(t), sample)
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), good...)
	tampered[len(tampered)-300] ^= 0x40 // inside the request info or signature
	noCN, _ := Build(rsaKey(t), Request{TenantID: sample.TenantID, CuID: "{}"})
	for name, der := range map[string][]byte{
		"empty": nil, "garbage": []byte("not a request"), "tampered": tampered, "no CN": noCN,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(der); err == nil {
				t.Fatal("Parse accepted it")
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	good, err := Build(rsaKey(f), sample)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		p, err := Parse(der)
		if err == nil && (p.ClientID == "" || p.TenantID == "") {
			t.Fatal("a request without CN or DC was accepted")
		}
	})
}
