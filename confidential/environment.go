package confidential

import (
	"os"
	"strconv"
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/internal/clientauth"
	"github.com/entra-go/entra/internal/errs"
)

// The environment variables the Azure SDKs, and the AKS workload identity
// webhook, configure an application with.
const (
	envClientID        = "AZURE_CLIENT_ID"
	envTenantID        = "AZURE_TENANT_ID"
	envAuthorityHost   = "AZURE_AUTHORITY_HOST"
	envClientSecret    = "AZURE_CLIENT_SECRET"
	envCertificatePath = "AZURE_CLIENT_CERTIFICATE_PATH"
	envCertificatePass = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	envSendCertChain   = "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"
	envFederatedToken  = "AZURE_FEDERATED_TOKEN_FILE"
	// An AKS identity binding re-targets token requests to a proxy.
	envTokenProxy        = "AZURE_KUBERNETES_TOKEN_PROXY"
	envSNIName           = "AZURE_KUBERNETES_SNI_NAME"
	envCAFile            = "AZURE_KUBERNETES_CA_FILE"
	envCAData            = "AZURE_KUBERNETES_CA_DATA"
	defaultAuthorityHost = "https://login.microsoftonline.com/"
)

// ConfigFromEnvironment returns the Config the AZURE_* environment
// describes, as the Azure SDKs read it: AZURE_CLIENT_ID, AZURE_TENANT_ID,
// AZURE_AUTHORITY_HOST (default https://login.microsoftonline.com/, a
// trailing slash allowed), and exactly one credential:
// AZURE_CLIENT_SECRET; AZURE_CLIENT_CERTIFICATE_PATH (PEM or PFX, with
// AZURE_CLIENT_CERTIFICATE_PASSWORD and AZURE_CLIENT_SEND_CERTIFICATE_CHAIN);
// or AZURE_FEDERATED_TOKEN_FILE (workload identity, as the AKS webhook
// sets it; with an AKS identity binding, AZURE_KUBERNETES_TOKEN_PROXY,
// AZURE_KUBERNETES_SNI_NAME and AZURE_KUBERNETES_CA_FILE or _CA_DATA send
// its token requests through the binding's proxy). getenv nil means os.Getenv; it also becomes Config.Getenv.
// Other fields can be set on the result before New.
//
// A missing or conflicting variable is entra.CodeInvalidArgument naming
// it; a certificate that cannot be read, entra.CodeInvalidCredentialMaterial.
func ConfigFromEnvironment(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	var missing []string
	for _, name := range []string{envClientID, envTenantID} {
		if env(name) == "" {
			missing = append(missing, name)
		}
	}
	var set []string
	for _, name := range []string{envClientSecret, envCertificatePath, envFederatedToken} {
		if env(name) != "" {
			set = append(set, name)
		}
	}
	switch {
	case len(missing) > 0:
		return Config{}, errs.New(entra.CodeInvalidArgument, "the environment does not name the application: %s not set", strings.Join(missing, " and "))
	case len(set) == 0:
		return Config{}, errs.New(entra.CodeInvalidArgument, "the environment holds no credential: set one of %s, %s or %s",
			envClientSecret, envCertificatePath, envFederatedToken)
	case len(set) > 1:
		return Config{}, errs.New(entra.CodeInvalidArgument, "the environment holds more than one credential (%s): set only one", strings.Join(set, ", "))
	}
	host := env(envAuthorityHost)
	if host == "" {
		host = defaultAuthorityHost
	}
	cfg := Config{
		Authority: strings.TrimRight(host, "/") + "/" + env(envTenantID),
		ClientID:  env(envClientID),
		Getenv:    getenv,
	}
	var err error
	switch set[0] {
	case envClientSecret:
		cfg.Credential, err = credential.NewSecret(getenv(envClientSecret))
	case envCertificatePath:
		sendChain, _ := strconv.ParseBool(env(envSendCertChain))
		cfg.Credential, err = credential.LoadCertificate(env(envCertificatePath), "",
			credential.CertificateOptions{Password: getenv(envCertificatePass), SendX5C: sendChain})
	case envFederatedToken:
		var proxy *clientauth.Proxy
		if u := env(envTokenProxy); u != "" {
			if proxy, err = clientauth.NewProxy(u, env(envSNIName), env(envCAFile), getenv(envCAData)); err != nil {
				return Config{}, err
			}
		}
		cfg.Credential = clientauth.NewTokenFile(env(envFederatedToken), envFederatedToken, proxy)
	}
	return cfg, err
}
