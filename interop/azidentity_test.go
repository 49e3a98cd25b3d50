package interop

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// azClientOptions point azidentity at the emulator: its authority host
// and a transport trusting its CA.
func azClientOptions(t *testing.T, p *emulatorProcess) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: p.Info.TokenService + "/"},
		Transport: p.httpClient(t),
	}
}

func azToken(t *testing.T, cred azcore.TokenCredential, scope string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// TestAzidentityAgainstEmulator runs azidentity 1.15 (on MSAL Go 1.10.1),
// unmodified, through its confidential-client credentials against
// `entra emulator`, and checks the tokens' claims.
func TestAzidentityAgainstEmulator(t *testing.T) {
	t.Parallel()
	p := startEmulatorProcess(t)
	app := func(aud string) map[string]string {
		return map[string]string{"aud": aud, "appid": p.ClientID, "tid": interopTenant}
	}
	block, _ := pem.Decode([]byte(p.KeyPEM))
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(p.CertDER)

	t.Run("client credentials with a secret", func(t *testing.T) {
		cred, err := azidentity.NewClientSecretCredential(interopTenant, p.ClientID, p.Secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: azClientOptions(t, p), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		wantClaims(t, "secret", azToken(t, cred, "https://graph.microsoft.com/.default"), app("https://graph.microsoft.com"))
	})
	t.Run("tenant given by domain", func(t *testing.T) {
		cred, err := azidentity.NewClientSecretCredential("contoso.onmicrosoft.com", p.ClientID, p.Secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: azClientOptions(t, p), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		wantClaims(t, "domain", azToken(t, cred, "https://graph.microsoft.com/.default"), app("https://graph.microsoft.com"))
	})
	for _, x5c := range []bool{false, true} {
		name := "client credentials with a certificate, two resources"
		if x5c {
			name = "client credentials with a certificate and x5c"
		}
		t.Run(name, func(t *testing.T) {
			cred, err := azidentity.NewClientCertificateCredential(interopTenant, p.ClientID, []*x509.Certificate{cert}, key,
				&azidentity.ClientCertificateCredentialOptions{ClientOptions: azClientOptions(t, p), DisableInstanceDiscovery: true, SendCertificateChain: x5c})
			if err != nil {
				t.Fatal(err)
			}
			wantClaims(t, "first resource", azToken(t, cred, "https://graph.microsoft.com/.default"), app("https://graph.microsoft.com"))
			wantClaims(t, "second resource", azToken(t, cred, "https://vault.azure.net/.default"), app("https://vault.azure.net"))
		})
	}
	t.Run("on behalf of", func(t *testing.T) {
		cred, err := azidentity.NewOnBehalfOfCredentialWithSecret(interopTenant, p.ClientID, p.userToken(t), p.Secret,
			&azidentity.OnBehalfOfCredentialOptions{ClientOptions: azClientOptions(t, p), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		wantClaims(t, "obo", azToken(t, cred, "https://graph.microsoft.com/User.Read"), map[string]string{
			"aud": "https://graph.microsoft.com", "appid": p.ClientID, "preferred_username": interopUser})
	})
}

// imdsRedirect sends IMDS's fixed address to the emulator's IMDS: MSAL Go
// 1.10.1 ignores AZURE_POD_IDENTITY_AUTHORITY_HOST.
type imdsRedirect struct {
	to   *url.URL
	next http.RoundTripper
}

func (r imdsRedirect) Do(req *http.Request) (*http.Response, error) {
	if req.URL.Host == "169.254.169.254" {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = r.to.Scheme, r.to.Host, r.to.Host
	}
	return r.next.RoundTrip(req)
}

// TestAzidentityManagedIdentity: ManagedIdentityCredential, unmodified,
// with the environment `entra emulator` printed for each source. Not
// parallel: MSAL Go reads the process environment.
func TestAzidentityManagedIdentity(t *testing.T) {
	p := startEmulatorProcess(t)
	for _, source := range []string{"imds", "app_service", "cloud_shell", "machine_learning", "service_fabric"} {
		t.Run(source, func(t *testing.T) {
			for _, name := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "DEFAULT_IDENTITY_CLIENT_ID", "AZURE_POD_IDENTITY_AUTHORITY_HOST"} {
				t.Setenv(name, "")
			}
			env := p.Info.ManagedIdentity[source]
			for k, v := range env {
				t.Setenv(k, v)
			}
			imds, _ := url.Parse(p.Info.ManagedIdentity["imds"]["AZURE_POD_IDENTITY_AUTHORITY_HOST"])
			var transport policy.Transporter = imdsRedirect{to: imds, next: http.DefaultTransport}
			if source == "service_fabric" {
				// azidentity checks the endpoint's certificate against
				// IDENTITY_SERVER_THUMBPRINT in a client of its own making.
				transport = &http.Client{}
			}
			cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
				ClientOptions: azcore.ClientOptions{Transport: transport},
			})
			if err != nil {
				t.Fatal(err)
			}
			// A resource per source and per emulator: MSAL Go's managed
			// identity cache is the process's, and must not answer from
			// another source or an earlier run (go test -count).
			resource := "api://interop-" + source + "-" + p.Info.SystemClientID
			wantClaims(t, source, azToken(t, cred, resource+"/.default"), map[string]string{
				"aud": resource, "appid": p.Info.SystemClientID, "tid": p.Info.TenantID})
		})
	}
}
