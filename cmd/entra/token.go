package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/managedidentity"
)

const defaultScope = "https://graph.microsoft.com/.default"

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// tokenFlags are the flags shared by the confidential token commands.
type tokenFlags struct {
	authority, tenant, clientID   string
	secretEnv, secretFile         string
	cert, key, certPasswordEnv    string
	federatedTokenFile            string
	miAssertion                   string
	sendX5C                       bool
	scopes, capabilities          listFlag
	region, claims, userAssertion string
	clientClaims                  string
	forceRefresh                  bool
	output                        string
	disableInstanceDiscovery      bool
	cache                         cacheFlags
	mtls, mtlsPoP                 bool

	// user flows
	code, redirectURI, codeVerifier, nonce string
	refreshToken, refreshTokenEnv          string
	account, username                      string
}

// tokenFlows are the flows of "entra token" that use a confidential client.
var tokenFlows = []string{"client-credentials", "obo", "auth-code", "refresh", "silent"}

func newTokenFlagSet(flow string, f *tokenFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("entra token "+flow, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addTokenFlags(fs, flow, f)
	return fs
}

// addTokenFlags defines the flags of a confidential client's flow on fs.
func addTokenFlags(fs *flag.FlagSet, flow string, f *tokenFlags) {
	fs.StringVar(&f.authority, "authority", "", "authority URL, e.g. https://login.microsoftonline.com/TENANT (default: from AZURE_AUTHORITY_HOST and AZURE_TENANT_ID)")
	fs.StringVar(&f.tenant, "tenant", "", "tenant to use instead of the authority's, for this request")
	fs.StringVar(&f.clientID, "client-id", "", "application (client) id (default: AZURE_CLIENT_ID)")
	fs.StringVar(&f.secretEnv, "secret-env", "", "read the client secret from this environment variable")
	fs.StringVar(&f.secretFile, "secret-file", "", "read the client secret from this file")
	fs.StringVar(&f.cert, "cert", "", "client certificate: PEM (chain and key) or PKCS#12 file")
	fs.StringVar(&f.key, "key", "", "PEM private key, when it is not in the --cert file")
	fs.StringVar(&f.certPasswordEnv, "cert-password-env", "", "read the PKCS#12 password from this environment variable")
	fs.BoolVar(&f.sendX5C, "send-x5c", false, "send the certificate chain (x5c) in the client assertion")
	fs.StringVar(&f.federatedTokenFile, "federated-token-file", "", "workload identity: send the token in this file (re-read as it rotates) as the client assertion")
	fs.StringVar(&f.miAssertion, "managed-identity-assertion", "", "managed identity as a federated credential: system, client-id=ID, object-id=ID or resource-id=ID")
	fs.Var(&f.scopes, "scope", "scope to request (repeatable; default "+defaultScope+")")
	fs.StringVar(&f.region, "region", "", `Azure region for a regional endpoint, or "auto"`)
	fs.StringVar(&f.claims, "claims", "", "claims challenge JSON received from a resource (bypasses the cache)")
	fs.StringVar(&f.clientClaims, "client-claims", "", "client-originated claims JSON, cached per value (preview; giving it opts in)")
	fs.Var(&f.capabilities, "capability", "client capability to announce, e.g. cp1 (repeatable)")
	fs.BoolVar(&f.forceRefresh, "force-refresh", false, "ignore cached tokens")
	fs.BoolVar(&f.disableInstanceDiscovery, "disable-instance-discovery", false, "trust an unknown authority host without instance discovery")
	fs.StringVar(&f.output, "o", "json", "output format: json or text")
	f.cache.add(fs, "token cache file (cross-MSAL schema), shared safely between processes")
	fs.BoolVar(&f.mtls, "mtls", false, "present the certificate over mutual TLS and use the mTLS token host (needs --cert)")
	if flow == "client-credentials" {
		fs.BoolVar(&f.mtlsPoP, "mtls-pop", false, "get an mTLS proof-of-possession token bound to the certificate (needs --cert)")
	}
	switch flow {
	case "obo":
		fs.StringVar(&f.userAssertion, "user-assertion", "", "the token the user sent to this API (required)")
	case "auth-code":
		fs.StringVar(&f.code, "code", "", "the authorization code the redirect URI received (required)")
		fs.StringVar(&f.redirectURI, "redirect-uri", "", "the redirect URI the code was sent to (required)")
		fs.StringVar(&f.codeVerifier, "code-verifier", "", "the PKCE verifier from entra auth-url")
		fs.StringVar(&f.nonce, "nonce", "", "the nonce from entra auth-url, checked in the ID token")
	case "refresh":
		fs.StringVar(&f.refreshToken, "refresh-token", "", "the refresh token to redeem")
		fs.StringVar(&f.refreshTokenEnv, "refresh-token-env", "", "read the refresh token from this environment variable (keeps it out of the process list)")
	case "silent":
		fs.StringVar(&f.account, "account", "", "home account id of a cached account")
		fs.StringVar(&f.username, "username", "", "username of a cached account")
	}
}

func runToken(ctx context.Context, flow string, args []string, e env) error {
	if flow == "managed-identity" {
		return runManagedIdentity(ctx, args, e)
	}
	if !slices.Contains(tokenFlows, flow) {
		return fmt.Errorf("%w: unknown token flow %q (want %s or managed-identity)", errUsage, flow, strings.Join(tokenFlows, ", "))
	}
	var f tokenFlags
	fs := newTokenFlagSet(flow, &f, e.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.validate(flow); err != nil {
		return err
	}
	cfg, kind, err := f.clientConfig(e)
	if err != nil {
		return err
	}
	if cfg.Cache, err = f.cache.open(ctx, e); err != nil {
		return err
	}
	cfg.Region, cfg.Capabilities, cfg.DisableInstanceDiscovery = f.region, f.capabilities, f.disableInstanceDiscovery
	cfg.EnableClientClaims = f.clientClaims != "" // passing --client-claims is the CLI user's opt-in to the preview
	cfg.Logger, cfg.Observer, cfg.HTTPClient, cfg.SendCertificateOverMTLS = e.logger(), e.observer, e.httpClient, f.mtls
	client, err := confidential.New(cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	req := confidential.TokenRequest{
		Scopes:       f.scopes,
		Tenant:       f.tenant,
		Claims:       f.claims,
		ClientClaims: f.clientClaims,
		ForceRefresh: f.forceRefresh,
		MTLSPoP:      f.mtlsPoP,
	}
	if len(req.Scopes) == 0 {
		req.Scopes = []string{defaultScope}
	}
	var tok entra.Token
	switch flow {
	case "obo":
		tok, err = client.AcquireTokenOnBehalfOf(ctx, f.userAssertion, req)
	case "auth-code":
		tok, err = client.AcquireTokenByAuthCode(ctx, confidential.AuthCode{
			Code: f.code, RedirectURI: f.redirectURI, CodeVerifier: f.codeVerifier, Nonce: f.nonce}, req)
	case "refresh":
		rt := f.refreshToken
		if f.refreshTokenEnv != "" {
			if rt = e.getenv(f.refreshTokenEnv); rt == "" {
				return errs.New(entra.CodeInvalidArgument, "environment variable %s is empty or not set", f.refreshTokenEnv)
			}
		}
		tok, err = client.AcquireTokenByRefreshToken(ctx, rt, req)
	case "silent":
		var account entra.Account
		if account, err = client.Account(ctx, f.account+f.username); err == nil {
			tok, err = client.AcquireTokenSilent(ctx, &account, req)
		}
	default:
		tok, err = client.AcquireTokenForClient(ctx, req)
	}
	if err != nil {
		return err
	}
	out := newTokenOutput(tok)
	out.Credential = kind
	return printOutput(e.stdout, f.output, out)
}

func (f *tokenFlags) validate(flow string) error {
	var missing []string
	for _, req := range []struct {
		flow, name, value string
	}{
		{"obo", "--user-assertion", f.userAssertion},
		{"auth-code", "--code", f.code},
		{"auth-code", "--redirect-uri", f.redirectURI},
	} {
		if flow == req.flow && req.value == "" {
			missing = append(missing, req.name)
		}
	}
	if flow == "refresh" && (f.refreshToken == "") == (f.refreshTokenEnv == "") {
		return fmt.Errorf("%w: give one of --refresh-token and --refresh-token-env", errUsage)
	}
	if flow == "silent" && (f.account == "") == (f.username == "") {
		return fmt.Errorf("%w: give one of --account and --username", errUsage)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", errUsage, strings.Join(missing, ", "))
	}
	if len(f.credentialFlags()) > 1 {
		return fmt.Errorf("%w: give at most one of --secret-env, --secret-file, --cert, --federated-token-file and --managed-identity-assertion", errUsage)
	}
	if f.output != "json" && f.output != "text" {
		return fmt.Errorf("%w: -o must be json or text", errUsage)
	}
	if f.key != "" && f.cert == "" {
		return fmt.Errorf("%w: --key needs --cert", errUsage)
	}
	return nil
}

// credentialFlags are the credential flags given.
func (f *tokenFlags) credentialFlags() []string {
	var set []string
	for name, value := range map[string]string{"--secret-env": f.secretEnv, "--secret-file": f.secretFile, "--cert": f.cert,
		"--federated-token-file": f.federatedTokenFile, "--managed-identity-assertion": f.miAssertion} {
		if value != "" {
			set = append(set, name)
		}
	}
	return set
}

// clientConfig is the client's authority, client id and credential: from
// the flags, and, for what they do not give, from the AZURE_* environment
// (which must then describe a whole application). kind names the
// credential for the output.
func (f *tokenFlags) clientConfig(e env) (cfg confidential.Config, kind string, err error) {
	if f.authority == "" || f.clientID == "" || len(f.credentialFlags()) == 0 {
		if cfg, err = confidential.ConfigFromEnvironment(e.getenv); err != nil {
			return cfg, "", fmt.Errorf("%w: no --authority, --client-id or credential flag, and the AZURE_* environment cannot stand in: %v", errUsage, err)
		}
		kind = environmentCredential(e.getenv)
	}
	if f.authority != "" {
		cfg.Authority = f.authority
	}
	if f.clientID != "" {
		cfg.ClientID = f.clientID
	}
	if len(f.credentialFlags()) == 1 {
		cfg.Credential, kind, err = f.credential(e)
	}
	return cfg, kind, err
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

func (f *tokenFlags) credential(e env) (credential.Credential, string, error) {
	switch {
	case f.secretEnv != "":
		secret := e.getenv(f.secretEnv)
		if secret == "" {
			return nil, "", errs.New(entra.CodeInvalidCredentialMaterial, "environment variable %s is empty or not set", f.secretEnv)
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

// tokenOutput is the JSON contract of "entra token".
type tokenOutput struct {
	TokenType     string `json:"token_type"`
	AccessToken   string `json:"access_token"`
	ExpiresOn     string `json:"expires_on"`
	Source        string `json:"source"`
	TokenEndpoint string `json:"token_endpoint,omitempty"`
	Region        string `json:"region,omitempty"`
	// Account is the user of a user flow's token.
	Account *accountOutput `json:"account,omitempty"`
	// BindingCertificateSHA256 is the x5t#S256 of the certificate a PoP
	// token is bound to.
	BindingCertificateSHA256 string `json:"binding_certificate_sha256,omitempty"`
	// MTLSEndpoint is the mTLS token endpoint a managed identity's PoP
	// token came from (IMDSv2); empty for a cached token.
	MTLSEndpoint string `json:"mtls_endpoint,omitempty"`
	// Credential names the client's credential: secret, certificate,
	// workload_identity or managed_identity.
	Credential string `json:"credential,omitempty"`
	// ManagedIdentitySource is the managed identity source used (imds,
	// app_service, azure_arc, cloud_shell, service_fabric or machine_learning).
	ManagedIdentitySource string `json:"managed_identity_source,omitempty"`
}

// accountOutput is the JSON form of an account.
type accountOutput struct {
	HomeAccountID string `json:"home_account_id"`
	Username      string `json:"username"`
	TenantID      string `json:"tenant_id"`
}

func newAccountOutput(a *entra.Account) *accountOutput {
	if a == nil {
		return nil
	}
	return &accountOutput{HomeAccountID: a.HomeAccountID, Username: a.Username, TenantID: a.TenantID}
}

func newTokenOutput(tok entra.Token) tokenOutput {
	return tokenOutput{
		TokenType:     tok.TokenType,
		AccessToken:   tok.AccessToken,
		ExpiresOn:     tok.ExpiresOn.UTC().Format(time.RFC3339),
		Source:        sourceName(tok.FromCache),
		TokenEndpoint: tok.TokenEndpoint,
		Region:        tok.Region,
		Account:       newAccountOutput(tok.Account),

		BindingCertificateSHA256: bindingThumbprint(tok.BindingCertificate),
	}
}

// thumbprint is a certificate's x5t#S256; "" for none.
func thumbprint(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	sum := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// bindingThumbprint is a binding certificate's x5t#S256; "" for none.
func bindingThumbprint(c *tls.Certificate) string {
	if c == nil {
		return ""
	}
	return thumbprint(c.Leaf)
}

func printToken(w io.Writer, format string, tok entra.Token) error {
	return printOutput(w, format, newTokenOutput(tok))
}

func printOutput(w io.Writer, format string, out tokenOutput) error {
	if format == "text" {
		_, err := fmt.Fprintln(w, out.AccessToken)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// sourceName is the JSON output's source: "cache" or "identity_provider".
func sourceName(fromCache bool) string {
	if fromCache {
		return "cache"
	}
	return "identity_provider"
}
