// Package interop tests that this module's token cache and MSAL Go's read
// each other's data: a cache written by one is used by the other without
// a request to the token service. It is a module of its own so that the
// library never depends on MSAL Go.
package interop
