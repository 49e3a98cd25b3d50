package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/entra-go/entra/entratest"
)

func runEmulator(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("entra emulator", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "127.0.0.1:8443", "HTTPS listen address (use 127.0.0.1:443 with /etc/hosts entries for the real host names)")
	imdsAddr := fs.String("imds-addr", "127.0.0.1:0", "plain-HTTP listen address of the IMDS endpoint")
	dir := fs.String("dir", "", "folder for the CA certificate and the demo client's certificate (default: a new temporary folder)")
	region := fs.String("region", "eastus", "region reported by the IMDS endpoint")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Other processes trust what this emulator signs: it signs with a key
	// of its own, not the package's built-in test key.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	em, err := entratest.New(entratest.Options{Addr: *addr, IMDSAddr: *imdsAddr, Region: *region, SigningKey: key})
	if err != nil {
		return err
	}
	defer em.Close()

	out := *dir
	if out == "" {
		if out, err = os.MkdirTemp("", "entra-emulator-"); err != nil {
			return err
		}
	}
	dc := em.DefaultClient()
	files := map[string][]byte{
		"ca.pem":          em.CACertPEM(),
		"client-cert.pem": append(append([]byte{}, dc.CertPEM...), dc.KeyPEM...),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, `entra emulator
  token service:  %[1]s  (any host name; e.g. %[1]s/TENANT)
  IMDS:           %[2]s
  CA certificate: %[3]s
  demo client:    id %[4]s
                  secret in environment variable ENTRA_EMULATOR_SECRET below
                  certificate and key: %[5]s

Try:
  export SSL_CERT_FILE=%[3]s ENTRA_EMULATOR_SECRET=%[6]s
  entra token client-credentials --authority %[1]s/contoso.onmicrosoft.com \
    --client-id %[4]s --secret-env ENTRA_EMULATOR_SECRET

Press Ctrl-C to stop.
`, em.URL(), em.IMDSURL(), filepath.Join(out, "ca.pem"), dc.ID,
		filepath.Join(out, "client-cert.pem"), dc.Secret)
	<-ctx.Done()
	return nil
}
