package clientauth

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingSigner counts the signatures it makes.
type countingSigner struct {
	crypto.Signer
	signed atomic.Int32
}

func (c *countingSigner) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.signed.Add(1)
	return c.Signer.Sign(rnd, digest, opts)
}

// testClock is a clock a test moves; safe for concurrent use.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}

func (c *testClock) now() time.Time  { return time.Unix(0, c.ns.Load()) }
func (c *testClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// certificateAt returns a Certificate over a fresh P-256 key whose clock
// is clock.
func certificateAt(t *testing.T, clock *testClock, opts CertificateOptions) (*Certificate, *countingSigner) {
	t.Helper()
	key := ecKey(t, elliptic.P256())
	signer := &countingSigner{Signer: key}
	c, err := NewCertificate([]*x509.Certificate{validCert(t, key, "app")}, signer, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.now = clock.now
	return c, signer
}

func material(t *testing.T, c *Certificate, req Request) string {
	t.Helper()
	m, err := c.Material(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return m.Assertion
}

// TestAssertionReuse: a second request gets the first one's assertion
// only within half its life and when nothing in it would differ.
func TestAssertionReuse(t *testing.T) {
	t.Parallel()
	issued := time.Unix(1_800_000_000, 0)
	base := testRequest(DialectAAD)
	with := func(change func(*Request)) Request { r := base; change(&r); return r }
	tests := []struct {
		name  string
		after time.Duration
		req   Request
		same  bool
	}{
		{"same request at once", 0, base, true},
		{"same request 4m59s later", 5*time.Minute - time.Second, base, true},
		{"same request at half its life", 5 * time.Minute, base, false},
		{"same request 9 minutes later", 9 * time.Minute, base, false},
		{"clock gone back before nbf", -time.Second, base, false},
		{"another token endpoint", 0, with(func(r *Request) { r.TokenEndpoint += "/other" }), false},
		{"another client id", 0, with(func(r *Request) { r.ClientID = "other-client" }), false},
		{"x5c asked for", 0, with(func(r *Request) { r.IncludeX5C = true }), false},
		{"other tenant, correlation id, claims and capabilities", time.Minute, with(func(r *Request) {
			r.Tenant, r.CorrelationID, r.Claims, r.Capabilities = "t2", "c2", `{"a":1}`, []string{"cp1"}
		}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock(issued)
			c, signer := certificateAt(t, clock, CertificateOptions{})
			first := material(t, c, base)
			clock.set(issued.Add(tt.after))
			second := material(t, c, tt.req)
			if (first == second) != tt.same {
				t.Fatalf("same assertion: %t, want %t", first == second, tt.same)
			}
			if want := map[bool]int32{true: 1, false: 2}[tt.same]; signer.signed.Load() != want {
				t.Fatalf("%d signatures, want %d", signer.signed.Load(), want)
			}
		})
	}
}

// TestNoReuseOutsideEntraID: AD FS and other OpenID Connect providers
// may refuse a jti they have seen, so each request gets a new assertion.
func TestNoReuseOutsideEntraID(t *testing.T) {
	t.Parallel()
	for _, d := range []Dialect{DialectADFS, DialectOIDC} {
		c, signer := certificateAt(t, newTestClock(time.Unix(1_800_000_000, 0)), CertificateOptions{})
		if material(t, c, testRequest(d)) == material(t, c, testRequest(d)) || signer.signed.Load() != 2 {
			t.Errorf("dialect %d: an assertion was sent twice", d)
		}
	}
}

// TestAssertionReuseRespectsSendX5C: a credential that always sends x5c
// has one assertion for requests that ask for it and those that do not.
func TestAssertionReuseRespectsSendX5C(t *testing.T) {
	t.Parallel()
	c, _ := certificateAt(t, newTestClock(time.Unix(1_800_000_000, 0)), CertificateOptions{SendX5C: true})
	asked := testRequest(DialectAAD)
	asked.IncludeX5C = true
	if material(t, c, testRequest(DialectAAD)) != material(t, c, asked) {
		t.Fatal("the same assertion was signed twice")
	}
}

// TestAssertionNeverNearExpiry: whatever the time, a reused assertion has
// at least half its life left and is already valid.
func TestAssertionNeverNearExpiry(t *testing.T) {
	t.Parallel()
	start := time.Unix(1_800_000_000, 0)
	clock := newTestClock(start)
	c, _ := certificateAt(t, clock, CertificateOptions{})
	for step := time.Duration(0); step < 30*time.Minute; step += 7 * time.Second {
		now := start.Add(step)
		clock.set(now)
		d := decodeJWT(t, material(t, c, testRequest(DialectAAD)))
		nbf, _ := d.claims["nbf"].(json.Number).Int64()
		exp, _ := d.claims["exp"].(json.Number).Int64()
		if nbf > now.Unix() || exp-now.Unix() < int64((assertionLifetime-assertionReuse)/time.Second) {
			t.Fatalf("at +%s: nbf %+d s, exp %+d s from now", step, nbf-now.Unix(), exp-now.Unix())
		}
	}
}

// TestCertificateChangeSignsAnew: another certificate (a rotation makes a
// new Certificate) never sends the previous one's assertion.
func TestCertificateChangeSignsAnew(t *testing.T) {
	t.Parallel()
	clock := newTestClock(time.Unix(1_800_000_000, 0))
	old, _ := certificateAt(t, clock, CertificateOptions{})
	rotated, _ := certificateAt(t, clock, CertificateOptions{})
	a, b := material(t, old, testRequest(DialectAAD)), material(t, rotated, testRequest(DialectAAD))
	if a == b || decodeJWT(t, b).header["x5t#S256"] != rotated.Thumbprint() {
		t.Fatal("the new certificate did not sign its own assertion")
	}
}

// TestAssertionCacheBounded: a caller naming ever more token endpoints
// does not grow the cache past its bound, and stale assertions go first.
func TestAssertionCacheBounded(t *testing.T) {
	t.Parallel()
	start := time.Unix(1_800_000_000, 0)
	a := newAssertionCache()
	key := func(i int) assertionKey { return assertionKey{clientID: "c", audience: fmt.Sprint("https://x/", i)} }
	a.put(key(0), signedAssertion{jwt: "stale", nbf: start.Add(-assertionReuse)}, start)
	for i := 1; i < 3*maxReusedAssertions; i++ {
		now := start.Add(time.Duration(i) * time.Millisecond)
		a.put(key(i), signedAssertion{jwt: fmt.Sprint(i), nbf: now}, now)
		if len(a.entries) > maxReusedAssertions {
			t.Fatalf("%d assertions kept, at most %d allowed", len(a.entries), maxReusedAssertions)
		}
		if i == maxReusedAssertions {
			if _, ok := a.entries[key(0)]; ok {
				t.Fatal("a fresh assertion was evicted before the stale one")
			}
			if _, ok := a.entries[key(1)]; !ok {
				t.Fatal("the oldest fresh assertion was evicted while a stale one was left")
			}
		}
	}
	end := start.Add(3 * maxReusedAssertions * time.Millisecond)
	if _, ok := a.get(key(3*maxReusedAssertions-1), end); !ok {
		t.Fatal("the newest assertion was evicted")
	}
	if _, ok := a.get(key(1), end); ok {
		t.Fatal("the oldest assertion was kept over newer ones")
	}
}

// TestConcurrentReuse: concurrent misses for several audiences sign once
// per audience, under the race detector.
func TestConcurrentReuse(t *testing.T) {
	t.Parallel()
	c, signer := certificateAt(t, newTestClock(time.Unix(1_800_000_000, 0)), CertificateOptions{})
	const audiences = 4
	got := make([][]string, audiences)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			req := testRequest(DialectAAD)
			req.TokenEndpoint += fmt.Sprint("/", i%audiences)
			for range 10 {
				m, err := c.Material(context.Background(), req)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got[i%audiences] = append(got[i%audiences], m.Assertion)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i, list := range got {
		for _, a := range list {
			if a != list[0] {
				t.Fatalf("audience %d got more than one assertion", i)
			}
		}
	}
	if signer.signed.Load() != audiences {
		t.Fatalf("%d signatures, want one per audience (%d)", signer.signed.Load(), audiences)
	}
}

// TestAssertionKeyCoversRequest fails when Request gains a field, so that
// whoever adds it decides whether it changes the assertion (and must then
// be part of assertionKey).
func TestAssertionKeyCoversRequest(t *testing.T) {
	t.Parallel()
	inKey := []string{"ClientID", "TokenEndpoint", "Dialect", "IncludeX5C"}
	notInAssertion := []string{"CertificateOnly", "Tenant", "CorrelationID", "Claims", "Capabilities"}
	rt := reflect.TypeFor[Request]()
	if rt.NumField() != len(inKey)+len(notInAssertion) {
		t.Fatalf("Request has %d fields, %d are accounted for: is the new one part of the assertion?",
			rt.NumField(), len(inKey)+len(notInAssertion))
	}
}
