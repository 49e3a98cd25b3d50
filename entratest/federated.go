package entratest

import (
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/entra-go/entra/internal/jws"
)

// FederatedCredential is a federated identity credential of a client: the
// client accepts as its client assertion a token that Issuer signed for
// Subject, with Audience among its audiences. The three are compared
// exactly, case included, as the real service compares them.
//
// The token endpoint trusts two kinds of issuer: those made by
// Emulator.NewIssuer, and the emulator's managed identities, whose tokens
// for a token-exchange audience (api://AzureADTokenExchange and its
// sovereign clouds' counterparts) have the issuer
// https://login.microsoftonline.com/{tenant}/v2.0, {tenant} being the
// emulator's (DefaultUser().TenantID), and the identity's object id as
// subject (Emulator.ManagedIdentityObjectID).
type FederatedCredential struct {
	Issuer, Subject, Audience string
}

// exchangeAudience is the audience of a managed identity token asked for
// resource, if resource is a token-exchange audience: the one of a cloud,
// with or without /.default.
func exchangeAudience(resource string) (string, bool) {
	aud := strings.TrimSuffix(resource, "/.default")
	switch aud {
	case "api://AzureADTokenExchange", "api://AzureADTokenExchangeUSGov", "api://AzureADTokenExchangeChina",
		"api://AzureADTokenExchangeFrance", "api://AzureADTokenExchangeGermany":
		return aud, true
	}
	return "", false
}

// miIssuer is the issuer of the managed identity tokens that serve as
// federated credentials: Entra's v2.0 issuer of the identities' tenant.
func (e *Emulator) miIssuer() string {
	return "https://login.microsoftonline.com/" + e.tenant + "/v2.0"
}

// isFederated reports a federated assertion: a jwt-bearer assertion that
// another issuer than the client signed. clientID is the client_id the
// request names ("" if none: the assertion's issuer is then the client).
func isFederated(r *http.Request, t *jws.Token, clientID string) bool {
	if r.PostForm.Get("client_assertion_type") != assertionTypeJWTBearer || clientID == "" {
		return false
	}
	var c struct{ Iss string }
	json.Unmarshal(t.Payload, &c)
	return c.Iss != clientID
}

// federatedClaims are the claims of a federated assertion that the token
// endpoint checks.
type federatedClaims struct {
	Iss, Sub string
	Aud      audiences
	Nbf, Exp int64
}

// audiences is a JWT's aud: one string (Entra's tokens) or a list of them
// (Kubernetes service-account tokens).
type audiences []string

func (a *audiences) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audiences{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// verifyFederated checks a federated assertion as the real service does:
// a registration matching its audience, issuer and subject, the issuer's
// signature, then its time range. Unlike a client's own assertions, it
// may be used again (a workload's token file serves for the token's whole
// life), so its jti is not spent.
func (e *Emulator) verifyFederated(t *jws.Token, client Client) *refusal {
	var c federatedClaims
	if json.Unmarshal(t.Payload, &c) != nil {
		return refuse(401, "invalid_client", 700027, "Client assertion failed validation: the claims are malformed.")
	}
	if refused := client.matchFederated(c); refused != nil {
		return refused
	}
	if refused := e.verifyIssuerSignature(t, c.Iss); refused != nil {
		return refused
	}
	return e.checkTimeRange(c)
}

// matchFederated refuses an assertion that no federated credential of the
// client matches. An audience that none names is an error of its own, the
// one a client of the wrong cloud meets.
func (c Client) matchFederated(a federatedClaims) *refusal {
	audienceKnown := false
	for _, fc := range c.FederatedCredentials {
		if slices.Contains(a.Aud, fc.Audience) {
			audienceKnown = true
			if fc.Issuer == a.Iss && fc.Subject == a.Sub {
				return nil
			}
		}
	}
	aud := strings.Join(a.Aud, ", ")
	if !audienceKnown && len(c.FederatedCredentials) > 0 {
		return refuse(401, "invalid_client", 7002206, fmt.Sprintf(
			"The audience '%s' of the client assertion does not match the audience of any federated identity credential of the application.", aud))
	}
	return refuse(401, "invalid_client", 70021, fmt.Sprintf(
		"No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.", a.Iss, a.Sub, aud))
}

// verifyIssuerSignature checks that the assertion's issuer signed it with
// the key its JWKS publishes under the assertion's kid.
func (e *Emulator) verifyIssuerSignature(t *jws.Token, issuer string) *refusal {
	kid, key, ok := e.issuerKey(issuer)
	switch {
	case !ok:
		// The real service fetches the issuer's discovery document; the
		// emulator knows the documents it serves and no other.
		return refuse(400, "invalid_request", 50166, "Request to External OIDC endpoint failed.")
	case t.HeaderString("kid") != kid:
		return refuse(401, "invalid_client", 7000272, fmt.Sprintf(
			"The certificate with identifier '%s' used to sign the federated credential could not be found in the metadata of identity provider %s.", t.HeaderString("kid"), issuer))
	case t.Verify(key, "RS256", "ES256") != nil:
		return refuse(401, "invalid_client", 700027, "Client assertion failed signature validation.")
	}
	return nil
}

// issuerKey is the signing key of an issuer of federated credentials the
// emulator serves: its managed identities' or one made by NewIssuer.
func (e *Emulator) issuerKey(issuer string) (kid string, key crypto.PublicKey, ok bool) {
	if issuer == e.miIssuer() {
		return e.keyID, &e.signer.PublicKey, true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	is, ok := e.issuers[issuer]
	if !ok {
		return "", nil, false
	}
	return is.kid, &is.key.PublicKey, true
}

// checkTimeRange refuses an assertion that expired or is not yet valid.
// The real service allows some clock skew (up to 5 minutes); the emulator
// allows none, so that a test knows to the second when a token stops
// being accepted.
func (e *Emulator) checkTimeRange(c federatedClaims) *refusal {
	now := e.opts.Now()
	nbf, exp := time.Unix(c.Nbf, 0), time.Unix(c.Exp, 0)
	if now.Before(exp) && !now.Before(nbf) {
		return nil
	}
	const layout = "2006-01-02T15:04:05.0000000Z"
	return refuse(401, "invalid_client", 700024, fmt.Sprintf(
		"Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
		now.UTC().Format(layout), nbf.UTC().Format(layout), exp.UTC().Format(layout)))
}
