package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/managedidentity"
)

// tokenFlags are the flags of the confidential token commands.
type tokenFlags struct {
	app    appFlags
	cred   credFlags
	req    requestFlags
	cache  cacheFlags
	output *choiceFlag
	// hostIdentity, when set and true, makes the host's managed identity
	// the credential (entra http --managed-identity): its --mtls-pop
	// token is bound to a certificate IMDSv2 issues, not to --cert.
	hostIdentity *bool

	// user flows
	userAssertion, userAssertionEnv        string
	code, redirectURI, codeVerifier, nonce string
	refreshToken, refreshTokenEnv          string
	account, username                      string
}

// addTokenFlags defines the flags of a confidential client's flow on fs.
func addTokenFlags(fs *flagSet, flow string, f *tokenFlags, e env) {
	f.app.add(fs, true)
	f.cred.add(fs)
	f.req.add(fs, flow, &f.cred)
	f.cache.add(fs, "token cache `FILE` (cross-MSAL schema), shared safely between processes", flow == "silent")
	fs.check(func() error { return f.checkMTLS(e) })
}

// checkMTLS refuses --mtls and --mtls-pop without a certificate, in the
// CLI's words, before any client is made.
func (f *tokenFlags) checkMTLS(e env) error {
	for _, opt := range []struct {
		name string
		on   bool
	}{{"--mtls", f.cred.mtls}, {"--mtls-pop", f.req.mtlsPoP}} {
		if !opt.on || (opt.name == "--mtls-pop" && f.hostIdentity != nil && *f.hostIdentity) {
			continue
		}
		switch given := f.cred.given(); {
		case len(given) == 1 && given[0] != "--cert":
			return fmt.Errorf("%s needs a certificate (--cert); %s gives none to present", opt.name, given[0])
		case len(given) == 0 && environmentCredential(e.getenv) != "certificate":
			return fmt.Errorf("%s needs a certificate: give --cert (or AZURE_CLIENT_CERTIFICATE_PATH)", opt.name)
		}
	}
	return nil
}

// tokenSetup makes the setup of a confidential flow: its shared flags,
// the flags only it takes, and the acquisition.
func tokenSetup(flow string, own func(fs *flagSet, f *tokenFlags)) func(fs *flagSet, e env) runFunc {
	return func(fs *flagSet, e env) runFunc {
		f := &tokenFlags{}
		addTokenFlags(fs, flow, f, e)
		if own != nil {
			fs.group(flowTitles[flow], func() { own(fs, f) })
		}
		f.output = fs.output("json")
		return func(ctx context.Context, _ []string) error { return runToken(ctx, flow, f, e) }
	}
}

// flowTitles head the flags only one flow takes.
var flowTitles = map[string]string{"obo": "on-behalf-of", "auth-code": "authorization code",
	"refresh": "refresh token (one of)", "silent": "account (one of)"}

var (
	setupClientCredentials = tokenSetup("client-credentials", nil)
	setupOBO               = tokenSetup("obo", func(fs *flagSet, f *tokenFlags) {
		fs.StringVar(&f.userAssertion, "user-assertion", "", "the `TOKEN` the user sent to this API (visible in the process list: prefer --user-assertion-env)")
		fs.StringVar(&f.userAssertionEnv, "user-assertion-env", "", "read the user assertion from this environment variable (`NAME`)")
		fs.check(func() error {
			return oneOf(f.userAssertion, f.userAssertionEnv, "--user-assertion", "--user-assertion-env")
		})
	})
	setupAuthCode = tokenSetup("auth-code", func(fs *flagSet, f *tokenFlags) {
		fs.StringVar(&f.code, "code", "", "the authorization `CODE` the redirect URI received (required)")
		fs.StringVar(&f.redirectURI, "redirect-uri", "", "the redirect `URI` the code was sent to (required)")
		fs.StringVar(&f.codeVerifier, "code-verifier", "", "the PKCE verifier from entra auth-url")
		fs.StringVar(&f.nonce, "nonce", "", "the nonce from entra auth-url, checked in the ID token")
		fs.check(func() error { return required("--code", f.code, "--redirect-uri", f.redirectURI) })
	})
	setupRefresh = tokenSetup("refresh", func(fs *flagSet, f *tokenFlags) {
		fs.StringVar(&f.refreshToken, "refresh-token", "", "the refresh `TOKEN` to redeem (visible in the process list: prefer --refresh-token-env)")
		fs.StringVar(&f.refreshTokenEnv, "refresh-token-env", "", "read the refresh token from this environment variable (`NAME`)")
		fs.check(func() error {
			return oneOf(f.refreshToken, f.refreshTokenEnv, "--refresh-token", "--refresh-token-env")
		})
	})
	setupSilent = tokenSetup("silent", func(fs *flagSet, f *tokenFlags) {
		fs.StringVar(&f.account, "account", "", "home account `ID` of a cached account")
		fs.StringVar(&f.username, "username", "", "`USERNAME` of a cached account")
		fs.check(func() error { return oneOf(f.account, f.username, "--account", "--username") })
	})
)

