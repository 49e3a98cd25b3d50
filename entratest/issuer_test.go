package entratest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/internal/jws"
)

const (
	exchangeAudience = "api://AzureADTokenExchange"
	workload         = "system:serviceaccount:payments:api"
)

// TestIssuerDiscovery checks that an issuer publishes, over TLS, the key
// its tokens verify with, as a relying party finds it.
func TestIssuerDiscovery(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	cluster := emu.NewIssuer("cluster")
	client := emu.HTTPClient()
	status, _, doc := send(t, client, "GET", cluster.URL()+"/.well-known/openid-configuration", nil, nil)
	if status != 200 || doc["issuer"] != cluster.URL() {
		t.Fatalf("discovery: %d %v", status, doc)
	}
	jwksURI, _ := doc["jwks_uri"].(string)
	status, _, jwks := send(t, client, "GET", jwksURI, nil, nil)
	keys, _ := jwks["keys"].([]any)
	if status != 200 || len(keys) != 1 {
		t.Fatalf("jwks: %d %v", status, jwks)
	}
	jwk, _ := keys[0].(map[string]any)
	pub := ecKey(t, jwk)
	tok, err := jws.Parse(cluster.Token(workload, exchangeAudience, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if tok.HeaderString("kid") != jwk["kid"] || tok.Verify(pub, "ES256") != nil {
		t.Errorf("the token does not verify with the published key %v", jwk)
	}
	if status, _, _ := send(t, client, "GET", emu.URL()+"/issuers/nobody/.well-known/openid-configuration", nil, nil); status != 404 {
		t.Errorf("an issuer never made: %d, want 404", status)
	}
}

// ecKey reads a P-256 JWK.
func ecKey(t *testing.T, jwk map[string]any) *ecdsa.PublicKey {
	t.Helper()
	x, errX := base64.RawURLEncoding.DecodeString(fmt.Sprint(jwk["x"]))
	y, errY := base64.RawURLEncoding.DecodeString(fmt.Sprint(jwk["y"]))
	if errX != nil || errY != nil || jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
		t.Fatalf("not a P-256 key: %v", jwk)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// TestWriteTokenFileRotation rewrites a token file while reading it, as a
// workload reads the file the kubelet rotates: every read is one whole
// token, and no temporary file is left behind.
func TestWriteTokenFileRotation(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	cluster := emu.NewIssuer("cluster")
	dir := t.TempDir()
	path := filepath.Join(dir, "azure-identity-token")
	if err := cluster.WriteTokenFile(path, workload, exchangeAudience, time.Hour); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	written, stop := make(chan struct{}), make(chan struct{})
	var writer sync.WaitGroup
	writer.Go(func() {
		defer close(written)
		for range 300 {
			select {
			case <-stop:
				return
			default:
			}
			if err := cluster.WriteTokenFile(path, workload, exchangeAudience, time.Hour); err != nil {
				t.Error(err)
				return
			}
		}
	})
	reads, err := readUntil(path, cluster.URL(), written)
	close(stop)
	writer.Wait()
	if err != nil {
		t.Fatalf("after %d good reads: %v", reads, err)
	}
	if last, _ := os.ReadFile(path); reads == 0 || string(last) == string(first) {
		t.Errorf("%d reads; the file was rotated: %v", reads, string(last) != string(first))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("stat: %v, %v; want mode 0600", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the folder holds %d files, want the token file alone", len(entries))
	}
}

// readUntil reads the token file until done is closed or a read is not a
// whole token of the issuer; it returns the number of good reads.
func readUntil(path, issuer string, done <-chan struct{}) (int, error) {
	for reads := 0; ; reads++ {
		select {
		case <-done:
			return reads, nil
		default:
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return reads, err
		}
		var claims struct{ Iss string }
		tok, err := jws.Parse(string(raw))
		if err == nil {
			err = json.Unmarshal(tok.Payload, &claims)
		}
		if err != nil || claims.Iss != issuer {
			return reads, fmt.Errorf("not a whole token of %s (%v): %q", issuer, err, raw)
		}
	}
}
