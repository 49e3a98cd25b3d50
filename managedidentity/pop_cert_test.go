package managedidentity_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

// A certificate with less than 24 hours left is never reused.
func TestPoPCertificateNearExpiryReminted(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{IMDSCertificateLifetime: 23 * time.Hour})
	c := popClient(t, emu)
	for i, res := range []string{resource, "https://vault.azure.net"} {
		if _, err := c.AcquireToken(context.Background(), popRequest(res)); err != nil {
			t.Fatal(err)
		}
		if n := len(emu.IssuedCredentials()); n != i+1 {
			t.Fatalf("after %d acquisitions, %d certificates", i+1, n)
		}
	}
}

// A 7-day certificate is reused while more than 24 hours are left, and
// replaced once less are.
func TestPoPCertificateReusedUntilADayLeft(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	emu := startEmulator(t, entratest.Options{Now: clock.Now})
	c := popClient(t, emu, func(cfg *managedidentity.Config) { *cfg = managedidentity.WithClock(*cfg, clock.Now) })
	steps := []struct {
		advance time.Duration
		mints   int
	}{
		{0, 1},
		{5*24*time.Hour + 23*time.Hour, 1}, // a day and an hour left
		{2 * time.Hour, 2},                 // less than a day left
		{time.Hour, 2},                     // the new one is reused
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		tok, err := c.AcquireToken(context.Background(), popRequest(resource))
		if err != nil {
			t.Fatal(err)
		}
		if tok.FromCache {
			t.Fatalf("step %d: served from the cache; the clock should have expired it", i)
		}
		if n := len(emu.IssuedCredentials()); n != s.mints {
			t.Fatalf("step %d: %d certificates minted, want %d", i, n, s.mints)
		}
	}
}

func TestPoPConcurrentColdCallers(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	c := popClient(t, emu)
	// Hold the token answer so that every caller arrives while the first
	// flight is in progress: half before the certificate is minted, half
	// after (they find it cached, and must still share the flight).
	release := make(chan struct{})
	emu.InjectFault(entratest.Fault{Endpoint: "token", Hold: release})
	const callers = 8
	var wg sync.WaitGroup
	toks := make([]entra.Token, callers)
	errs := make([]error, callers)
	start := func(from, to int) {
		for i := from; i < to; i++ {
			wg.Go(func() { toks[i], errs[i] = c.AcquireToken(context.Background(), popRequest(resource)) })
		}
	}
	start(0, callers/2)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		t.Fatalf("the callers returned before the token was released: %v; requests %v", errs, endpoints(emu.Requests()))
	case <-waitChan(func() bool { return len(emu.Requests("token")) >= 1 }):
	case <-time.After(10 * time.Second):
		t.Fatalf("no token request in 10 s; requests %v", endpoints(emu.Requests()))
	}
	start(callers/2, callers)
	time.Sleep(50 * time.Millisecond) // let the late ones join the flight
	close(release)
	<-done
	for i, err := range errs {
		if err != nil || toks[i].AccessToken != toks[0].AccessToken || toks[i].BindingCertificate == nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if m, n := len(emu.IssuedCredentials()), len(emu.Requests("token")); m != 1 || n != 1 {
		t.Fatalf("%d mints and %d token requests, want 1 and 1", m, n)
	}
}

// waitChan is closed once cond holds; it polls for at most 10 s.
func waitChan(cond func() bool) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if cond() {
				close(ch)
				return
			}
		}
	}()
	return ch
}

// A refused certificate is replaced once; other refusals are returned.
func TestPoPRecoversFromRefusedCertificate(t *testing.T) {
	t.Parallel()
	invalidClient := func(codes string) []byte {
		return []byte(`{"error":"invalid_client","error_description":"AADSTS: the certificate is not valid."` + codes + `}`)
	}
	tests := []struct {
		name    string
		fault   entratest.Fault
		recover bool
		code    entra.Code
	}{
		{"invalid_client 1000611", entratest.Fault{Status: 401, Body: invalidClient(`,"error_codes":[1000611]`)}, true, ""},
		{"invalid_client 1000614", entratest.Fault{Status: 400, Body: invalidClient(`,"error_codes":[1000614]`)}, true, ""},
		{"invalid_client without codes", entratest.Fault{Status: 401, Body: invalidClient("")}, true, ""},
		{"TLS reset", entratest.Fault{Drop: true}, true, ""},
		{"invalid_client 700027", entratest.Fault{Status: 401, Body: invalidClient(`,"error_codes":[700027]`)}, false, "invalid_client"},
		{"refused twice", entratest.Fault{Status: 401, Body: invalidClient(""), Times: 2}, false, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := startEmulator(t, entratest.Options{})
			c := popClient(t, emu)
			// A first token, so the refused certificate is a cached one.
			if _, err := c.AcquireToken(context.Background(), popRequest(resource)); err != nil {
				t.Fatal(err)
			}
			f := tt.fault
			f.Endpoint = "token"
			emu.InjectFault(f)
			tok, err := c.AcquireToken(context.Background(), popRequest("https://vault.azure.net"))
			issued := emu.IssuedCredentials()
			tokenReqs := emu.Requests("token")
			if !tt.recover {
				wantCode(t, err, tt.code)
				if wantMints := 1 + (f.Times / 2); len(issued) != wantMints {
					t.Fatalf("%d certificates issued, want %d", len(issued), wantMints)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(issued) != 2 || len(tokenReqs) != 3 {
				t.Fatalf("%d certificates and %d token requests, want 2 and 3", len(issued), len(tokenReqs))
			}
			if !tokenReqs[2].ClientCertificate.Equal(issued[1].Certificate) || !tok.BindingCertificate.Leaf.Equal(issued[1].Certificate) {
				t.Fatal("the retry did not use the new certificate")
			}
			// The old certificate's tokens are not served for it.
			first, err := c.AcquireToken(context.Background(), popRequest(resource))
			if err != nil || first.FromCache {
				t.Fatalf("a token of the dropped certificate was served: %v", err)
			}
		})
	}
}

// Concurrent callers of several resources whose certificate was revoked
// share one re-mint.
func TestPoPRevokedCertificateOneRemint(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	c := popClient(t, emu)
	if _, err := c.AcquireToken(context.Background(), popRequest(resource)); err != nil {
		t.Fatal(err)
	}
	emu.RevokeIMDSCertificates()
	resources := []string{"https://vault.azure.net", "https://storage.azure.com", "https://graph.microsoft.com", "api://a"}
	var wg sync.WaitGroup
	errs := make([]error, len(resources))
	for i, r := range resources {
		wg.Go(func() { _, errs[i] = c.AcquireToken(context.Background(), popRequest(r)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", resources[i], err)
		}
	}
	if n := len(emu.IssuedCredentials()); n != 2 {
		t.Fatalf("%d certificates, want the first and one re-mint", n)
	}
}
