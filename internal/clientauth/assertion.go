package clientauth

import (
	"crypto"
	"errors"
	"sync"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/jws"
	"github.com/entra-go/entra/internal/uuid"
)

// assertionLifetime is exp - nbf. Entra ID accepts at most 10 minutes.
const assertionLifetime = 10 * time.Minute

// assertionClaims are the claims of a client assertion.
type assertionClaims struct {
	Aud string `json:"aud"`
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Jti string `json:"jti"`
	Nbf int64  `json:"nbf"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

// assertion builds and signs a compact JWS for req, valid from now.
func (c *Certificate) assertion(req Request, now time.Time) (string, error) {
	if isBlank(req.ClientID) {
		return "", errs.New(entra.CodeInvalidArgument, "a client assertion needs a client id")
	}
	if isBlank(req.TokenEndpoint) {
		return "", errs.New(entra.CodeInvalidArgument, "a client assertion needs a token endpoint")
	}

	header := map[string]any{"typ": "JWT"}
	switch req.Dialect {
	case DialectAAD, DialectOIDC:
		header["x5t#S256"] = c.x5tS256
	case DialectADFS:
		header["x5t"] = c.x5tSHA1
	default:
		return "", errs.New(entra.CodeInvalidArgument, "unknown assertion dialect %d", req.Dialect)
	}
	alg := c.ecAlg
	if c.rsaPub != nil {
		alg = "RS256"
		if req.Dialect == DialectAAD {
			alg = "PS256" // JWA fixes PSS's salt length to the hash length; jws.Sign does so
		}
	}
	if c.sendX5C || req.IncludeX5C {
		header["x5c"] = c.x5c
	}

	jti := uuid.New()
	nbf := now.Unix()
	claims := assertionClaims{
		Aud: req.TokenEndpoint,
		Iss: req.ClientID,
		Sub: req.ClientID,
		Jti: jti,
		Nbf: nbf,
		Iat: nbf,
		Exp: nbf + int64(assertionLifetime/time.Second),
	}

	jwt, err := jws.Sign(c.key, alg, header, claims)
	if err == nil {
		err = c.checked.check(jwt, c.chain[0].PublicKey, alg)
	}
	switch {
	case errors.Is(err, jws.ErrInvalidSignature):
		return "", errs.New(entra.CodeInvalidCredentialMaterial, "the private key produced an invalid signature")
	case err != nil:
		// The cause comes from the signer (possibly remote); it never holds the key.
		return "", errs.Wrap(entra.CodeInvalidCredentialMaterial, errors.Unwrap(err), "signing the client assertion failed")
	}
	return jwt, nil
}

// signerCheck verifies the first signature a Certificate's signer makes
// with each algorithm against the leaf's public key: a faulty external
// signer (an HSM, a key vault; one that ignores the PSS option) is then
// reported as invalid credential material, not as an opaque refusal by
// the token service. Later signatures are not verified, which would cost
// 40-80 µs each; a signer that breaks after its first good signature is
// caught by the token service.
type signerCheck struct {
	verified sync.Map // algorithm → struct{}
}

func (s *signerCheck) check(jwt string, pub crypto.PublicKey, alg string) error {
	if _, ok := s.verified.Load(alg); ok {
		return nil
	}
	if err := jws.CheckSignature(jwt, pub, alg); err != nil {
		return err
	}
	s.verified.Store(alg, struct{}{})
	return nil
}