// oneOf requires exactly one of two flags.
func oneOf(a, b, nameA, nameB string) error {
	if (a == "") == (b == "") {
		return fmt.Errorf("give one of %s and %s", nameA, nameB)
	}
	return nil
}

// required names the required flags (name, value pairs) not given.
func required(pairs ...string) error {
	var missing []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			missing = append(missing, pairs[i])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// fromEnv reads a secret flag's environment variable, which must be set.
func fromEnv(e env, name, flagName string) (string, error) {
	v := e.getenv(name)
	if v == "" {
		return "", errs.New(entra.CodeInvalidArgument, "environment variable %s (%s) is empty or not set", name, flagName)
	}
	return v, nil
}

func runToken(ctx context.Context, flow string, f *tokenFlags, e env) error {
	cfg, kind, tenant, err := f.clientConfig(e)
	if err != nil {
		return err
	}
	if flow == "silent" {
		cfg.Cache, err = f.cache.openExisting(ctx, e)
	} else {
		cfg.Cache, err = f.cache.open(ctx, e)
	}
	if err != nil {
		return err
	}
	cfg.Region, cfg.Capabilities = f.req.region, f.req.capabilities
	cfg.EnableClientClaims = f.req.clientClaims != "" // passing --client-claims is the CLI user's opt-in to the preview
	cfg.Logger, cfg.Observer, cfg.HTTPClient, cfg.SendCertificateOverMTLS = e.logger(), e.observer, e.httpClient, f.cred.mtls
	client, err := confidential.New(cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	tok, err := f.acquire(ctx, flow, client, f.req.tokenRequest(tenant), e)
	if err != nil {
		return err
	}
	out := newTokenOutput(tok)
	out.Credential = kind
	return printOutput(e.stdout, f.output.value, out)
}

// acquire runs flow's acquisition.
func (f *tokenFlags) acquire(ctx context.Context, flow string, client *confidential.Client, req confidential.TokenRequest, e env) (entra.Token, error) {
	switch flow {
	case "obo":
		assertion := f.userAssertion
		if f.userAssertionEnv != "" {
			var err error
			if assertion, err = fromEnv(e, f.userAssertionEnv, "--user-assertion-env"); err != nil {
				return entra.Token{}, err
			}
		}
		return client.AcquireTokenOnBehalfOf(ctx, assertion, req)
	case "auth-code":
		return client.AcquireTokenByAuthCode(ctx, confidential.AuthCode{
			Code: f.code, RedirectURI: f.redirectURI, CodeVerifier: f.codeVerifier, Nonce: f.nonce}, req)
	case "refresh":
		rt := f.refreshToken
		if f.refreshTokenEnv != "" {
			var err error
			if rt, err = fromEnv(e, f.refreshTokenEnv, "--refresh-token-env"); err != nil {
				return entra.Token{}, err
			}
		}
		return client.AcquireTokenByRefreshToken(ctx, rt, req)
	case "silent":
		account, err := client.Account(ctx, f.account+f.username)
		if err != nil {
			return entra.Token{}, err
		}
		return client.AcquireTokenSilent(ctx, &account, req)
	}
	return client.AcquireTokenForClient(ctx, req)
}

// clientConfig is the client's authority, client id and credential: from
// the flags, and, for what they do not give, from the AZURE_* environment
// (which must then describe a whole application). kind names the
// credential for the output; tenant is the request's tenant override.
func (f *tokenFlags) clientConfig(e env) (cfg confidential.Config, kind, tenant string, err error) {
	authority, tenant := f.app.resolve(e.getenv)
	given := f.cred.given()
	if authority == "" || f.app.clientID == "" || len(given) == 0 {
		if cfg, err = confidential.ConfigFromEnvironment(e.getenv); err != nil {
			return cfg, "", "", fmt.Errorf("%w: no --authority (or --tenant), --client-id or credential flag, and the AZURE_* environment cannot stand in: %v", errUsage, entraMessage(err))
		}
		kind = environmentCredential(e.getenv)
	}
	if authority != "" {
		cfg.Authority = authority
	}
	if f.app.clientID != "" {
		cfg.ClientID = f.app.clientID
	}
	cfg.AuthorityKind, cfg.DisableInstanceDiscovery = f.app.kind(), f.app.disableInstanceDiscovery
	if len(given) == 1 {
		cfg.Credential, kind, err = f.cred.credential(e)
	}
	return cfg, kind, tenant, err
}

// environmentCredential names the credential ConfigFromEnvironment took
// (it takes exactly one).
func environmentCredential(getenv func(string) string) string {
	switch {
	case getenv("AZURE_FEDERATED_TOKEN_FILE") != "":
		return "workload_identity"
	case getenv("AZURE_CLIENT_CERTIFICATE_PATH") != "":
		return "certificate"
	}
	return "secret"
}

func (f *credFlags) credential(e env) (credential.Credential, string, error) {
	switch {
	case f.secretEnv != "":
		secret := e.getenv(f.secretEnv)
		if secret == "" {
			return nil, "", errs.New(entra.CodeInvalidCredentialMaterial, "environment variable %s (--secret-env) is empty or not set", f.secretEnv)
		}
		cred, err := credential.NewSecret(secret)
		return cred, "secret", err
	case f.secretFile != "":
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return nil, "", errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "cannot read the secret file")
		}
		cred, err := credential.NewSecret(strings.TrimRight(string(b), "\r\n"))
		return cred, "secret", err
	case f.federatedTokenFile != "":
		return credential.NewWorkloadIdentity(f.federatedTokenFile), "workload_identity", nil
	case f.miAssertion != "":
		mi, err := managedIdentityFor(f.miAssertion, e)
		if err != nil {
			return nil, "", err
		}
		return credential.NewManagedIdentityAssertion(mi), "managed_identity", nil
	}
	opts := credential.CertificateOptions{SendX5C: f.sendX5C}
	if f.certPasswordEnv != "" {
		opts.Password = e.getenv(f.certPasswordEnv)
	}
	cred, err := credential.LoadCertificate(f.cert, f.key, opts)
	return cred, "certificate", err
}

// managedIdentityFor makes the managed identity client of
// --managed-identity-assertion: system, client-id=ID, object-id=ID or
// resource-id=ID.
func managedIdentityFor(spec string, e env) (*managedidentity.Client, error) {
	kind, value, _ := strings.Cut(spec, "=")
	ids := map[string]func(string) managedidentity.ID{"client-id": managedidentity.UserAssignedClientID,
		"object-id": managedidentity.UserAssignedObjectID, "resource-id": managedidentity.UserAssignedResourceID}
	id := managedidentity.SystemAssigned()
	switch newID, ok := ids[kind]; {
	case spec == "system":
	case ok && value != "":
		id = newID(value)
	default:
		return nil, fmt.Errorf("%w: --managed-identity-assertion is system, client-id=ID, object-id=ID or resource-id=ID, not %q", errUsage, spec)
	}
	return managedidentity.New(managedidentity.Config{ID: id, Getenv: e.getenv, ArcTokenDir: e.arcTokenDir, Logger: e.logger(), Observer: e.observer})
}
