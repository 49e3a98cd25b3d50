package tokencache

// Accounts returns the accounts cached for environment.
func (c *Cache) Accounts(environment string) []Account {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []Account
	for k, realms := range c.accounts {
		if k.environment == environment {
			for _, a := range realms {
				out = append(out, a.value)
			}
		}
	}
	return out
}

// AccountsOf returns one user's accounts (one per tenant) in environment.
// It costs the same however many users are cached.
func (c *Cache) AccountsOf(environment, homeAccountID string) []Account {
	c.mu.RLock()
	defer c.mu.RUnlock()
	realms := c.accounts[homeKey{homeAccountID, environment}]
	out := make([]Account, 0, len(realms))
	for _, a := range realms {
		out = append(out, a.value)
	}
	return out
}

// AccountsGeneration changes whenever an account is stored or removed, so
// that what is built from accounts can be kept until then.
func (c *Cache) AccountsGeneration() uint64 { return c.accountsGen.Load() }

func (c *Cache) putAccount(a Account, docKey string) {
	c.accountsGen.Add(1)
	hk := homeKey{a.HomeAccountID, a.Environment}
	realms := c.accounts[hk]
	if realms == nil {
		realms = map[string]docEntry[Account]{}
		c.accounts[hk] = realms
	}
	if old, ok := realms[a.Realm]; ok && old.docKey != docKey {
		c.doc.remove(sectionAccount, old.docKey)
	}
	realms[a.Realm] = docEntry[Account]{a, docKey}
}

// LookupIDToken returns the ID token for k, if any.
func (c *Cache) LookupIDToken(k IDKey) (IDToken, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.ids[k]
	return t.value, ok
}

// LookupAppMetadata returns what is known of an application, if anything.
func (c *Cache) LookupAppMetadata(k AppKey) (AppMetadata, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.apps[k]
	return m.value, ok
}
