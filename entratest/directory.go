package entratest

import (
	"crypto/x509"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Client is a registered application.
type Client struct {
	ID string
	// Secret, if not empty, authenticates the client.
	Secret string
	// Certificates whose keys may sign the client's assertions, and that
	// authenticate it in the TLS handshake on the mTLS hosts.
	Certificates []*x509.Certificate
	// RedirectURIs are the addresses an authorization may return to.
	RedirectURIs []string
	// FamilyID, if not empty ("1"), puts the client in a family whose
	// members redeem each other's refresh tokens.
	FamilyID string
	// FederatedCredentials are the issuers' tokens the client accepts as
	// its client assertion (workload identity federation).
	FederatedCredentials []FederatedCredential
}

// DefaultClient is the client every emulator registers at start.
type DefaultClient struct {
	ID, Secret string
	// CertPEM and KeyPEM are an RSA certificate registered for the client
	// and its PKCS #8 key: RSA, because every client library signs
	// assertions with RSA.
	CertPEM, KeyPEM []byte
}

// User describes a user: one who signs in, or the user of a token made by
// IssueUserToken.
type User struct {
	Audience, Subject, ObjectID, TenantID, Username string
	Name                                            string
}

// defaultUsername is the username of DefaultUser.
const defaultUsername = "ada@contoso.example"

// DefaultRedirectURI is registered for the default client; any port of it
// is accepted (a loopback address).
const DefaultRedirectURI = "http://localhost/callback"

// registerDefaults registers the default user and client.
func (e *Emulator) registerDefaults(now time.Time) error {
	e.RegisterUser(User{Username: defaultUsername, Name: "Ada Lovelace"})
	key, err := parseRSAKey(fixtureClientKeyPEM)
	if err != nil {
		return err
	}
	cert, err := e.ca.clientCertificate(now, "entra emulator default client", key)
	if err != nil {
		return err
	}
	e.dflt = DefaultClient{
		ID: newGUID(), Secret: "emu~" + newGUID(), CertPEM: pemCertificate(cert),
		KeyPEM: []byte(strings.TrimSpace(fixtureClientKeyPEM) + "\n"),
	}
	e.RegisterClient(Client{ID: e.dflt.ID, Secret: e.dflt.Secret, Certificates: []*x509.Certificate{cert}, RedirectURIs: []string{DefaultRedirectURI}})
	return nil
}

// RegisterClient adds or replaces a client.
func (e *Emulator) RegisterClient(c Client) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c.Certificates = slices.Clone(c.Certificates)
	c.FederatedCredentials = slices.Clone(c.FederatedCredentials)
	e.clients[c.ID] = c
}

// DefaultClient is the client registered at start, with a secret and an
// RSA certificate.
func (e *Emulator) DefaultClient() DefaultClient { return e.dflt }

// RegisterUser adds or replaces a user, found by Username (case-insensitive)
// when a sign-in names it as login_hint. Empty ObjectID and Subject are
// made up; an empty TenantID is the emulator's tenant, the default user's.
func (e *Emulator) RegisterUser(u User) User {
	if u.ObjectID == "" {
		u.ObjectID = newGUID()
	}
	if u.Subject == "" {
		u.Subject = newGUID()
	}
	if u.TenantID == "" {
		u.TenantID = e.tenant
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users[strings.ToLower(u.Username)] = u
	return u
}

// DefaultUser is the user every sign-in without a login_hint signs in.
func (e *Emulator) DefaultUser() User {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.users[defaultUsername]
}

// RevokeRefreshTokens forgets every refresh token issued, as a password
// change or an admin's revocation does: redeeming one fails with invalid_grant.
func (e *Emulator) RevokeRefreshTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.refresh)
}

// TenantID is the id of the emulator's tenant.
func (e *Emulator) TenantID() string { return e.tenant }

// RegisterDomain names a tenant by a domain (contoso.onmicrosoft.com), as
// the real service maps a verified domain to its tenant: an authority
// naming the domain is answered with the tenant's id in discovery, the
// issuer and the tokens' tid. A domain not registered names the
// emulator's tenant.
func (e *Emulator) RegisterDomain(domain, tenantID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.domains[strings.ToLower(domain)] = strings.ToLower(tenantID)
}

// tenantID is the id of the tenant an authority's tenant segment names:
// an id as is, a domain mapped to its tenant's id; the aliases (common,
// organizations, consumers) and other names unchanged.
func (e *Emulator) tenantID(name string) string {
	switch {
	case isGUID(name):
		return strings.ToLower(name)
	case !strings.Contains(name, "."):
		return name
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.domains[strings.ToLower(name)]; ok {
		return id
	}
	return e.tenant
}

// authorityTenant is the tenant a token service request's path names, as
// an id where it names a domain. B2C tenants keep their domain: their ids
// are derived from it (b2cTenantID).
func (e *Emulator) authorityTenant(r *http.Request) string {
	if r.PathValue("policy") != "" {
		return tenantOf(r)
	}
	return e.tenantID(tenantOf(r))
}
