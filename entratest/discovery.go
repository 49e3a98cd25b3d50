package entratest

import (
	"encoding/base64"
	"math/big"
	"net/http"
	"slices"
	"strings"
)

// issuerPaths are the paths a discovery document names, relative to the
// host; mtlsToken, if set, is the RFC 8705 mTLS alias of the token
// endpoint.
type issuerPaths struct {
	issuer, token, authorize, keys, mtlsToken string
}

// tenantConfiguration is the discovery document of an Entra tenant (or of
// a B2C tenant's policy).
func (e *Emulator) tenantConfiguration(w http.ResponseWriter, r *http.Request) {
	// The real service names a tenant given by domain by its id.
	base := "/" + e.authorityTenant(r)
	issuer := base + "/v2.0"
	if p := r.PathValue("policy"); p != "" {
		base += "/" + p
		// A B2C issuer names the tenant by id, with a trailing slash.
		issuer = "/" + b2cTenantID(r.PathValue("tenant")) + "/v2.0/"
	}
	e.configuration(issuerPaths{
		issuer: issuer, token: base + "/oauth2/v2.0/token",
		authorize: base + "/oauth2/v2.0/authorize", keys: base + "/discovery/v2.0/keys",
	})(w, r)
}

// configuration serves the discovery document of an issuer.
func (e *Emulator) configuration(p issuerPaths) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		base := "https://" + r.Host
		doc := map[string]any{
			"issuer":                                base + p.issuer,
			"token_endpoint":                        base + p.token,
			"authorization_endpoint":                base + p.authorize,
			"jwks_uri":                              base + p.keys,
			"response_types_supported":              []string{"code", "id_token", "code id_token"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt"},
			"code_challenge_methods_supported":      []string{"S256"},
		}
		if p.mtlsToken != "" {
			doc["mtls_endpoint_aliases"] = map[string]string{"token_endpoint": base + p.mtlsToken}
			doc["tls_client_certificate_bound_access_tokens"] = true
			doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_post", "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"}
		}
		writeJSON(w, http.StatusOK, doc)
	}
}

// instanceDiscovery answers /common/discovery/instance with the known
// clouds' aliases, and any other host as a cloud of its own.
func (e *Emulator) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("api-version") == "" {
		writeError(w, r, http.StatusBadRequest, "invalid_request", 900561, "api-version is required.")
		return
	}
	host := strings.ToLower(r.Host)
	if ep := r.URL.Query().Get("authorization_endpoint"); ep != "" {
		if _, rest, ok := strings.Cut(ep, "://"); ok {
			host, _, _ = strings.Cut(strings.ToLower(rest), "/")
		}
	}
	clouds := [][]string{ // preferred_network, preferred_cache, then the aliases
		{"login.microsoftonline.com", "login.windows.net", "login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"},
		{"login.partner.microsoftonline.cn", "login.partner.microsoftonline.cn", "login.partner.microsoftonline.cn", "login.chinacloudapi.cn"},
		{"login.microsoftonline.us", "login.microsoftonline.us", "login.microsoftonline.us", "login.usgovcloudapi.net"},
	}
	known := false
	var metadata []map[string]any
	for _, c := range clouds {
		known = known || slices.Contains(c[2:], host)
		metadata = append(metadata, map[string]any{"preferred_network": c[0], "preferred_cache": c[1], "aliases": c[2:]})
	}
	if !known {
		metadata = append(metadata, map[string]any{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": "https://" + host + "/common/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata":                  metadata,
	})
}

// keys serves the token signing key as a JWKS.
func (e *Emulator) keys(w http.ResponseWriter, r *http.Request) {
	pub := e.signer.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": e.keyID,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}
