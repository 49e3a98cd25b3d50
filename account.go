package entra

// Account is a signed-in user, as the ID tokens of user flows describe
// them. It holds no secret.
type Account struct {
	// HomeAccountID identifies the user across tenants: "uid.utid" from
	// the token service's client_info (object id and home tenant id).
	HomeAccountID string
	// Environment is the authority's cache environment, e.g. login.windows.net.
	Environment string
	// Username is the user's sign-in name (preferred_username).
	Username string
	// TenantID is the user's home tenant.
	TenantID string
	// Name is the user's display name, if the ID token has one.
	Name string
	// TenantProfiles are the user's identities in each tenant the
	// application signed them in to.
	TenantProfiles []TenantProfile
}

// TenantProfile is a user's identity in one tenant.
type TenantProfile struct {
	TenantID string
	// ObjectID is the user's object id (oid) in TenantID.
	ObjectID string
	// Home reports whether TenantID is the user's home tenant.
	Home bool
}
