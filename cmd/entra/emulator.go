package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/entra-go/entra/entratest"
)

// emulatorSources are the managed identity sources the emulator serves,
// by the names entratest and the managedidentity package give them.
var emulatorSources = []string{"imds", "app_service", "azure_arc", "cloud_shell", "service_fabric", "machine_learning"}

// emulatorInfo is what `entra emulator` prints (-o json: one line).
type emulatorInfo struct {
	TokenService string `json:"token_service"`
	TenantID     string `json:"tenant_id"`
	// CAFile is the CA certificate to trust (SSL_CERT_FILE,
	// NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE).
	CAFile        string `json:"ca_file"`
	DefaultClient struct {
		ClientID string `json:"client_id"`
		// SecretFile holds the secret: it is not printed.
		SecretFile string `json:"secret_file"`
		// CertificateFile holds the certificate and its key (PEM).
		CertificateFile string `json:"certificate_file"`
		RedirectURI     string `json:"redirect_uri"`
	} `json:"default_client"`
	DefaultUser string `json:"default_user"`
	// ManagedIdentity is, per source, the environment a process on such a
	// host has; SystemAssignedClientID is the host identity's client id.
	ManagedIdentity        map[string]map[string]string `json:"managed_identity"`
	SystemAssignedClientID string                       `json:"system_assigned_client_id"`
	ArcTokenDir            string                       `json:"arc_token_dir"`
}

// emulatorFlags configure "entra emulator".
type emulatorFlags struct {
	addr, imdsAddr, sfAddr, dir, config, arcDir, region string
	output                                              *choiceFlag
}

func setupEmulator(fs *flagSet, e env) runFunc {
	f := &emulatorFlags{}
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8443", "HTTPS listen `ADDRESS` of the token service (use 127.0.0.1:443 with /etc/hosts entries for the real host names)")
	fs.StringVar(&f.imdsAddr, "imds-addr", "127.0.0.1:0", "plain-HTTP listen `ADDRESS` of IMDS and the App Service, Azure Arc, Cloud Shell and Machine Learning endpoints")
	fs.StringVar(&f.sfAddr, "sf-addr", "127.0.0.1:0", "HTTPS listen `ADDRESS` of the Service Fabric endpoint")
	fs.StringVar(&f.dir, "dir", "", "`DIR` kept across restarts: the CA and signing keys (trusted once), the CA certificate and the default client's files (default: a new temporary folder, new keys)")
	fs.StringVar(&f.config, "config", "", "JSON `FILE` of registrations: tenant_id, domains, clients, users (see the README)")
	fs.StringVar(&f.arcDir, "arc-dir", "", "`DIR` of the Azure Arc challenge files (default: a new temporary folder)")
	fs.StringVar(&f.region, "region", "eastus", "region reported by IMDS")
	f.output = fs.output("text")
	return func(ctx context.Context, _ []string) error { return runEmulator(ctx, f, e) }
}

// runEmulator serves until ctx ends, after writing the CA certificate and
// the default client's files where other processes can read them, and
// printing the environment each managed identity source needs.
func runEmulator(ctx context.Context, f *emulatorFlags, e env) error {
	var cfg *emulatorConfig
	if f.config != "" {
		var err error
		if cfg, err = readEmulatorConfig(f.config); err != nil {
			return err
		}
	}
	out, keep := f.dir, f.dir != ""
	if keep {
		if err := os.MkdirAll(out, 0o700); err != nil {
			return err
		}
	} else {
		var err error
		if out, err = os.MkdirTemp("", "entra-emulator-"); err != nil {
			return err
		}
		defer os.RemoveAll(out)
	}
	// Other processes trust what this emulator signs: it signs with a key
	// of its own (kept in --dir), not the package's built-in test key.
	keys, err := loadOrMakeKeys(out, keep)
	if err != nil {
		return err
	}
	opts := entratest.Options{
		Addr: f.addr, IMDSAddr: f.imdsAddr, ServiceFabricAddr: f.sfAddr, Region: f.region,
		SigningKey: keys.signing, CA: keys.ca, ArcTokenDir: f.arcDir,
	}
	if cfg != nil {
		opts.TenantID = cfg.TenantID
	}
	em, err := entratest.New(opts)
	if err != nil {
		return err
	}
	defer em.Close()
	if cfg != nil {
		if err := cfg.register(em); err != nil {
			return err
		}
	}
	info, err := writeEmulatorFiles(em, out)
	if err != nil {
		return err
	}
	if f.output.value == "json" {
		b, _ := json.Marshal(info)
		fmt.Fprintf(e.stdout, "%s\n", b)
	} else {
		printEmulatorText(e, info)
	}
	<-ctx.Done()
	return nil
}

