package managedidentity

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/csr"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/flight"
	"github.com/entra-go/entra/internal/transport"
)

// IMDSv2 endpoints, relative to the IMDS base.
const (
	platformMetadataPath = "/metadata/identity/getplatformmetadata"
	issueCredentialPath  = "/metadata/identity/issuecredential"
	credAPIVersion       = "2.0"
	// certificateMargin: a certificate with less life left is not used.
	certificateMargin = 24 * time.Hour
)

// KeySource makes the key of the certificates IMDSv2 issues for
// TokenRequest.MTLSPoP: an RSA key of 2048 bits, which may live in
// hardware (a TPM, a key guard) as long as it signs RSASSA-PSS through
// crypto.Signer. A Client calls it once, at its first mint, and keeps the
// key for the certificates that follow.
type KeySource func(ctx context.Context) (crypto.Signer, error)

// AttestationRequest is what an AttestationProvider is asked to attest.
type AttestationRequest struct {
	// Key is the key the certificate will be issued for.
	Key crypto.Signer
	// Endpoint is the attestation service the host names
	// (attestationEndpoint of the platform metadata).
	Endpoint string
	// ClientID is the identity's client id.
	ClientID string
}

// AttestationProvider returns an attestation token for a key (on Azure,
// a Microsoft Azure Attestation token for a KeyGuard key), sent with the
// certificate request as attestation_token.
type AttestationProvider func(ctx context.Context, r AttestationRequest) (string, error)

// platformMetadata is the host's getplatformmetadata answer.
type platformMetadata struct {
	// cuID is the compact JSON of cuId, as the certificate request carries it.
	cuID                string
	clientID, tenantID  string
	attestationEndpoint string
}

