package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"

	"github.com/entra-go/entra/entratest"
)

// emulatorFlags configure "entra emulator".
type emulatorFlags struct {
	addr, imdsAddr, dir, region string
	output                      *choiceFlag
}

func setupEmulator(fs *flagSet, e env) runFunc {
	f := &emulatorFlags{}
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8443", "HTTPS listen `ADDRESS` (use 127.0.0.1:443 with /etc/hosts entries for the real host names)")
	fs.StringVar(&f.imdsAddr, "imds-addr", "127.0.0.1:0", "plain-HTTP listen `ADDRESS` of the IMDS endpoint")
	fs.StringVar(&f.dir, "dir", "", "`DIR` for the CA certificate and the demo client's certificate (default: a new temporary folder)")
	fs.StringVar(&f.region, "region", "eastus", "region reported by the IMDS endpoint")
	f.output = fs.output("text")
	return func(ctx context.Context, _ []string) error { return runEmulator(ctx, f, e) }
}

// runEmulator serves until ctx ends, after writing the CA certificate and
// the demo client's certificate where other processes can read them.
func runEmulator(ctx context.Context, f *emulatorFlags, e env) error {
	// Other processes trust what this emulator signs: it signs with a key
	// of its own, not the package's built-in test key.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	em, err := entratest.New(entratest.Options{Addr: f.addr, IMDSAddr: f.imdsAddr, Region: f.region, SigningKey: key})
	if err != nil {
		return err
	}
	defer em.Close()

	out := f.dir
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
	if f.output.value == "json" {
		if err := printJSON(e.stdout, emulatorOutput{TokenService: em.URL(), IMDS: em.IMDSURL(), CACertificate: filepath.Join(out, "ca.pem"),
			ClientID: dc.ID, ClientCertificate: filepath.Join(out, "client-cert.pem"), ClientSecret: dc.Secret}); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
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

// emulatorOutput is what -o json prints: where the emulator listens and
// where its files are, and its demo client (whose secret is the
// emulator's own, printed by the text form too).
type emulatorOutput struct {
	TokenService      string `json:"token_service"`
	IMDS              string `json:"imds"`
	CACertificate     string `json:"ca_certificate"`
	ClientID          string `json:"client_id"`
	ClientCertificate string `json:"client_certificate"`
	ClientSecret      string `json:"client_secret"`
}
