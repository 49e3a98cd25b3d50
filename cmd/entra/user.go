package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache"
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
	app                                 appFlags
	redirectURI                         string
	scopes, capabilities, extra         listFlag
	state, nonce, prompt                string
	loginHint, domainHint, responseMode string
	claims                              string
	output                              *choiceFlag
}

func setupAuthURL(fs *flagSet, e env) runFunc {
	f := &authURLFlags{}
	f.app.add(fs, true)
	fs.group("authorization request", func() {
		fs.StringVar(&f.redirectURI, "redirect-uri", "", "registered redirect `URI` (required)")
		fs.Var(&f.scopes, "scope", "`SCOPE` to consent to (repeatable; default User.Read)")
		fs.Var(&f.capabilities, "capability", "client capability `NAME` to announce, e.g. cp1 (repeatable)")
		fs.Var(&f.extra, "extra", "extra query parameter `NAME=VALUE` (repeatable)")
		fs.StringVar(&f.state, "state", "", "state to send (default: random)")
		fs.StringVar(&f.nonce, "nonce", "", "nonce to send (default: random)")
		fs.StringVar(&f.prompt, "prompt", "", "login, consent, select_account or none")
		fs.StringVar(&f.loginHint, "login-hint", "", "`USERNAME` to pre-fill")
		fs.StringVar(&f.domainHint, "domain-hint", "", "`DOMAIN` hint")
		fs.StringVar(&f.responseMode, "response-mode", "", "query or form_post")
		fs.StringVar(&f.claims, "claims", "", "claims request `JSON`")
	})
	f.output = fs.output("json")
	fs.check(func() error { return required("--redirect-uri", f.redirectURI) })
	return func(ctx context.Context, _ []string) error { return runAuthURL(ctx, f, e) }
}

// runAuthURL prints the sign-in URL of the authorization code flow with a
// fresh PKCE verifier, state and nonce: -o json prints all four, -o text
// the URL alone.
func runAuthURL(ctx context.Context, f *authURLFlags, e env) error {
	extra := url.Values{}
	for _, kv := range f.extra {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("%w: --extra wants NAME=VALUE", errUsage)
		}
		extra.Add(k, v)
	}
	client, tenant, err := f.app.client(e, noCredential, nil)
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
		Claims: f.claims, Tenant: tenant, ExtraQuery: extra,
	})
	if err != nil {
		return err
	}
	if f.output.value == "text" {
		_, err := fmt.Fprintln(e.stdout, a.URL)
		return err
	}
	return printJSON(e.stdout, map[string]string{"url": a.URL, "state": a.State, "nonce": a.Nonce, "code_verifier": a.CodeVerifier})
}

// client is a client of the application the flags name, for commands that
// never call the token endpoint: the flags must name it whole (or
// AZURE_CLIENT_ID, and AZURE_TENANT_ID beside --tenant's rules, stand in).
func (a *appFlags) client(e env, cred credential.Credential, store cache.Storage) (*confidential.Client, string, error) {
	authority, tenant := a.resolve(e.getenv)
	if authority == "" {
		if t := e.getenv("AZURE_TENANT_ID"); t != "" {
			authority, _ = (&appFlags{tenant: t}).resolve(e.getenv)
		}
	}
	clientID := a.clientID
	if clientID == "" {
		clientID = e.getenv("AZURE_CLIENT_ID")
	}
	if err := required("--authority (or --tenant)", authority, "--client-id", clientID); err != nil {
		return nil, "", fmt.Errorf("%w: %v", errUsage, err)
	}
	c, err := confidential.New(confidential.Config{
		Authority: authority, AuthorityKind: a.kind(), ClientID: clientID, Credential: cred, HTTPClient: e.httpClient,
		DisableInstanceDiscovery: a.disableInstanceDiscovery, Cache: store, Logger: e.logger(),
	})
	return c, tenant, err
}

type accountsFlags struct {
	app               appFlags
	cache             cacheFlags
	account, username string
	output            *choiceFlag
}

func (f *accountsFlags) add(fs *flagSet) {
	f.app.add(fs, false)
	f.cache.add(fs, "token cache `FILE` (required)", true)
	fs.check(func() error {
		if f.app.authority != "" && f.app.tenant != "" {
			return fmt.Errorf("give --authority or --tenant, not both: accounts are per authority")
		}
		return nil
	})
}

func setupAccountsList(fs *flagSet, e env) runFunc {
	f := &accountsFlags{}
	f.add(fs)
	f.output = fs.output("json")
	return func(ctx context.Context, _ []string) error {
		client, err := f.client(ctx, e)
		if err != nil {
			return err
		}
		accounts, err := client.Accounts(ctx)
		if err != nil {
			return err
		}
		return printAccounts(e, f.output.value, accounts)
	}
}

func setupAccountsRemove(fs *flagSet, e env) runFunc {
	f := &accountsFlags{}
	f.add(fs)
	fs.group("account (one of)", func() {
		fs.StringVar(&f.account, "account", "", "home account `ID` of the account to remove")
		fs.StringVar(&f.username, "username", "", "`USERNAME` of the account to remove")
	})
	f.output = fs.output("json")
	fs.check(func() error { return oneOf(f.account, f.username, "--account", "--username") })
	return func(ctx context.Context, _ []string) error {
		client, err := f.client(ctx, e)
		if err != nil {
			return err
		}
		a, err := client.Account(ctx, f.account+f.username)
		if err != nil {
			return err
		}
		if err := client.RemoveAccount(ctx, a); err != nil {
			return err
		}
		return printAccounts(e, f.output.value, []entra.Account{a})
	}
}

// client opens the --cache file, which must exist, under a client that
// cannot call the token endpoint.
func (f *accountsFlags) client(ctx context.Context, e env) (*confidential.Client, error) {
	store, err := f.cache.openExisting(ctx, e)
	if err != nil {
		return nil, err
	}
	client, _, err := f.app.client(e, noCredential, store)
	return client, err
}

// printAccounts prints accounts as a JSON array, or one per line as
// "USERNAME HOME_ACCOUNT_ID TENANT_ID".
func printAccounts(e env, format string, accounts []entra.Account) error {
	if format == "text" {
		for _, a := range accounts {
			if _, err := fmt.Fprintf(e.stdout, "%s\t%s\t%s\n", a.Username, a.HomeAccountID, a.TenantID); err != nil {
				return err
			}
		}
		return nil
	}
	out := make([]*accountOutput, 0, len(accounts))
	for _, a := range accounts {
		out = append(out, newAccountOutput(&a))
	}
	return printJSON(e.stdout, out)
}