// writeEmulatorFiles writes the CA certificate and the default client's
// files to dir (0600) and describes the emulator.
func writeEmulatorFiles(em *entratest.Emulator, dir string) (*emulatorInfo, error) {
	dc := em.DefaultClient()
	info := &emulatorInfo{
		TokenService: em.URL(), TenantID: em.TenantID(), CAFile: filepath.Join(dir, caCertFile),
		DefaultUser: em.DefaultUser().Username, ManagedIdentity: map[string]map[string]string{},
		SystemAssignedClientID: em.DefaultIdentityClientID(), ArcTokenDir: em.ArcTokenDir(),
	}
	info.DefaultClient.ClientID, info.DefaultClient.RedirectURI = dc.ID, entratest.DefaultRedirectURI
	info.DefaultClient.SecretFile = filepath.Join(dir, "client-secret")
	info.DefaultClient.CertificateFile = filepath.Join(dir, "client-cert.pem")
	files := map[string][]byte{
		info.CAFile:                        em.CACertPEM(),
		info.DefaultClient.CertificateFile: append(append([]byte{}, dc.CertPEM...), dc.KeyPEM...),
		info.DefaultClient.SecretFile:      []byte(dc.Secret),
	}
	for name, data := range files {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			return nil, err
		}
	}
	for _, src := range emulatorSources {
		info.ManagedIdentity[src] = em.ManagedIdentityEnv(src)
	}
	return info, nil
}

func printEmulatorText(e env, info *emulatorInfo) {
	w := e.stdout
	fmt.Fprintf(w, `entra emulator
  token service:  %[1]s  (any host name; e.g. %[1]s/%[2]s)
  tenant:         %[2]s
  CA certificate: %[3]s
  demo client:    id %[4]s
                  secret in %[5]s
                  certificate and key: %[6]s
  demo user:      %[7]s

Managed identity: the environment a process sets to use each source
(system-assigned client id %[8]s):
`, info.TokenService, info.TenantID, info.CAFile, info.DefaultClient.ClientID,
		info.DefaultClient.SecretFile, info.DefaultClient.CertificateFile, info.DefaultUser, info.SystemAssignedClientID)
	for _, src := range emulatorSources {
		fmt.Fprintf(w, "  %-17s %s\n", src+":", envLine(info.ManagedIdentity[src]))
	}
	fmt.Fprintf(w, `
Try:
  export SSL_CERT_FILE=%[1]s
  ENTRA_EMULATOR_SECRET=$(cat %[2]s) entra token client-credentials \
    --authority %[3]s/%[4]s --client-id %[5]s --secret-env ENTRA_EMULATOR_SECRET
  env %[6]s entra token managed-identity --resource https://vault.azure.net

Press Ctrl-C to stop.
`, info.CAFile, info.DefaultClient.SecretFile, info.TokenService, info.TenantID, info.DefaultClient.ClientID,
		envLine(info.ManagedIdentity["app_service"]))
}

func envLine(env map[string]string) string {
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	slices.Sort(names)
	for i, k := range names {
		names[i] = k + "=" + env[k]
	}
	return strings.Join(names, " ")
}
