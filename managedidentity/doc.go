// Package managedidentity gets tokens for the managed identity of the Azure
// host a program runs on: a virtual machine (IMDS), App Service or Azure
// Functions, an Azure Arc server, Cloud Shell, a Service Fabric cluster or
// Azure Machine Learning.
//
// [New] finds the host's token endpoint from the environment (or takes the
// one [Config.Source] forces) and checks that the chosen identity can be
// selected there, before any request. [Client.AcquireToken] serves tokens
// from a cache private to the Client; on a miss, concurrent callers for the
// same token share one request, which is retried by the source's retry
// policy. Tokens that live longer than two hours are refreshed in the
// background at half-life, while the cached one is still served.
//
// # Sources
//
// Each source has its own protocol (method, api-version, headers, and the
// query parameter that selects a user-assigned identity):
//
//	source            request                                      user-assigned identity by
//	IMDS              GET  .../metadata/identity/oauth2/token      client_id, msi_res_id, object_id
//	                       api-version=2018-02-01, Metadata: true
//	App Service       GET  $IDENTITY_ENDPOINT                      client_id, mi_res_id, object_id
//	                       api-version=2019-08-01, X-IDENTITY-HEADER
//	Azure Arc         GET  $IDENTITY_ENDPOINT                      (system-assigned only)
//	                       api-version=2020-06-01, Metadata: true,
//	                       then a Basic challenge (see below)
//	Cloud Shell       POST $MSI_ENDPOINT, form resource=           (system-assigned only)
//	                       Metadata: true
//	Service Fabric    GET  $IDENTITY_ENDPOINT (https)              object_id only
//	                       api-version=2019-07-01-preview, secret
//	Machine Learning  GET  $MSI_ENDPOINT                           clientid (client id only)
//	                       api-version=2017-09-01, secret
//
// Service Fabric binds identities to the application in its manifest. This
// package accepts the system-assigned identity (no parameter) and
// [UserAssignedObjectID] (the identity's principal id, sent as object_id as
// MSAL.NET does); client and resource ids are refused by New. It sends
// api-version 2019-07-01-preview, the version Service Fabric documents and
// every runtime accepts (MSAL.NET has moved to 2020-05-01). The endpoint's
// certificate is accepted only if its SHA-1 thumbprint equals
// IDENTITY_SERVER_THUMBPRINT, and redirects are not followed (by any source).
//
// Machine Learning sends clientid for every request: the user-assigned
// client id, or DEFAULT_IDENTITY_CLIENT_ID for the system-assigned identity.
//
// Azure Arc answers the first request with 401 and
// "WWW-Authenticate: Basic realm=<file>". The client reads that file and
// repeats the request with "Authorization: Basic <contents>", but only if
// the file, after resolving symbolic links, is a regular *.key file of at
// most 4096 bytes directly inside [Config.ArcTokenDir]; otherwise it fails
// with entra.CodeInvalidCredentialMaterial.
//
// # Client claims
//
// With [Config.EnableClientClaims] (experimental), a request may carry
// client-originated claims: a JSON object whose only member is
// xms_az_nwperimid (the network security perimeter). They are
// canonicalized (see package claims), sent to IMDS (only) as the claims
// query parameter percent-encoded with the RFC 3986 unreserved set, and
// the token is cached under them, apart from tokens without them.
//
// # Retries
//
// [DefaultRetryPolicy] is the reference policy; [Config.Retry] replaces it
// and [NoRetry] turns retries off. A cancelled context is never retried.
//
// # Secrets
//
// The host secrets (IDENTITY_HEADER, MSI_SECRET, the Arc challenge file),
// tokens and claims never appear in errors, log records or String output.
package managedidentity
