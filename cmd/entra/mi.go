package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/entra-go/entra/managedidentity"
)

// miSources maps the --source values to the library's sources: the names
// the JSON output uses (managed_identity_source), and "auto".
var miSources = map[string]managedidentity.Source{
	"auto":                                        managedidentity.SourceAuto,
	string(managedidentity.SourceIMDS):            managedidentity.SourceIMDS,
	string(managedidentity.SourceAppService):      managedidentity.SourceAppService,
	string(managedidentity.SourceAzureArc):        managedidentity.SourceAzureArc,
	string(managedidentity.SourceCloudShell):      managedidentity.SourceCloudShell,
	string(managedidentity.SourceServiceFabric):   managedidentity.SourceServiceFabric,
	string(managedidentity.SourceMachineLearning): managedidentity.SourceMachineLearning,
}

// miSourceAliases are the names --source took before it took the output's
// names; they keep working.
var miSourceAliases = map[string]string{
	"appservice": "app_service", "arc": "azure_arc", "cloudshell": "cloud_shell",
	"servicefabric": "service_fabric", "ml": "machine_learning",
}

// miSourceList is the --source values, for help and errors.
const miSourceList = "auto, imds, app_service, azure_arc, cloud_shell, service_fabric or machine_learning"

const miAbout = `Reads the host's environment exactly as the library does: on an Azure VM
it calls IMDS at 169.254.169.254; App Service, Azure Arc, Cloud Shell,
Service Fabric and Machine Learning are found from the variables those hosts
set (IDENTITY_ENDPOINT, IDENTITY_HEADER, IDENTITY_SERVER_THUMBPRINT,
IMDS_ENDPOINT, MSI_ENDPOINT, MSI_SECRET); --source forces one. "entra doctor"
shows what this host would use.
`

type miFlags struct {
	clientID, resourceID, objectID string
	resource, source               string
	claims, clientClaims           string
	forceRefresh, mtlsPoP          bool
	cache                          cacheFlags
	output                         *choiceFlag
}

// addIdentity defines the flags that select the identity and its source;
// clientID false leaves --client-id to a group that defines it already.
func (f *miFlags) addIdentity(fs *flagSet, clientID bool) {
	fs.group("managed identity", func() {
		if clientID {
			fs.StringVar(&f.clientID, "client-id", "", "user-assigned identity by client `ID`")
		}
		fs.StringVar(&f.resourceID, "resource-id", "", "user-assigned identity by Azure resource `ID`")
		fs.StringVar(&f.objectID, "object-id", "", "user-assigned identity by object (principal) `ID`")
		fs.StringVar(&f.source, "source", "auto", "managed identity `SOURCE`: "+miSourceList)
	})
}

func setupManagedIdentity(fs *flagSet, e env) runFunc {
	f := &miFlags{}
	f.addIdentity(fs, true)
	fs.group("token request", func() {
		fs.StringVar(&f.resource, "resource", "", `resource the token is for, e.g. https://management.azure.com (a "/.default" scope is accepted) (required)`)
		fs.StringVar(&f.claims, "claims", "", "claims challenge `JSON` received from a resource (bypasses the cache)")
		fs.StringVar(&f.clientClaims, "client-claims", "", "client-originated claims `JSON`, IMDS only (preview; giving it opts in)")
		fs.BoolVar(&f.forceRefresh, "force-refresh", false, "ignore cached tokens")
		fs.BoolVar(&f.mtlsPoP, "mtls-pop", false, "get an mTLS proof-of-possession token from IMDSv2 (IMDS only)")
	})
	f.cache.add(fs, "token cache `FILE`, shared safely between processes", false)
	f.output = fs.output("json")
	fs.check(func() error { return required("--resource", f.resource) })
	return func(ctx context.Context, _ []string) error { return runManagedIdentity(ctx, f, e) }
}

// runManagedIdentity gets a token for the host's managed identity. It reads
// the real environment, so on an Azure VM it reaches IMDS at
// 169.254.169.254 and elsewhere the source the environment names.
func runManagedIdentity(ctx context.Context, f *miFlags, e env) error {
	cfg, err := f.config(e)
	if err != nil {
		return err
	}
	if cfg.Cache, err = f.cache.open(ctx, e); err != nil {
		return err
	}
	cfg.Logger, cfg.Observer = e.logger(), e.observer
	withPoP(&cfg, e)
	client, err := managedidentity.New(cfg)
	if err != nil {
		return err
	}
	tok, err := client.AcquireToken(ctx, managedidentity.TokenRequest{
		Resource:     f.resource,
		Claims:       f.claims,
		ClientClaims: f.clientClaims,
		ForceRefresh: f.forceRefresh,
		MTLSPoP:      f.mtlsPoP,
	})
	if err != nil {
		return err
	}
	out := newTokenOutput(tok)
	out.ManagedIdentitySource = string(client.Source())
	popOutput(&out, tok)
	return printOutput(e.stdout, f.output.value, out)
}

// miSource is the library's source a --source value names.
func miSource(name string) (managedidentity.Source, error) {
	name = strings.ToLower(name)
	if alias, ok := miSourceAliases[name]; ok {
		name = alias
	}
	source, ok := miSources[name]
	if !ok {
		return "", fmt.Errorf("%w: unknown --source %q (want %s)", errUsage, name, miSourceList)
	}
	return source, nil
}

func (f *miFlags) config(e env) (managedidentity.Config, error) {
	source, err := miSource(f.source)
	if err != nil {
		return managedidentity.Config{}, err
	}
	id := managedidentity.SystemAssigned()
	n := 0
	for _, sel := range []struct {
		value string
		id    func(string) managedidentity.ID
	}{
		{f.clientID, managedidentity.UserAssignedClientID},
		{f.resourceID, managedidentity.UserAssignedResourceID},
		{f.objectID, managedidentity.UserAssignedObjectID},
	} {
		if sel.value != "" {
			id, n = sel.id(sel.value), n+1
		}
	}
	if n > 1 {
		return managedidentity.Config{}, fmt.Errorf("%w: give at most one of --client-id, --resource-id and --object-id", errUsage)
	}
	return managedidentity.Config{
		ID:          id,
		Source:      source,
		Getenv:      e.getenv,
		ArcTokenDir: e.arcTokenDir,
		// Passing --client-claims is the CLI user's opt-in to the preview.
		EnableClientClaims: f.clientClaims != "",
	}, nil
}