// parsePlatformMetadata reads a 200 answer of getplatformmetadata: IMDS's
// Server header, and a body with cuId (vmId or vmssId), clientId and
// tenantId.
func parsePlatformMetadata(header http.Header, body []byte) (platformMetadata, error) {
	bad := func(what string) (platformMetadata, error) {
		return platformMetadata{}, errs.New(entra.CodeInvalidResponse, "the IMDS platform metadata %s", what)
	}
	if !strings.Contains(strings.ToUpper(header.Get("Server")), "IMDS") {
		return bad("did not come from IMDS (no IMDS Server header)")
	}
	var w struct {
		CuID                json.RawMessage `json:"cuId"`
		ClientID            string          `json:"clientId"`
		TenantID            string          `json:"tenantId"`
		AttestationEndpoint string          `json:"attestationEndpoint"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return bad("is not JSON")
	}
	var ids struct {
		VMID   string `json:"vmId"`
		VMSSID string `json:"vmssId"`
	}
	if len(w.CuID) == 0 || json.Unmarshal(w.CuID, &ids) != nil || (ids.VMID == "" && ids.VMSSID == "") {
		return bad("has no cuId with a vmId or vmssId")
	}
	if !printable(w.ClientID) || !printable(w.TenantID) {
		return bad("has no usable clientId and tenantId")
	}
	var compact bytes.Buffer
	if json.Compact(&compact, w.CuID) != nil {
		return bad("has a malformed cuId")
	}
	return platformMetadata{cuID: compact.String(), clientID: w.ClientID, tenantID: w.TenantID,
		attestationEndpoint: w.AttestationEndpoint}, nil
}

// printable accepts a non-empty id of visible ASCII, short enough for a
// certificate subject and a URL path segment.
func printable(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '/' || s[i] == '?' || s[i] == '#' {
			return false
		}
	}
	return true
}

// credential is an IMDSv2 certificate with its key and where to use it.
type credential struct {
	tls        *tls.Certificate
	leaf       *x509.Certificate
	thumbprint string // x5t#S256: unpadded base64url SHA-256 of the DER
	// tokenURL is {mtls_authentication_endpoint}/{tenant_id}/oauth2/v2.0/token.
	tokenURL string
	clientID string
}

// usable reports whether the certificate has more than the margin left.
func (c *credential) usable(now time.Time) bool {
	return c != nil && now.Add(certificateMargin).Before(c.leaf.NotAfter)
}

// parseCredential reads a 200 answer of issuecredential: every field is
// required, and the certificate must be for key and the identity.
func parseCredential(body []byte, key crypto.Signer) (*credential, error) {
	bad := func(what string) (*credential, error) {
		return nil, errs.New(entra.CodeInvalidResponse, "the IMDS credential answer %s", what)
	}
	var w struct {
		ClientID     string `json:"client_id"`
		TenantID     string `json:"tenant_id"`
		Certificate  string `json:"certificate"`
		IdentityType string `json:"identity_type"`
		Endpoint     string `json:"mtls_authentication_endpoint"`
	}
	if json.Unmarshal(body, &w) != nil {
		return bad("is not JSON")
	}
	if !printable(w.ClientID) || !printable(w.TenantID) || w.Certificate == "" || w.IdentityType == "" || w.Endpoint == "" {
		return bad("lacks client_id, tenant_id, certificate, identity_type or mtls_authentication_endpoint")
	}
	der, err := base64.StdEncoding.DecodeString(w.Certificate)
	if err != nil {
		return bad("has a certificate that is not base64")
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return bad("has a certificate that cannot be parsed")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := key.Public().(equaler); !ok || !pub.Equal(leaf.PublicKey) {
		return bad("has a certificate for another key")
	}
	if leaf.Subject.CommonName != w.ClientID {
		return bad("has a certificate for another identity")
	}
	ep, err := url.Parse(w.Endpoint)
	if err != nil || ep.Scheme != "https" || ep.Host == "" || ep.User != nil || ep.RawQuery != "" || ep.Fragment != "" {
		return bad("has an mtls_authentication_endpoint that is not an https URL")
	}
	sum := sha256.Sum256(der)
	return &credential{
		tls:        &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		leaf:       leaf,
		thumbprint: base64.RawURLEncoding.EncodeToString(sum[:]),
		tokenURL:   strings.TrimRight(ep.String(), "/") + "/" + url.PathEscape(w.TenantID) + "/oauth2/v2.0/token",
		clientID:   w.ClientID,
	}, nil
}

// imdsV2 holds an IMDS client's certificate state: its key, the current
// certificate, and the mint in flight. Safe for concurrent use.
type imdsV2 struct {
	base             *url.URL // the IMDS base URL
	idParam, idValue string   // the identity selector; "" for none
	keySource        KeySource
	attest           AttestationProvider
	transport        *transport.Client
	retry            entra.RetryPolicy
	timeout          time.Duration
	now              func() time.Time
	logger           *slog.Logger
	mints            flight.Group[*credential]
	mu               sync.Mutex
	key              crypto.Signer
	current          *credential
	capability       Capability // 0 until a probe gave a definite answer
}

func (v *imdsV2) endpoint(path string) string {
	u := *v.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	q := url.Values{"cred-api-version": {credAPIVersion}}
	if v.idParam != "" {
		q.Set(v.idParam, v.idValue)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// credential returns the certificate to use: the current one if it has
// more than a day left and is not stale, else a new one, minted once for
// all concurrent callers. stale is a certificate the mTLS host refused;
// it is dropped.
func (v *imdsV2) credential(ctx context.Context, stale *credential) (*credential, error) {
	v.mu.Lock()
	if stale != nil && v.current == stale {
		v.current = nil
	}
	cur := v.current
	v.mu.Unlock()
	if cur.usable(v.now()) {
		return cur, nil
	}
	return v.mints.Do(ctx, "mint", v.timeout, func(ctx context.Context) (*credential, error) {
		v.mu.Lock()
		cur := v.current
		v.mu.Unlock()
		if cur.usable(v.now()) && cur != stale {
			return cur, nil // minted by a flight that ended just before this one
		}
		c, err := v.mint(ctx)
		if err != nil {
			return nil, err
		}
		v.mu.Lock()
		v.current = c
		v.mu.Unlock()
		if v.logger != nil {
			v.logger.Debug("entra: IMDSv2 certificate minted", "x5t#S256", c.thumbprint,
				"not_after", c.leaf.NotAfter.UTC().Format(time.RFC3339), "replaces_refused", stale != nil)
		}
		return c, nil
	})
}

// cached is the current certificate if it may be used, without minting.
func (v *imdsV2) cached() *credential {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.current.usable(v.now()) {
		return v.current
	}
	return nil
}

// mint asks IMDS for the platform metadata and a certificate for the key.
func (v *imdsV2) mint(ctx context.Context) (*credential, error) {
	md, err := v.platformMetadata(ctx, v.metadataPolicy)
	if err != nil {
		return nil, err
	}
	key, err := v.signer(ctx)
	if err != nil {
		return nil, err
	}
	der, err := csr.Build(key, csr.Request{ClientID: md.clientID, TenantID: md.tenantID, CuID: md.cuID})
	if err != nil {
		return nil, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "cannot build the certificate request")
	}
	body := map[string]string{"csr": base64.StdEncoding.EncodeToString(der)}
	if v.attest != nil {
		tok, err := v.attest(ctx, AttestationRequest{Key: key, Endpoint: md.attestationEndpoint, ClientID: md.clientID})
		if err != nil {
			if entra.ErrorCode(err) != "" {
				return nil, err
			}
			return nil, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "the attestation provider failed")
		}
		body["attestation_token"] = tok
	}
	raw, _ := json.Marshal(body)
	resp, err := v.transport.Retry(ctx, v.retry, func(ctx context.Context) (*transport.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.endpoint(issueCredentialPath), bytes.NewReader(raw))
		if err != nil {
			return nil, errs.New(entra.CodeInvalidArgument, "cannot build the IMDS credential request")
		}
		v.transport.Identify(req, "")
		req.Header.Set("Metadata", "true")
		req.Header.Set("Content-Type", "application/json")
		return v.transport.Send(req, nil)
	})
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, serverError(SourceIMDS, resp)
	}
	return parseCredential(resp.Body, key)
}

// metadataPolicy is IMDS's, except that a 404 is an answer: the host has
// IMDS v1 only.
func (v *imdsV2) metadataPolicy(a entra.Attempt) (time.Duration, bool) {
	if a.StatusCode == http.StatusNotFound {
		return 0, false
	}
	return v.retry(a)
}

// platformMetadata asks IMDS what the host and the identity are.
func (v *imdsV2) platformMetadata(ctx context.Context, policy entra.RetryPolicy) (platformMetadata, error) {
	header := http.Header{"Metadata": {"true"}}
	resp, err := v.transport.Get(ctx, v.endpoint(platformMetadataPath), header, "", policy)
	if err != nil {
		return platformMetadata{}, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return platformMetadata{}, &entra.Error{Code: entra.CodeMTLSPoPNotSupportedInIMDSv1, StatusCode: resp.StatusCode,
			Message: "this host has IMDS v1 only: mTLS proof-of-possession tokens are not available here; ask for a Bearer token"}
	case !resp.OK():
		return platformMetadata{}, serverError(SourceIMDS, resp)
	}
	return parsePlatformMetadata(resp.Header, resp.Body)
}

// signer returns the client's key, making it on first use.
func (v *imdsV2) signer(ctx context.Context) (crypto.Signer, error) {
	v.mu.Lock()
	key := v.key
	v.mu.Unlock()
	if key != nil {
		return key, nil
	}
	var err error
	if v.keySource != nil {
		key, err = v.keySource(ctx)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return nil, errs.Wrap(entra.CodeInvalidCredentialMaterial, err, "the key source failed")
	}
	if key == nil {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial, "the key source returned no key")
	}
	if pub, ok := key.Public().(*rsa.PublicKey); !ok || pub.N.BitLen() != 2048 {
		return nil, errs.New(entra.CodeInvalidCredentialMaterial, "the IMDSv2 key must be RSA 2048")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.key == nil { // mints are single-flight; this only guards the field
		v.key = key
	}
	return v.key, nil
}
