// Package cache defines how tokens are persisted outside the process:
// [Storage], which a client's Config.Cache takes, and [PartitionedStorage]
// for stores that keep each user's tokens apart.
//
// A client keeps its tokens in memory, in a hash map whose hits cost the
// same with one tenant or 100,000, and writes every change through its
// Storage in the cross-MSAL cache schema, the JSON document every MSAL
// reads and writes (entries other libraries wrote, fields and sections
// this library does not know included, are kept). On a miss it reloads
// what the storage holds, so processes sharing a storage share tokens.
// Package filestore is a Storage in a file; module
// github.com/entra-go/entra/redisstore one in Redis.
package cache
