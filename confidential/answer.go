package confidential

import (
	"slices"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/authority"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/oauth"
	"github.com/entra-go/entra/internal/pipeline"
	"github.com/entra-go/entra/internal/tokencache"
)

// answer turns a token response into the token to hand out and the cache
// entries to store with it.
func (c *Client) answer(g grant, auth authority.Authority, tr oauth.TokenResponse, requested time.Time) (pipeline.Answer, error) {
	scopes := slices.Clone(g.req.Scopes)
	expires := requested.Add(tr.ExpiresIn)
	at := &tokencache.AccessToken{
		Key:               g.key,
		Target:            strings.Join(scopes, " "),
		Scopes:            scopes,
		Secret:            tr.AccessToken,
		ExpiresOn:         expires,
		ExtendedExpiresOn: requested.Add(max(tr.ExtExpiresIn, tr.ExpiresIn)),
	}
	a := pipeline.Answer{
		Token: entra.Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType, ExpiresOn: expires, Scopes: scopes,
			IDToken: tr.IDToken, RefreshToken: tr.RefreshToken},
		RefreshIn: tr.RefreshIn,
		Entries:   tokencache.Entries{AccessToken: at},
	}
	switch {
	case g.user():
		entries, home, err := c.userEntries(auth, tr)
		if err != nil {
			return pipeline.Answer{}, err
		}
		at.Partition, at.HomeAccountID = home, home
		if entries.Account != nil {
			// Like every MSAL, user tokens are cached under the tenant the
			// ID token names, whatever alias the authority used for it.
			at.Tenant = entries.Account.Realm
		}
		at.Target = userScope(scopes, g.req.ReservedScopes) // other MSALs look for the reserved scopes too
		entries.AccessToken = at
		a.Entries = entries
		a.Token.Account = c.account(home)
	case g.kind == grantOBO: // the refresh token belongs to the assertion
		if tr.ClientInfo != "" {
			at.HomeAccountID, _ = oauth.ParseClientInfo(tr.ClientInfo)
		}
		if tr.RefreshToken != "" {
			a.Entries.RefreshToken = &tokencache.RefreshToken{
				RefreshKey:    tokencache.RefreshKey{Environment: c.env, ClientID: c.clientID, Partition: g.key.Partition},
				IssuedTo:      c.clientID,
				HomeAccountID: at.HomeAccountID,
				Target:        tr.Scope,
				Secret:        tr.RefreshToken,
			}
		}
	}
	return a, nil
}

// userEntries turns a user flow's response into the account entries to
// cache, and the user's home account id.
func (c *Client) userEntries(auth authority.Authority, tr oauth.TokenResponse) (tokencache.Entries, string, error) {
	var e tokencache.Entries
	var claims oauth.IDClaims
	if tr.IDToken != "" {
		var err error
		if claims, err = oauth.ParseIDToken(tr.IDToken); err != nil {
			return e, "", err
		}
	}
	home := ""
	if tr.ClientInfo != "" {
		var err error
		if home, err = oauth.ParseClientInfo(tr.ClientInfo); err != nil {
			return e, "", err
		}
	} else if claims.ObjectID != "" {
		home = claims.ObjectID + "." + claims.TenantID // AD FS and generic OIDC send no client_info
	}
	if home == "" {
		return e, "", errs.New(entra.CodeInvalidResponse, "the user flow's response identifies no user (no client_info and no ID token)")
	}
	realm := strings.ToLower(claims.TenantID)
	if realm == "" {
		realm = auth.Tenant
	}
	if tr.IDToken != "" {
		e.IDToken = &tokencache.IDToken{IDKey: tokencache.IDKey{HomeAccountID: home, Environment: c.env, ClientID: c.clientID, Realm: realm}, Secret: tr.IDToken}
		e.Account = &tokencache.Account{
			AccountKey:     tokencache.AccountKey{HomeAccountID: home, Environment: c.env, Realm: realm},
			LocalAccountID: claims.ObjectID, Username: claims.PreferredUsername, Name: claims.Name,
			AuthorityType: authorityType(auth.Kind), ClientInfo: tr.ClientInfo,
		}
	}
	if tr.RefreshToken != "" {
		rk := tokencache.RefreshKey{Environment: c.env, ClientID: c.clientID, Partition: home}
		if tr.FamilyID != "" {
			rk.ClientID, rk.FamilyID = "", tr.FamilyID
		}
		e.RefreshToken = &tokencache.RefreshToken{RefreshKey: rk, IssuedTo: c.clientID, HomeAccountID: home, Target: tr.Scope, Secret: tr.RefreshToken}
	}
	e.AppMetadata = &tokencache.AppMetadata{AppKey: tokencache.AppKey{Environment: c.env, ClientID: c.clientID}, FamilyID: tr.FamilyID}
	return e, home, nil
}

func authorityType(k authority.Kind) string {
	switch k {
	case authority.KindADFS:
		return "ADFS"
	case authority.KindOIDC:
		return "Generic"
	}
	return "MSSTS"
}
