package managedidentity

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/claims"
	"github.com/entra-go/entra/internal/errs"
)

// nspClaim is the one claim IMDS accepts from clients: the network
// security perimeter id.
const nspClaim = "xms_az_nwperimid"

// clientClaims validates a request's client claims and returns their canonical JSON; "" when there are none. Errors never
// contain the claims' values.
func (c *Client) clientClaims(raw string) (string, error) {
	if strings.Trim(raw, " \t\r\n") == "" {
		return "", nil // blank is a no-op, even without the opt-in
	}
	if !c.enableClientClaims {
		return "", errs.New(entra.CodeExperimentalFeature,
			"client claims are experimental: set Config.EnableClientClaims to use them")
	}
	canonical, err := claims.Canonicalize(raw)
	if err != nil {
		return "", err
	}
	if c.ep.source != SourceIMDS {
		return "", errs.New(entra.CodeInvalidArgument,
			"client claims need the IMDS source, but this client uses the %s source", c.ep.source)
	}
	if key, ok := foreignKey(canonical); ok {
		return "", errs.New(entra.CodeInvalidArgument,
			"IMDS accepts only the %s client claim, not %s", nspClaim, quoteKey(key))
	}
	return canonical, nil
}

// foreignKey returns the first top-level key of a canonical claims object
// that IMDS does not accept.
func foreignKey(canonical string) (string, bool) {
	dec := json.NewDecoder(strings.NewReader(canonical))
	if _, err := dec.Token(); err != nil { // '{'
		return "", true
	}
	for dec.More() {
		tok, err := dec.Token()
		key, isKey := tok.(string)
		if err != nil || !isKey {
			return "", true
		}
		if key != nspClaim {
			return key, true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", true
		}
	}
	return "", false
}

// quoteKey quotes a claim name for a message, shortened: names are not
// secret, but they come from the caller and may be arbitrarily long.
func quoteKey(k string) string {
	const limit = 64
	if len(k) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(k[cut]) {
			cut--
		}
		return strconv.Quote(k[:cut]) + "…"
	}
	return strconv.Quote(k)
}
