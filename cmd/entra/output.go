package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/entra-go/entra"
)

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

func printOutput(w io.Writer, format string, out tokenOutput) error {
	if format == "text" {
		_, err := fmt.Fprintln(w, out.AccessToken)
		return err
	}
	return printJSON(w, out)
}

// printJSON prints v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// sourceName is the JSON output's source: "cache" or "identity_provider".
func sourceName(fromCache bool) string {
	if fromCache {
		return "cache"
	}
	return "identity_provider"
}
