package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
)

var demoUserScopes = []string{"https://graph.microsoft.com/User.Read"}

// signIn runs the front channel: the authorization URL, the emulator's
// sign-in and the checks of the redirect.
func (d *demo) signIn(ctx context.Context, c *confidential.Client) (confidential.AuthCode, error) {
	a, err := c.AuthCodeURL(ctx, confidential.AuthorizationRequest{RedirectURI: entratest.DefaultRedirectURI, Scopes: demoUserScopes})
	if err != nil {
		return confidential.AuthCode{}, err
	}
	back, err := d.em.SignIn(ctx, a.URL)
	if err != nil {
		return confidential.AuthCode{}, err
	}
	code, err := confidential.CodeFromRedirect(a.State, back.Query())
	if err != nil {
		return confidential.AuthCode{}, err
	}
	return confidential.AuthCode{Code: code, RedirectURI: entratest.DefaultRedirectURI, CodeVerifier: a.CodeVerifier, Nonce: a.Nonce}, nil
}

// userRows runs the user flows: auth code with PKCE, silent from the
// cache, silent through the refresh token, and an explicit refresh token.
func (d *demo) userRows(ctx context.Context) ([]demoRow, error) {
	c, err := d.client(d.cert, "")
	if err != nil {
		return nil, err
	}
	var rows []demoRow
	step := func(flow, note string, get func() (entra.Token, error)) (entra.Token, error) {
		start := time.Now()
		tok, err := get()
		if err != nil {
			return tok, fmt.Errorf("%s: %w", flow, err)
		}
		if note == "" && tok.Account != nil {
			note = "account " + tok.Account.Username
		}
		rows = append(rows, demoRow{flow: flow, auth: "certificate (PS256 assertion)", tok: tok, took: time.Since(start), note: note})
		return tok, nil
	}
	code, err := d.signIn(ctx, c)
	if err != nil {
		return nil, err
	}
	signedIn, err := step("auth code + PKCE", "", func() (entra.Token, error) {
		return c.AcquireTokenByAuthCode(ctx, code, confidential.TokenRequest{Scopes: demoUserScopes})
	})
	if err != nil {
		return nil, err
	}
	if _, err := step("silent", "access token from the cache", func() (entra.Token, error) {
		return c.AcquireTokenSilent(ctx, signedIn.Account, confidential.TokenRequest{Scopes: demoUserScopes})
	}); err != nil {
		return nil, err
	}
	if _, err := step("silent, another scope", "cached refresh token redeemed", func() (entra.Token, error) {
		return c.AcquireTokenSilent(ctx, signedIn.Account, confidential.TokenRequest{Scopes: []string{"https://api.contoso.test/read"}})
	}); err != nil {
		return nil, err
	}
	other, err := d.client(d.secret, "")
	if err != nil {
		return nil, err
	}
	code, err = d.signIn(ctx, other)
	if err != nil {
		return nil, err
	}
	held, err := other.AcquireTokenByAuthCode(ctx, code, confidential.TokenRequest{Scopes: demoUserScopes})
	if err != nil {
		return nil, err
	}
	if _, err := step("refresh token (held by the caller)", "", func() (entra.Token, error) {
		return c.AcquireTokenByRefreshToken(ctx, held.RefreshToken, confidential.TokenRequest{Scopes: demoUserScopes})
	}); err != nil {
		return nil, err
	}
	return rows, nil
}

// matrixRow is one cell pair of the mTLS matrix: a grant with a client
// authentication, its first request and whether a repeat hit the cache.
type matrixRow struct {
	grant, auth, host, tokenType, repeat string
	tlsCert, assertion                   bool
}

// mtlsMatrix runs every grant with every client authentication and reads
// off the emulator what went over the wire.
func (d *demo) mtlsMatrix(ctx context.Context) ([]matrixRow, error) {
	type authCase struct {
		name string
		cred credential.Credential
		mtls bool
		pop  bool
	}
	auths := []authCase{
		{name: "secret", cred: d.secret},
		{name: "certificate", cred: d.cert},
		{name: "certificate over mTLS", cred: d.cert, mtls: true},
		{name: "mTLS PoP", cred: d.cert, pop: true},
	}
	user := d.em.IssueUserToken(entratest.User{Audience: d.clientID, Subject: "alice", TenantID: "contoso.onmicrosoft.com"})
	var rows []matrixRow
	for _, grant := range []string{"client credentials", "on-behalf-of", "auth code", "refresh token"} {
		for _, a := range auths {
			if a.pop && grant != "client credentials" {
				continue // PoP is a client-credentials request option
			}
			c, err := confidential.New(confidential.Config{Authority: demoAuthority, ClientID: d.clientID, Credential: a.cred,
				HTTPClient: d.em.HTTPClient(), SendCertificateOverMTLS: a.mtls})
			if err != nil {
				return nil, err
			}
			req := confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}, MTLSPoP: a.pop}
			var first, repeat func() (entra.Token, error)
			switch grant {
			case "client credentials":
				first = func() (entra.Token, error) { return c.AcquireTokenForClient(ctx, req) }
				repeat = first
			case "on-behalf-of":
				req.Scopes = []string{"https://api.contoso.test/read"}
				first = func() (entra.Token, error) { return c.AcquireTokenOnBehalfOf(ctx, user, req) }
				repeat = first
			default:
				req.Scopes = demoUserScopes
				code, err := d.signIn(ctx, c)
				if err != nil {
					return nil, err
				}
				var signedIn entra.Token
				first = func() (entra.Token, error) {
					var err error
					signedIn, err = c.AcquireTokenByAuthCode(ctx, code, req)
					return signedIn, err
				}
				if grant == "refresh token" {
					if _, err := first(); err != nil {
						return nil, err
					}
					first = func() (entra.Token, error) {
						var err error
						signedIn, err = c.AcquireTokenByRefreshToken(ctx, signedIn.RefreshToken, req)
						return signedIn, err
					}
				}
				repeat = func() (entra.Token, error) { return c.AcquireTokenSilent(ctx, signedIn.Account, req) }
			}
			tok, err := first()
			if err != nil {
				return nil, fmt.Errorf("%s with %s: %w", grant, a.name, err)
			}
			reqs := d.em.Requests("token")
			last := reqs[len(reqs)-1]
			again, err := repeat()
			if err != nil {
				return nil, fmt.Errorf("%s with %s, repeated: %w", grant, a.name, err)
			}
			row := matrixRow{grant: grant, auth: a.name, tokenType: tok.TokenType, repeat: "miss",
				tlsCert: last.ClientCertificate != nil, assertion: last.Form.Has("client_assertion")}
			if u, err := url.Parse(tok.TokenEndpoint); err == nil {
				row.host = u.Host
			}
			if again.FromCache {
				row.repeat = "hit"
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

func printMatrix(w io.Writer, rows []matrixRow) error {
	fmt.Fprintf(w, "\nmTLS matrix: each grant with each client authentication (what the emulator received)\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GRANT\tCLIENT AUTH\tENDPOINT HOST\tCERT IN TLS\tASSERTION IN BODY\tTOKEN TYPE\tREPEAT")
	yes := map[bool]string{true: "yes", false: "no"}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.grant, r.auth, r.host, yes[r.tlsCert], yes[r.assertion], r.tokenType, r.repeat)
	}
	return tw.Flush()
}
