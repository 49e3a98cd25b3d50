package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/internal/errs"
)

// noCredential stands in for commands that never call the token endpoint
// (auth-url, accounts); it fails if anything tries.
var noCredential = credential.NewAssertion(func(context.Context, credential.AssertionRequest) (string, error) {
	return "", errs.New(entra.CodeInvalidCredentialMaterial, "this command has no client credential")
})

type authURLFlags struct {
	authority, tenant, clientID, redirectURI string
	scopes, capabilities, extra              listFlag
	state, nonce, prompt                     string
	loginHint, domainHint, responseMode      string
	claims, clientClaims, output             string
	disableInstanceDiscovery                 bool
}

// runAuthURL prints the sign-in URL of the authorization code flow with a
// fresh PKCE verifier, state and nonce.
func runAuthURL(ctx context.Context, args []string, e env) error {
	var f authURLFlags
	fs := flag.NewFlagSet("entra auth-url", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&f.authority, "authority", "", "authority URL (required)")
	fs.StringVar(&f.tenant, "tenant", "", "tenant to use instead of the authority's")
	fs.StringVar(&f.clientID, "client-id", "", "application (client) id (required)")
	fs.StringVar(&f.redirectURI, "redirect-uri", "", "registered redirect URI (required)")
	fs.Var(&f.scopes, "scope", "scope to consent to (repeatable; default User.Read)")
	fs.Var(&f.capabilities, "capability", "client capability to announce, e.g. cp1 (repeatable)")
	fs.Var(&f.extra, "extra", "extra query parameter NAME=VALUE (repeatable)")
	fs.StringVar(&f.state, "state", "", "state to send (default: random)")
	fs.StringVar(&f.nonce, "nonce", "", "nonce to send (default: random)")
	fs.StringVar(&f.prompt, "prompt", "", "login, consent, select_account or none")
	fs.StringVar(&f.loginHint, "login-hint", "", "username to pre-fill")
	fs.StringVar(&f.domainHint, "domain-hint", "", "domain hint")
	fs.StringVar(&f.responseMode, "response-mode", "", "query or form_post")
	fs.StringVar(&f.claims, "claims", "", "claims request JSON")
	fs.StringVar(&f.clientClaims, "client-claims", "", "refused: client claims never go on the authorization URL")
	fs.BoolVar(&f.disableInstanceDiscovery, "disable-instance-discovery", false, "trust an unknown authority host without instance discovery")
	fs.StringVar(&f.output, "o", "text", "output format: text (the URL) or json (url, state, nonce, code_verifier)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.authority == "" || f.clientID == "" || f.redirectURI == "" {
		return fmt.Errorf("%w: --authority, --client-id and --redirect-uri are required", errUsage)
	}
	if f.output != "json" && f.output != "text" {
		return fmt.Errorf("%w: -o must be json or text", errUsage)
	}
	extra := url.Values{}
	for _, kv := range f.extra {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("%w: --extra wants NAME=VALUE", errUsage)
		}
		extra.Add(k, v)
	}
	client, err := confidential.New(confidential.Config{
		Authority: f.authority, ClientID: f.clientID, Credential: noCredential, HTTPClient: e.httpClient,
		Capabilities: f.capabilities, DisableInstanceDiscovery: f.disableInstanceDiscovery,
	})
	if err != nil {
		return err
	}
	scopes := []string(f.scopes)
	if len(scopes) == 0 {
		scopes = []string{"User.Read"}
	}
	a, err := client.AuthCodeURL(ctx, confidential.AuthorizationRequest{
		RedirectURI: f.redirectURI, Scopes: scopes, State: f.state, Nonce: f.nonce, Prompt: f.prompt,
		LoginHint: f.loginHint, DomainHint: f.domainHint, ResponseMode: f.responseMode,
		Claims: f.claims, ClientClaims: f.clientClaims, Tenant: f.tenant, ExtraQuery: extra,
	})
	if err != nil {
		return err
	}
	if f.output == "text" {
		_, err := fmt.Fprintln(e.stdout, a.URL)
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]string{"url": a.URL, "state": a.State, "nonce": a.Nonce, "code_verifier": a.CodeVerifier})
}

// runAccounts lists or removes the accounts a cache file holds for a client.
func runAccounts(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "remove") {
		return fmt.Errorf("%w: entra accounts needs list or remove", errUsage)
	}
	verb := args[0]
	var authority, clientID, account, username string
	var cf cacheFlags
	fs := flag.NewFlagSet("entra accounts "+verb, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&authority, "authority", "", "authority URL (required)")
	fs.StringVar(&clientID, "client-id", "", "application (client) id (required)")
	cf.add(fs, "token cache file (required)")
	if verb == "remove" {
		fs.StringVar(&account, "account", "", "home account id of the account to remove")
		fs.StringVar(&username, "username", "", "username of the account to remove")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if authority == "" || clientID == "" || cf.path == "" {
		return fmt.Errorf("%w: --authority, --client-id and --cache are required", errUsage)
	}
	if verb == "remove" && (account == "") == (username == "") {
		return fmt.Errorf("%w: give one of --account and --username", errUsage)
	}
	c, err := cf.open(ctx, e)
	if err != nil {
		return err
	}
	client, err := confidential.New(confidential.Config{Authority: authority, ClientID: clientID, Credential: noCredential, Cache: c})
	if err != nil {
		return err
	}
	if verb == "remove" {
		a, err := client.Account(ctx, account+username)
		if err != nil {
			return err
		}
		return client.RemoveAccount(ctx, a)
	}
	accounts, err := client.Accounts(ctx)
	if err != nil {
		return err
	}
	out := make([]*accountOutput, 0, len(accounts))
	for _, a := range accounts {
		out = append(out, newAccountOutput(&a))
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// parseFlags parses args, mapping flag errors to usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}
