package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/entra-go/entra/managedidentity"
)

// miSources maps the --source values to the library's sources.
var miSources = map[string]managedidentity.Source{
	"auto":          managedidentity.SourceAuto,
	"imds":          managedidentity.SourceIMDS,
	"appservice":    managedidentity.SourceAppService,
	"arc":           managedidentity.SourceAzureArc,
	"cloudshell":    managedidentity.SourceCloudShell,
	"servicefabric": managedidentity.SourceServiceFabric,
	"ml":            managedidentity.SourceMachineLearning,
}

type miFlags struct {
	clientID, resourceID, objectID string
	resource, source               string
	claims, clientClaims           string
	forceRefresh, mtlsPoP          bool
	cache                          cacheFlags
	output                         string
}

func newMIFlagSet(f *miFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("entra token managed-identity", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.clientID, "client-id", "", "user-assigned identity by client id")
	fs.StringVar(&f.resourceID, "resource-id", "", "user-assigned identity by Azure resource id")
	fs.StringVar(&f.objectID, "object-id", "", "user-assigned identity by object (principal) id")
	fs.StringVar(&f.resource, "resource", "", `resource the token is for, e.g. https://management.azure.com (a "/.default" scope is accepted) (required)`)
	fs.StringVar(&f.source, "source", "auto", "auto, imds, appservice, arc, cloudshell, servicefabric or ml")
	fs.StringVar(&f.claims, "claims", "", "claims challenge JSON received from a resource (bypasses the cache)")
	fs.StringVar(&f.clientClaims, "client-claims", "", "client-originated claims JSON, IMDS only (preview; giving it opts in)")
	fs.BoolVar(&f.forceRefresh, "force-refresh", false, "ignore cached tokens")
	fs.BoolVar(&f.mtlsPoP, "mtls-pop", false, "get an mTLS proof-of-possession token from IMDSv2 (IMDS only)")
	fs.StringVar(&f.output, "o", "json", "output format: json or text")
	f.cache.add(fs, "token cache file, shared safely between processes")
	return fs
}

// runManagedIdentity gets a token for the host's managed identity. It reads
// the real environment, so on an Azure VM it reaches IMDS at
// 169.254.169.254 and elsewhere the source the environment names.
func runManagedIdentity(ctx context.Context, args []string, e env) error {
	var f miFlags
	fs := newMIFlagSet(&f, e.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
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
	return printOutput(e.stdout, f.output, out)
}

func (f *miFlags) config(e env) (managedidentity.Config, error) {
	if f.resource == "" {
		return managedidentity.Config{}, fmt.Errorf("%w: missing --resource", errUsage)
	}
	if f.output != "json" && f.output != "text" {
		return managedidentity.Config{}, fmt.Errorf("%w: -o must be json or text", errUsage)
	}
	source, ok := miSources[strings.ToLower(f.source)]
	if !ok {
		return managedidentity.Config{}, fmt.Errorf("%w: unknown --source %q (want auto, imds, appservice, arc, cloudshell, servicefabric or ml)", errUsage, f.source)
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
