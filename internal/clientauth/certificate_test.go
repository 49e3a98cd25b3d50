package clientauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/entra-go/entra"
)

// Fixture files (made by testdata/gen.sh) and their PFX password.
const fixturePassword = "test-password"

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixturePath(name string) string { return filepath.Join("testdata", name) }

// fixtureRSAKey is testdata/rsa-pkcs1.key; reading it is much faster than
// generating an RSA key, especially under the race detector.
func fixtureRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	b, _ := pem.Decode(fixture(t, "rsa-pkcs1.key"))
	k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func fixtureLeafKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	b, _ := pem.Decode(fixture(t, "chain-leaf.key"))
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func ecKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// selfSigned returns a certificate for key, valid from nb to na.
func selfSigned(t testing.TB, key crypto.Signer, cn string, nb, na time.Time) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: nb, NotAfter: na}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func validCert(t testing.TB, key crypto.Signer, cn string) *x509.Certificate {
	return selfSigned(t, key, cn, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func commonNames(chain []*x509.Certificate) []string {
	var out []string
	for _, c := range chain {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func TestLoadCertificateFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cert, key string
		password        string
		wantChain       []string
	}{
		{name: "PKCS#1 RSA key", cert: "rsa.crt", key: "rsa-pkcs1.key", wantChain: []string{"entra-test-rsa"}},
		{name: "PKCS#8 RSA key", cert: "rsa.crt", key: "rsa-pkcs8.key", wantChain: []string{"entra-test-rsa"}},
		{name: "SEC 1 EC key", cert: "ec.crt", key: "ec-sec1.key", wantChain: []string{"entra-test-ec"}},
		{name: "PKCS#8 EC key", cert: "ec.crt", key: "ec-pkcs8.key", wantChain: []string{"entra-test-ec"}},
		{name: "chain out of order", cert: "chain.pem", key: "chain-leaf.key",
			wantChain: []string{"entra-test-leaf", "entra-test-intermediate", "entra-test-root"}},
		{name: "OpenSSL 3 default PFX", cert: "chain.pfx", password: fixturePassword,
			wantChain: []string{"entra-test-leaf", "entra-test-intermediate", "entra-test-root"}},
		{name: "legacy PFX", cert: "legacy.pfx", password: fixturePassword, wantChain: []string{"entra-test-rsa"}},
		{name: "PFX without password", cert: "nopass.pfx", wantChain: []string{"entra-test-rsa"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(fixturePath(tt.cert)); tt.cert == "legacy.pfx" && err != nil {
				t.Skip("legacy.pfx was not generated (no OpenSSL legacy provider)")
			}
			keyPath := ""
			if tt.key != "" {
				keyPath = fixturePath(tt.key)
			}
			c, err := LoadCertificate(fixturePath(tt.cert), keyPath, CertificateOptions{Password: tt.password})
			if err != nil {
				t.Fatal(err)
			}
			if got := commonNames(c.Chain()); !slices.Equal(got, tt.wantChain) {
				t.Fatalf("chain %v, want %v", got, tt.wantChain)
			}
			if _, err := c.Material(context.Background(), testRequest(DialectAAD)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseCertificateBundles(t *testing.T) {
	t.Parallel()
	rsaCert, pkcs1 := fixture(t, "rsa.crt"), fixture(t, "rsa-pkcs1.key")
	tests := []struct {
		name      string
		cert, key []byte
	}{
		{"key after certificate", join(rsaCert, pkcs1), nil},
		{"key before certificate", join(pkcs1, rsaCert), nil},
		{"same bundle as certificate and key", join(rsaCert, pkcs1), join(rsaCert, pkcs1)},
		{"text around the blocks", join([]byte("Bag Attributes\n  friendlyName: x\n"), rsaCert, []byte("\n# key\n"), pkcs1), nil},
		{"EC PARAMETERS block", join([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"), fixture(t, "ec-sec1.key"), fixture(t, "ec.crt")), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseCertificate(tt.cert, tt.key, CertificateOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

type errorCase struct {
	name      string
	cert, key []byte
	password  string
	want      string
}

// parseErrorCases are inputs ParseCertificate must refuse, each with a
// distinct part of the message it must give.
func parseErrorCases(t testing.TB) []errorCase {
	rsaKey := fixtureRSAKey(t)
	rsaCert, pkcs1, pkcs8 := fixture(t, "rsa.crt"), fixture(t, "rsa-pkcs1.key"), fixture(t, "rsa-pkcs8.key")
	pfx := fixture(t, "chain.pfx")
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224 := ecKey(t, elliptic.P224())
	p224DER, _ := x509.MarshalECPrivateKey(p224)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ed8, _ := x509.MarshalPKCS8PrivateKey(edKey)
	procType := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"},
		Bytes:   []byte{1, 2, 3}})
	expired := selfSigned(t, rsaKey, "old", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
	future := selfSigned(t, rsaKey, "future", time.Now().Add(24*time.Hour), time.Now().Add(48*time.Hour))
	corrupt := bytes.Replace(rsaCert, []byte("MII"), []byte("M!I"), 1)

	return []errorCase{
		{name: "empty", cert: nil, want: "the certificate data is empty"},
		{name: "empty (blank)", cert: []byte(" \n\t"), want: "the certificate data is empty"},
		{name: "garbage", cert: []byte("hello, world"), want: "neither PEM nor PKCS#12"},
		{name: "truncated PFX", cert: pfx[:len(pfx)/2], password: fixturePassword, want: "PKCS#12 (PFX) data is malformed or truncated"},
		{name: "wrong PFX password", cert: pfx, password: "not-the-password", want: "PKCS#12 (PFX) password is wrong"},
		{name: "missing PFX password", cert: pfx, want: "no password was given"},
		{name: "PFX with separate key", cert: pfx, key: pkcs1, password: fixturePassword, want: "pass no separate key"},
		{name: "truncated PEM certificate", cert: rsaCert[:len(rsaCert)/2], want: "certificate data is malformed or truncated: 1 of its 1"},
		{name: "truncated PEM key", cert: rsaCert, key: pkcs1[:len(pkcs1)/2], want: "key data is malformed or truncated"},
		{name: "corrupt base64 before a good block", cert: join(corrupt, pkcs1), want: "1 of its 2 PEM blocks cannot be decoded"},
		{name: "certificate block not DER", cert: join(pemOf("CERTIFICATE", []byte("not DER")), pkcs1), want: "certificate 1 in the certificate data cannot be parsed"},
		{name: "key block not DER", cert: join(rsaCert, pemOf("RSA PRIVATE KEY", []byte("not DER"))), want: "(RSA PRIVATE KEY) cannot be parsed"},
		{name: "no certificate", cert: pkcs1, want: "contains no certificate"},
		{name: "no key", cert: rsaCert, want: "the certificate data contains no private key"},
		{name: "key data without key", cert: rsaCert, key: rsaCert, want: "the key data contains no private key"},
		{name: "key data not PEM", cert: rsaCert, key: []byte("secret-ish"), want: "the key data is not PEM"},
		{name: "two keys", cert: join(rsaCert, pkcs1, pkcs8), want: "more than one private key"},
		{name: "key matches no certificate", cert: rsaCert, key: fixture(t, "chain-leaf.key"), want: "does not match any of the 1 certificate(s)"},
		{name: "encrypted PKCS#8", cert: rsaCert, key: fixture(t, "rsa-encrypted-pkcs8.key"), want: "is encrypted, which is not supported for PEM: use a password-protected PKCS#12"},
		{name: "encrypted PKCS#1 (OpenSSL)", cert: rsaCert, key: fixture(t, "rsa-encrypted-pkcs1.key"), want: "key data is encrypted"},
		{name: "encrypted PKCS#1 (Proc-Type)", cert: join(rsaCert, procType), want: "certificate data is encrypted"},
		{name: "Ed25519 (OpenSSL)", cert: fixture(t, "ed25519.pem"), want: "Ed25519 keys are not supported"},
		{name: "Ed25519 (PKCS#8)", cert: join(rsaCert, pemOf("PRIVATE KEY", ed8)), want: "Ed25519 keys are not supported"},
		{name: "OpenSSH key", cert: join(rsaCert, pemOf("OPENSSH PRIVATE KEY", []byte{1})), want: `unsupported format "OPENSSH PRIVATE KEY"`},
		{name: "RSA 1024", cert: join(pemOf("CERTIFICATE", validCert(t, weak, "weak").Raw), pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(weak))), want: "the RSA key has 1024 bits; at least 2048"},
		{name: "P-224", cert: join(pemOf("CERTIFICATE", validCert(t, p224, "p224").Raw), pemOf("EC PRIVATE KEY", p224DER)), want: "curve is not supported"},
		{name: "expired", cert: join(pemOf("CERTIFICATE", expired.Raw), pkcs1), want: `"CN=old" has expired: it was valid from 2020-01-01T00:00:00Z to 2021-01-01T00:00:00Z`},
		{name: "not yet valid", cert: join(pemOf("CERTIFICATE", future.Raw), pkcs1), want: `"CN=future" is not valid yet: it is valid from ` + future.NotBefore.UTC().Format(time.RFC3339)},
	}
}

func TestParseCertificateErrors(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, tt := range parseErrorCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCertificate(tt.cert, tt.key, CertificateOptions{Password: tt.password})
			if c != nil {
				t.Fatal("got a credential with an error")
			}
			var e *entra.Error
			if !errors.As(err, &e) || e.Code != entra.CodeInvalidCredentialMaterial {
				t.Fatalf("got %#v, want an *entra.Error with code %s", err, entra.CodeInvalidCredentialMaterial)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %q, want it to contain %q", err, tt.want)
			}
			// Cases whose names start alike (the same failure, other input) may share a message.
			if other, ok := seen[e.Message]; ok && strings.Fields(other)[0] != strings.Fields(tt.name)[0] {
				t.Errorf("same message as case %q: %q", other, e.Message)
			}
			seen[e.Message] = tt.name
		})
	}
}

func TestNewCertificateErrors(t *testing.T) {
	t.Parallel()
	rsaKey, ec := fixtureRSAKey(t), ecKey(t, elliptic.P256())
	rsaCert, ecCert := validCert(t, rsaKey, "rsa"), validCert(t, ec, "ec")
	tests := []struct {
		name  string
		chain []*x509.Certificate
		key   crypto.Signer
		want  string
	}{
		{"no chain", nil, rsaKey, "the certificate chain is empty"},
		{"nil certificate", []*x509.Certificate{rsaCert, nil}, rsaKey, "certificate 1 of the chain is nil"},
		{"nil key", []*x509.Certificate{rsaCert}, nil, "the private key is nil"},
		{"leaf is not first", []*x509.Certificate{ecCert, rsaCert}, rsaKey, `does not match the leaf certificate "CN=ec"`},
		{"RSA key, EC certificate", []*x509.Certificate{ecCert}, rsaKey, "does not match"},
		{"unknown signer type", []*x509.Certificate{rsaCert}, fakeSigner{pub: "not a key"}, "unsupported key type string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCertificate(tt.chain, tt.key, CertificateOptions{})
			if entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want invalid_credential_material containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadCertificateErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, maxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name, cert, key string
		want            []string
	}{
		{"missing certificate file", missing, "", []string{"cannot read the certificate file", missing, "no such file"}},
		{"missing key file", fixturePath("rsa.crt"), missing, []string{"cannot read the key file", missing}},
		{"directory", dir, "", []string{"cannot read the certificate file"}},
		{"too large", big, "", []string{"larger than"}},
		{"empty path", "", "", []string{"the certificate file path is empty"}},
		{"parse error names the files", fixturePath("rsa.crt"), fixturePath("chain-leaf.key"),
			[]string{"does not match", `certificate file "testdata/rsa.crt", key file "testdata/chain-leaf.key"`}},
		{"wrong password names the file", fixturePath("chain.pfx"), "", []string{"no password was given", `certificate file "testdata/chain.pfx"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCertificate(tt.cert, tt.key, CertificateOptions{})
			if entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial {
				t.Fatalf("got %v, want code %s", err, entra.CodeInvalidCredentialMaterial)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func testRequest(d Dialect) Request {
	return Request{ClientID: "11111111-2222-3333-4444-555555555555",
		TokenEndpoint: "https://login.microsoftonline.com/tenant/oauth2/v2.0/token", Dialect: d}
}

// decodedJWT is a compact JWS split into its parts.
type decodedJWT struct {
	header, claims map[string]any
	input          []byte
	sig            []byte
}

func decodeJWT(t *testing.T, tok string) decodedJWT {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	var d decodedJWT
	for i, dst := range []*map[string]any{&d.header, &d.claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	d.input, d.sig = []byte(parts[0]+"."+parts[1]), sig
	return d
}

// verifyJWT checks tok's signature twice: with go-jose restricted to alg,
// and directly with crypto/rsa or crypto/ecdsa, which also pins the PSS
// salt length and the raw R||S form.
func verifyJWT(t *testing.T, tok string, pub crypto.PublicKey, alg string) decodedJWT {
	t.Helper()
	sig, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatalf("go-jose parse: %v", err)
	}
	if _, err := sig.Verify(pub); err != nil {
		t.Fatalf("go-jose verify: %v", err)
	}
	d := decodeJWT(t, tok)
	hash := map[string]crypto.Hash{"PS256": crypto.SHA256, "RS256": crypto.SHA256,
		"ES256": crypto.SHA256, "ES384": crypto.SHA384, "ES512": crypto.SHA512}[alg]
	h := hash.New()
	h.Write(d.input)
	digest := h.Sum(nil)
	switch alg {
	case "PS256":
		err = rsa.VerifyPSS(pub.(*rsa.PublicKey), hash, digest, d.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), hash, digest, d.sig)
	default:
		k := pub.(*ecdsa.PublicKey)
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(d.sig) != 2*size {
			t.Fatalf("%s signature of %d bytes, want %d", alg, len(d.sig), 2*size)
		}
		if !ecdsa.Verify(k, digest, new(big.Int).SetBytes(d.sig[:size]), new(big.Int).SetBytes(d.sig[size:])) {
			err = errors.New("ECDSA verification failed")
		}
	}
	if err != nil {
		t.Fatalf("direct verify: %v", err)
	}
	return d
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAssertion(t *testing.T) {
	t.Parallel()
	rsaKey := fixtureRSAKey(t)
	keys := map[string]crypto.Signer{
		"RSA": rsaKey, "P-256": ecKey(t, elliptic.P256()), "P-384": ecKey(t, elliptic.P384()), "P-521": ecKey(t, elliptic.P521()),
	}
	tests := []struct {
		key     string
		dialect Dialect
		alg     string
	}{
		{"RSA", DialectAAD, "PS256"},
		{"RSA", DialectOIDC, "RS256"},
		{"RSA", DialectADFS, "RS256"},
		{"P-256", DialectAAD, "ES256"},
		{"P-256", DialectOIDC, "ES256"},
		{"P-256", DialectADFS, "ES256"},
		{"P-384", DialectAAD, "ES384"},
		{"P-521", DialectAAD, "ES512"},
	}
	now := time.Unix(1_800_000_000, 0)
	for _, tt := range tests {
		for _, x5c := range []string{"none", "option", "request"} {
			t.Run(fmt.Sprintf("%s/dialect%d/x5c=%s", tt.key, tt.dialect, x5c), func(t *testing.T) {
				key := keys[tt.key]
				leaf := validCert(t, key, "app")
				c, err := NewCertificate([]*x509.Certificate{leaf}, key, CertificateOptions{SendX5C: x5c == "option"})
				if err != nil {
					t.Fatal(err)
				}
				req := testRequest(tt.dialect)
				req.IncludeX5C = x5c == "request"
				tok, err := c.assertion(req, now)
				if err != nil {
					t.Fatal(err)
				}
				d := verifyJWT(t, tok, key.Public(), tt.alg)

				s256, s1 := sha256.Sum256(leaf.Raw), sha1.Sum(leaf.Raw)
				want := map[string]any{"alg": tt.alg, "typ": "JWT"}
				if tt.dialect == DialectADFS {
					want["x5t"] = base64.RawURLEncoding.EncodeToString(s1[:])
				} else {
					want["x5t#S256"] = base64.RawURLEncoding.EncodeToString(s256[:])
					if want["x5t#S256"] != c.Thumbprint() {
						t.Fatal("Thumbprint is not the header's x5t#S256")
					}
				}
				if x5c != "none" {
					want["x5c"] = []any{base64.StdEncoding.EncodeToString(leaf.Raw)}
				}
				if got, _ := json.Marshal(d.header); !bytes.Equal(got, mustJSON(want)) {
					t.Errorf("header %s, want %s", got, mustJSON(want))
				}

				jti, _ := d.claims["jti"].(string)
				if !uuidV4.MatchString(jti) {
					t.Errorf("jti %q is not a UUID v4", jti)
				}
				wantClaims := map[string]any{"aud": req.TokenEndpoint, "iss": req.ClientID, "sub": req.ClientID, "jti": jti,
					"nbf": json.Number("1800000000"), "iat": json.Number("1800000000"), "exp": json.Number("1800000600")}
				if got, _ := json.Marshal(d.claims); !bytes.Equal(got, mustJSON(wantClaims)) {
					t.Errorf("claims %s, want %s", got, mustJSON(wantClaims))
				}
			})
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestMaterial(t *testing.T) {
	t.Parallel()
	key := fixtureLeafKey(t)
	c, err := LoadCertificate(fixturePath("chain.pem"), fixturePath("chain-leaf.key"), CertificateOptions{SendX5C: true})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Unix()
	m1, err := c.Material(context.Background(), testRequest(DialectAAD))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := c.Material(context.Background(), testRequest(DialectAAD))
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().Unix()
	if m1.ClientSecret != "" || m1.AssertionType != AssertionTypeJWTBearer {
		t.Fatalf("material %#v carries more than an assertion", m1)
	}
	if m1.Assertion != m2.Assertion {
		t.Fatal("a second request at once did not reuse the assertion")
	}
	d1 := verifyJWT(t, m1.Assertion, &key.PublicKey, "PS256")
	nbf, _ := d1.claims["nbf"].(json.Number).Int64()
	exp, _ := d1.claims["exp"].(json.Number).Int64()
	if nbf < before || nbf > after || exp-nbf != 600 {
		t.Fatalf("nbf %d exp %d, want nbf in [%d, %d] and 600 s of life", nbf, exp, before, after)
	}
	// x5c is the whole chain, leaf first, then issuer by issuer.
	var want []any
	for _, cert := range c.Chain() {
		want = append(want, base64.StdEncoding.EncodeToString(cert.Raw))
	}
	if !slices.Equal(d1.header["x5c"].([]any), want) || len(want) != 3 {
		t.Fatalf("x5c has %d certificates, want the chain of 3 in order", len(d1.header["x5c"].([]any)))
	}
}

func TestMaterialRequestErrors(t *testing.T) {
	t.Parallel()
	key := ecKey(t, elliptic.P256())
	c, err := NewCertificate([]*x509.Certificate{validCert(t, key, "app")}, key, CertificateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		req  Request
		code entra.Code
		want string
	}{
		{"no client id", context.Background(), Request{TokenEndpoint: "https://x/token"}, entra.CodeInvalidArgument, "needs a client id"},
		{"blank token endpoint", context.Background(), Request{ClientID: "c", TokenEndpoint: " "}, entra.CodeInvalidArgument, "needs a token endpoint"},
		{"unknown dialect", context.Background(), Request{ClientID: "c", TokenEndpoint: "https://x/token", Dialect: 9}, entra.CodeInvalidArgument, "unknown assertion dialect 9"},
		{"canceled", canceled, testRequest(DialectAAD), entra.CodeCanceled, "canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := c.Material(tt.ctx, tt.req)
			if entra.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.want) || m.Assertion != "" {
				t.Fatalf("got %v, want code %s containing %q", err, tt.code, tt.want)
			}
		})
	}
	if _, err := c.Material(canceled, testRequest(DialectAAD)); !errors.Is(err, context.Canceled) {
		t.Fatalf("errors.Is(%v, context.Canceled) is false", err)
	}
}

// fakeSigner is a crypto.Signer that returns a fixed signature or error.
type fakeSigner struct {
	pub crypto.PublicKey
	sig []byte
	err error
}

func (f fakeSigner) Public() crypto.PublicKey { return f.pub }
func (f fakeSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return f.sig, f.err
}

// recordingSigner hides the key's concrete type, as an HSM or key vault
// signer would, and records the options it is asked to sign with.
type recordingSigner struct {
	key  crypto.Signer
	mu   sync.Mutex
	opts []crypto.SignerOpts
}

func (r *recordingSigner) Public() crypto.PublicKey { return r.key.Public() }
func (r *recordingSigner) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	r.mu.Lock()
	r.opts = append(r.opts, opts)
	r.mu.Unlock()
	return r.key.Sign(rnd, digest, opts)
}

func TestExternalSigner(t *testing.T) {
	t.Parallel()
	rsaKey := fixtureRSAKey(t)
	leaf := validCert(t, rsaKey, "hsm")
	rec := &recordingSigner{key: rsaKey}
	c, err := NewCertificate([]*x509.Certificate{leaf}, rec, CertificateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []Dialect{DialectAAD, DialectADFS} {
		m, err := c.Material(context.Background(), testRequest(d))
		if err != nil {
			t.Fatal(err)
		}
		verifyJWT(t, m.Assertion, &rsaKey.PublicKey, map[Dialect]string{DialectAAD: "PS256", DialectADFS: "RS256"}[d])
	}
	pss, ok := rec.opts[0].(*rsa.PSSOptions)
	if !ok || pss.Hash != crypto.SHA256 || pss.SaltLength != rsa.PSSSaltLengthEqualsHash {
		t.Errorf("PS256 signed with %#v, want PSS, SHA-256, salt = hash length", rec.opts[0])
	}
	if rec.opts[1] != crypto.SHA256 {
		t.Errorf("RS256 signed with %#v, want crypto.SHA256", rec.opts[1])
	}
	if tc := c.TLSCertificate(); tc.PrivateKey != rec {
		t.Error("TLSCertificate does not carry the signer")
	}

	// A faulty signer is reported, never turned into a bad assertion or a panic.
	ec := ecKey(t, elliptic.P256())
	ecLeaf := validCert(t, ec, "ec")
	huge, _ := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).Lsh(big.NewInt(1), 300), big.NewInt(1)})
	cause := errors.New("vault unreachable")
	faulty := []struct {
		name   string
		leaf   *x509.Certificate
		signer fakeSigner
		want   string
	}{
		{"RSA garbage", leaf, fakeSigner{pub: &rsaKey.PublicKey, sig: []byte("garbage")}, "invalid signature"},
		{"ECDSA out of range", ecLeaf, fakeSigner{pub: &ec.PublicKey, sig: huge}, "invalid signature"},
		{"ECDSA raw instead of ASN.1", ecLeaf, fakeSigner{pub: &ec.PublicKey, sig: make([]byte, 64)}, "invalid signature"},
		{"signer error", leaf, fakeSigner{pub: &rsaKey.PublicKey, err: cause}, "signing the client assertion failed: vault unreachable"},
	}
	for _, tt := range faulty {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCertificate([]*x509.Certificate{tt.leaf}, tt.signer, CertificateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Material(context.Background(), testRequest(DialectAAD))
			if entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want it to contain %q", err, tt.want)
			}
			if tt.signer.err != nil && !errors.Is(err, cause) {
				t.Fatal("the signer's error is not the cause")
			}
		})
	}
}

// TestConcurrentMaterial: under the race detector, concurrent requests
// to Entra ID share one assertion, signed once; AD FS and OIDC ones each
// get a new one.
func TestConcurrentMaterial(t *testing.T) {
	t.Parallel()
	key := ecKey(t, elliptic.P256())
	signer := &countingSigner{Signer: key}
	c, err := NewCertificate([]*x509.Certificate{validCert(t, key, "app")}, signer, CertificateOptions{SendX5C: true})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	assertions := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				m, err := c.Material(context.Background(), testRequest(Dialect(i%3)))
				if err != nil {
					t.Error(err)
					return
				}
				c.Chain()[0] = nil // callers may scribble on their copy
				_ = c.TLSCertificate()
				_ = c.String()
				mu.Lock()
				assertions[m.Assertion] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	const want = 1 + 3*20 + 2*20 // Entra ID's; goroutines 1, 4, 7 (AD FS) and 2, 5 (OIDC) sign each time
	if len(assertions) != want || signer.signed.Load() != want {
		t.Fatalf("%d assertions from %d signatures, want %d of each", len(assertions), signer.signed.Load(), want)
	}
}

func TestCertificateAccessors(t *testing.T) {
	t.Parallel()
	c, err := ParseCertificate(fixture(t, "chain.pfx"), nil, CertificateOptions{Password: fixturePassword})
	if err != nil {
		t.Fatal(err)
	}
	chain := c.Chain()
	if c.Leaf() != chain[0] || c.Leaf().Subject.CommonName != "entra-test-leaf" {
		t.Fatal("Leaf is not the first of Chain")
	}
	sum := sha256.Sum256(c.Leaf().Raw)
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); c.Thumbprint() != want || strings.ContainsAny(want, "+/=") {
		t.Fatalf("Thumbprint %q, want %q", c.Thumbprint(), want)
	}
	chain[0] = nil
	if c.Chain()[0] == nil {
		t.Fatal("Chain returned the credential's own slice")
	}
	tc := c.TLSCertificate()
	if tc.Leaf != c.Leaf() || len(tc.Certificate) != 3 || tc.PrivateKey == nil {
		t.Fatalf("TLSCertificate: leaf %v, %d certificates", tc.Leaf != nil, len(tc.Certificate))
	}
	for i, der := range tc.Certificate {
		if !bytes.Equal(der, c.Chain()[i].Raw) {
			t.Fatalf("TLS certificate %d is not chain certificate %d", i, i)
		}
	}
	tc.Certificate[0] = nil
	if c.TLSCertificate().Certificate[0] == nil {
		t.Fatal("TLSCertificate shares its slice")
	}
	// NewCertificate copies the caller's chain.
	key := fixtureRSAKey(t)
	in := []*x509.Certificate{validCert(t, key, "a")}
	c2, err := NewCertificate(in, key, CertificateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in[0] = nil
	if c2.Leaf() == nil {
		t.Fatal("NewCertificate kept the caller's slice")
	}
	if got, want := c2.String(), `credential.Certificate{subject="CN=a" x5t#S256=`+c2.Thumbprint()+`}`; got != want {
		t.Fatalf("String %q, want %q", got, want)
	}
}

func TestNothingSecretIsPrinted(t *testing.T) {
	t.Parallel()
	const password = "pfx-password-Zq81x"
	key := fixtureRSAKey(t)
	c, err := LoadCertificate(fixturePath("rsa.crt"), fixturePath("rsa-pkcs1.key"), CertificateOptions{Password: password, SendX5C: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Material(context.Background(), testRequest(DialectAAD))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewSecret("client-secret-Qw97y")
	a, _ := NewAssertion(func(context.Context, AssertionRequest) (string, error) { return "assertion-Er42z", nil }).Material(context.Background(), Request{})
	opts := CertificateOptions{Password: password}

	// Everything that may be shown to a person: formatting in every verb...
	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%t"} {
		fmt.Fprintf(&out, verb+" "+verb+" "+verb+" "+verb+" "+verb+" "+verb+" "+verb+"\n", c, *c, m, s, a, opts, []any{c, m, s})
	}
	// ...structured logs...
	slog.New(slog.NewTextHandler(&out, nil)).Info("x", "cert", c, "material", m, "opts", opts, "secret", s)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("x", "cert", c, "material", m, "opts", opts, "secret", s)
	// ...and every error message, including those about the key files.
	for _, tt := range parseErrorCases(t) {
		_, err := ParseCertificate(tt.cert, tt.key, CertificateOptions{Password: password})
		fmt.Fprintf(&out, "%v %+v %#v\n", err, err, err)
	}
	_, err = LoadCertificate(fixturePath("rsa-pkcs1.key"), "", CertificateOptions{Password: password})
	fmt.Fprintln(&out, err)
	_, err = LoadCertificate(fixturePath("rsa.crt"), fixturePath("rsa-encrypted-pkcs8.key"), CertificateOptions{Password: password})
	fmt.Fprintln(&out, err)
	printed := out.String()

	secrets := []string{password, fixturePassword, "client-secret-Qw97y", "assertion-Er42z", m.Assertion,
		m.Assertion[strings.LastIndexByte(m.Assertion, '.')+1:], key.D.String()[:24], key.D.Text(16)[:24]}
	for _, f := range []string{"rsa-pkcs1.key", "rsa-pkcs8.key", "chain-leaf.key", "rsa-encrypted-pkcs8.key", "rsa-encrypted-pkcs1.key"} {
		for _, line := range strings.Split(string(fixture(t, f)), "\n") {
			if len(line) == 64 { // full base64 lines of the key
				secrets = append(secrets, line[:32])
			}
		}
	}
	for _, secret := range secrets {
		if strings.Contains(printed, secret) {
			t.Errorf("printed output contains %.12q...", secret)
		}
	}
	if !strings.Contains(printed, c.Thumbprint()) {
		t.Error("the thumbprint is not printed; is the test printing anything?")
	}
}

func TestSecretAndCallback(t *testing.T) {
	t.Parallel()
	if _, err := NewSecret("  "); entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial {
		t.Fatalf("blank secret: %v", err)
	}
	empty := NewAssertion(func(context.Context, AssertionRequest) (string, error) { return " ", nil })
	if _, err := empty.Material(context.Background(), Request{}); entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial {
		t.Fatalf("empty assertion: %v", err)
	}
	failing := NewAssertion(func(context.Context, AssertionRequest) (string, error) { return "", os.ErrDeadlineExceeded })
	if _, err := failing.Material(context.Background(), Request{}); entra.ErrorCode(err) != entra.CodeInvalidCredentialMaterial {
		t.Fatalf("failing callback: %v", err)
	}
	// Credentials without a certificate cannot authenticate a request by one.
	for _, c := range []Credential{must(NewSecret("s3cret-value")), empty} {
		if _, err := c.Material(context.Background(), Request{CertificateOnly: true}); entra.ErrorCode(err) != entra.CodeMTLSCertificateNotProvided {
			t.Errorf("%v with CertificateOnly: %v", c, err)
		}
	}
}

func must(c Credential, err error) Credential {
	if err != nil {
		panic(err)
	}
	return c
}

func TestBoundAssertion(t *testing.T) {
	t.Parallel()
	key := ecKey(t, elliptic.P256())
	cert := &tls.Certificate{Certificate: [][]byte{validCert(t, key, "first").Raw}, PrivateKey: key}
	current := cert
	b := NewBoundAssertion(func(context.Context) (*tls.Certificate, error) { return current, nil },
		func(_ context.Context, r AssertionRequest) (string, error) { return "assertion-for-" + r.ClientID, nil }).(Certified)
	if !b.Bound() {
		t.Fatal("a bound assertion does not say it is bound")
	}
	first, err := b.Certificate(context.Background())
	if err != nil || first.Leaf.Subject.CommonName != "first" || first.Thumbprint != ThumbprintOf(first.Leaf) {
		t.Fatalf("binding %+v, %v", first, err)
	}
	if again, _ := b.Certificate(context.Background()); again != first {
		t.Error("the same certificate is parsed again instead of reused")
	}
	current = &tls.Certificate{Certificate: [][]byte{validCert(t, key, "rotated").Raw}, PrivateKey: key}
	if rotated, _ := b.Certificate(context.Background()); rotated.Thumbprint == first.Thumbprint {
		t.Error("a rotated certificate keeps the old thumbprint")
	}
	m, err := b.Material(context.Background(), Request{ClientID: "app"})
	if err != nil || m.Assertion != "assertion-for-app" || m.AssertionType != AssertionTypeJWTPoP {
		t.Fatalf("material %v (%s), %v; want a jwt-pop assertion", m, m.AssertionType, err)
	}
	if m, err := b.Material(context.Background(), Request{CertificateOnly: true}); err != nil || m.Assertion != "" {
		t.Fatalf("PoP material %v, %v; want none: the certificate authenticates", m, err)
	}
	none := NewBoundAssertion(func(context.Context) (*tls.Certificate, error) { return nil, nil }, nil).(Certified)
	if _, err := none.Certificate(context.Background()); entra.ErrorCode(err) != entra.CodeMTLSCertificateNotProvided {
		t.Fatalf("no certificate: %v", err)
	}
}

func TestStringers(t *testing.T) {
	t.Parallel()
	s, _ := NewSecret("s3cret-value")
	if m, err := s.Material(context.Background(), Request{}); err != nil || m.ClientSecret != "s3cret-value" {
		t.Fatalf("secret material %v, %v", m, err)
	}
	tests := []struct {
		v    any
		want string
	}{
		{s, "client secret"},
		{NewAssertion(nil), "client assertion callback"},
		{Material{}, "clientauth.Material{}"},
		{Material{ClientSecret: "x"}, "clientauth.Material{client_secret}"},
		{Material{Assertion: "x"}, "clientauth.Material{client_assertion}"},
		{CertificateOptions{}, "credential.CertificateOptions{Password:unset SendX5C:false}"},
		{CertificateOptions{Password: "x", SendX5C: true}, "credential.CertificateOptions{Password:redacted SendX5C:true}"},
		{Certificate{}, "credential.Certificate{}"},
	}
	for _, tt := range tests {
		lv := tt.v.(slog.LogValuer).LogValue().String()
		if got, gs := fmt.Sprint(tt.v), fmt.Sprintf("%#v", tt.v); got != tt.want || gs != tt.want || lv != tt.want {
			t.Errorf("%%v %q, %%#v %q, LogValue %q; want %q", got, gs, lv, tt.want)
		}
	}
}
