// Package entra gets tokens from Microsoft Entra ID for Go services. This
// package holds what every part shares: the [Token] a client returns, the
// [Account] of a signed-in user, the [Error] every failure is reported as
// (with a stable [Code]; compare them with [ErrorCode]), and the
// [RetryPolicy] both clients take.
//
// The clients and what they need live in packages by responsibility:
//
//   - confidential: an application's client (client credentials,
//     on-behalf-of, auth code with PKCE, refresh token, silent), with mTLS
//     and mTLS proof-of-possession.
//   - managedidentity: the managed identity of the Azure host (IMDS, App
//     Service, Azure Arc, Cloud Shell, Service Fabric, Machine Learning).
//   - credential: client secrets, certificates and assertion callbacks.
//   - cache: the Storage interface that persists tokens; cache/filestore
//     keeps them in a file shared by processes (Redis: module redisstore).
//   - entratest: an emulator of Entra ID and of the managed identity
//     endpoints, for tests and demos.
//
// Both clients run one acquisition pipeline (internal/pipeline): cache
// read, single-flight, storage reload, fetch, store and proactive refresh,
// under one time budget. Errors, log records and printed values never show
// a secret, token, assertion or claims payload.
package entra
