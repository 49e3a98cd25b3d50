package confidential

import (
	"context"
	"slices"
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/tokencache"
)

// Accounts lists the users signed in to this application whose tokens
// the cache holds (after reloading it from storage, if it has any).
func (c *Client) Accounts(ctx context.Context) ([]entra.Account, error) {
	if err := c.pipe.Cache().Reload(ctx, ""); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []entra.Account
	for _, a := range c.pipe.Cache().Accounts(c.env) {
		if seen[a.HomeAccountID] || !c.hasUserTokens(a.HomeAccountID) {
			continue
		}
		seen[a.HomeAccountID] = true
		out = append(out, *c.account(a.HomeAccountID))
	}
	slices.SortFunc(out, func(a, b entra.Account) int { return strings.Compare(a.Username, b.Username) })
	return out, nil
}

// Account finds a cached account by home account id or username
// (case-insensitive); entra.CodeInteractionRequired if there is none.
func (c *Client) Account(ctx context.Context, idOrUsername string) (entra.Account, error) {
	accounts, err := c.Accounts(ctx)
	if err != nil {
		return entra.Account{}, err
	}
	for _, a := range accounts {
		if a.HomeAccountID == idOrUsername || strings.EqualFold(a.Username, idOrUsername) {
			return a, nil
		}
	}
	return entra.Account{}, errs.New(entra.CodeInteractionRequired, "no cached account matches; sign the user in")
}

// RemoveAccount signs a user out of the cache: their account, ID, access
// and refresh tokens for this application are deleted.
func (c *Client) RemoveAccount(ctx context.Context, account entra.Account) error {
	if account.HomeAccountID == "" {
		return errs.New(entra.CodeInvalidArgument, "the account is empty")
	}
	return c.pipe.Cache().RemoveAccount(ctx, c.env, c.clientID, account.HomeAccountID)
}

// hasUserTokens reports whether this client holds a refresh token or ID
// token for the account (the cache may be shared with other applications).
func (c *Client) hasUserTokens(home string) bool {
	for _, a := range c.pipe.Cache().AccountsOf(c.env, home) {
		if _, ok := c.pipe.Cache().LookupIDToken(tokencache.IDKey{HomeAccountID: home, Environment: c.env, ClientID: c.clientID, Realm: a.Realm}); ok {
			return true
		}
	}
	_, own := c.pipe.Cache().LookupRefreshToken(tokencache.RefreshKey{Environment: c.env, ClientID: c.clientID, Partition: home})
	return own
}

// account assembles an Account from the cached per-tenant accounts.
// accountMemo is an account as built at a generation of the cache's
// accounts.
type accountMemo struct {
	generation uint64
	account    *entra.Account
}

// sharedAccount is account(home), built again only when the cache's
// accounts changed: a silent hit then allocates nothing. Tokens share it
// (entra.Token.Account is read-only).
func (c *Client) sharedAccount(home string) *entra.Account {
	gen := c.pipe.Cache().AccountsGeneration()
	if m, ok := c.accountMemos.Load(home); ok && m.(*accountMemo).generation == gen {
		return m.(*accountMemo).account
	}
	a := c.account(home)
	c.accountMemos.Store(home, &accountMemo{generation: gen, account: a})
	return a
}

func (c *Client) account(home string) *entra.Account {
	out := &entra.Account{HomeAccountID: home, Environment: c.env}
	homeTenant := ""
	if i := strings.LastIndexByte(home, '.'); i >= 0 {
		homeTenant = home[i+1:]
	}
	for _, a := range c.pipe.Cache().AccountsOf(c.env, home) {
		p := entra.TenantProfile{TenantID: a.Realm, ObjectID: a.LocalAccountID, Home: a.Realm == homeTenant}
		out.TenantProfiles = append(out.TenantProfiles, p)
		if out.Username == "" || p.Home {
			out.Username, out.Name = a.Username, a.Name
		}
	}
	out.TenantID = homeTenant
	slices.SortFunc(out.TenantProfiles, func(a, b entra.TenantProfile) int { return strings.Compare(a.TenantID, b.TenantID) })
	return out
}
