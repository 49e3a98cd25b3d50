package tokencache

// Export and Import move the whole cache in and out of the cross-MSAL
// schema, for the tests of the schema.

// Export serializes the whole cache in the cross-MSAL schema, with every
// entry and section it was loaded with, unknown ones included.
func (c *Cache) Export() ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.marshal(), nil
}

// Import replaces the cache's contents with a document in the cross-MSAL
// schema (written by Export, MSAL.NET, MSAL Python, MSAL Java or MSAL Go).
// Invalid data is refused with entra.CodeInvalidCacheData and the cache
// is left as it was. Import does not write to storage.
func (c *Cache) Import(data []byte) error {
	doc, err := parseDocument(data)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reset(doc)
	return nil
}
