// Package azentra lets Azure SDK for Go clients authenticate with entra:
// it adapts a confidential or managed identity client to
// azcore.TokenCredential. It is a module of its own so that the entra core
// never imports the Azure SDK.
//
// The SDK's bearer policy asks for a token before each request and gets
// it from the client's cache (a hit allocates nothing in the client), so
// one Credential can serve every SDK client of a program.
package azentra

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/managedidentity"
)

// Credential is an azcore.TokenCredential over an entra client. It is
// safe for concurrent use.
type Credential struct {
	get func(ctx context.Context, opts policy.TokenRequestOptions) (entra.Token, error)
}

var _ azcore.TokenCredential = (*Credential)(nil)

// Confidential returns a credential that gets app tokens (client
// credentials) from c, passing on the SDK's tenant and claims challenge.
//
// The SDK always sets EnableCAE; a capability cannot be added per request,
// so to receive CAE tokens give the client the "cp1" capability
// (confidential.Config.Capabilities).
func Confidential(c *confidential.Client) *Credential {
	return &Credential{get: func(ctx context.Context, opts policy.TokenRequestOptions) (entra.Token, error) {
		return c.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: opts.Scopes, Tenant: opts.TenantID, Claims: opts.Claims})
	}}
}

// ManagedIdentity returns a credential over a managed identity client.
// The SDK's one scope names the resource; a claims challenge makes the
// client skip its cache. A tenant cannot be chosen for a managed identity
// and is ignored.
func ManagedIdentity(c *managedidentity.Client) *Credential {
	return &Credential{get: func(ctx context.Context, opts policy.TokenRequestOptions) (entra.Token, error) {
		if len(opts.Scopes) != 1 {
			return entra.Token{}, errs.New(entra.CodeInvalidArgument,
				"a managed identity token is for one resource; got %d scopes", len(opts.Scopes))
		}
		return c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: opts.Scopes[0], Claims: opts.Claims})
	}}
}

// GetToken returns a bearer token for opts. Errors are *entra.Error.
func (c *Credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.get(ctx, opts)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	if !strings.EqualFold(tok.TokenType, entra.TokenTypeBearer) {
		// The SDK's policy writes "Authorization: Bearer"; a PoP token sent
		// so would be refused.
		return azcore.AccessToken{}, errs.New(entra.CodeTokenTypeMismatch,
			"the Azure SDK sends bearer tokens, and the client returned a %s token", tok.TokenType)
	}
	return azcore.AccessToken{Token: tok.AccessToken, ExpiresOn: tok.ExpiresOn, RefreshOn: tok.RefreshOn}, nil
}
