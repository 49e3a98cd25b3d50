// Package entra holds the types shared by every part of the library: the
// [Token] a flow returns, the [Error] every failure is reported as, and the
// [TokenSource] interface.
//
// The flows themselves live in packages by responsibility:
//
//   - confidential: a confidential client (client credentials, on-behalf-of).
//   - credential: client secrets, certificates and assertion callbacks.
//   - authority: authority parsing, cloud aliases, discovery and regions.
//   - cache: the in-memory token cache.
//   - claims: canonical claims JSON and claims merging.
//   - entratest: an emulator of the Entra token service for tests and demos.
package entra
