package clientauth

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWatchCertificateFollowsTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certPath := filepath.Join(dir, "app.pem")
	write := func(cn string) string {
		key := ecKey(t, elliptic.P256())
		cert := validCert(t, key, cn)
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
			pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
		writeAtomically(t, certPath, string(data))
		return ThumbprintOf(cert)
	}
	first := write("first")
	var logs bytes.Buffer
	cred, err := WatchCertificate(certPath, "", CertificateOptions{}, slog.New(slog.NewTextHandler(&logs, nil)), CheckInterval)
	if err != nil {
		t.Fatal(err)
	}
	f := cred.(*certFile)
	now := time.Now()
	f.now = func() time.Time { return now }
	thumbprint := func() string {
		t.Helper()
		b, err := f.Certificate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return b.Thumbprint
	}
	if thumbprint() != first {
		t.Fatal("the file's certificate is not the one in use")
	}
	assertion := func() string {
		t.Helper()
		m, err := f.Material(context.Background(), testRequest(DialectAAD))
		if err != nil {
			t.Fatal(err)
		}
		return m.Assertion
	}
	before := assertion()
	if assertion() != before {
		t.Fatal("the watched certificate did not reuse its assertion")
	}
	second := write("second")
	if thumbprint() != first {
		t.Fatal("the file was looked at before the check interval")
	}
	now = now.Add(CheckInterval)
	if thumbprint() != second {
		t.Fatal("the rotated certificate was not loaded")
	}
	// The rotated certificate is a new Certificate: it signs its own
	// assertion rather than send the previous key's.
	if after := assertion(); after == before || decodeJWT(t, after).header["x5t#S256"] != second {
		t.Fatal("the rotated certificate sent the previous certificate's assertion")
	}
	// A broken file keeps the certificate that works, with a warning.
	writeAtomically(t, certPath, "-----BEGIN CERTIFICATE-----\ntruncated")
	now = now.Add(CheckInterval)
	if thumbprint() != second {
		t.Fatal("a broken file replaced the certificate in use")
	}
	if !strings.Contains(logs.String(), "could not be reloaded") || !strings.Contains(logs.String(), "invalid_credential_material") {
		t.Fatalf("no typed warning: %q", logs.String())
	}
	if err := os.Remove(certPath); err != nil {
		t.Fatal(err)
	}
	now = now.Add(CheckInterval)
	if thumbprint() != second {
		t.Fatal("a removed file replaced the certificate in use")
	}
}
