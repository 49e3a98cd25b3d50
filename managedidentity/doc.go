// Package managedidentity gets tokens for the managed identity of the Azure
// host a program runs on: a virtual machine (IMDS), App Service or Azure
// Functions, an Azure Arc server, Cloud Shell, a Service Fabric cluster or
// Azure Machine Learning.
//
// [New] finds the host's token endpoint from the environment (or takes the
// one [Config.Source] forces) and checks that the chosen identity can be
// selected there, before any request. [Client.AcquireToken] runs the
// library's one acquisition pipeline, as package confidential does: tokens
// are served from the Client's cache (persisted when [Config.Cache] names a
// storage); on a miss, concurrent callers for the same token share one
// request, retried by the source's retry policy within the time budget.
// Tokens are refreshed in the background at the service's refresh_in, or
// at half-life when they live longer than two hours, while the cached one
// is still served.
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
//	Service Fabric    GET  $IDENTITY_ENDPOINT (https)              principalId (object id) only
//	                       api-version=2020-05-01, secret
//	Machine Learning  GET  $MSI_ENDPOINT                           clientid (client id only)
//	                       api-version=2017-09-01, secret
//
// Service Fabric binds identities to the application in its manifest. This
// package accepts the system-assigned identity (no parameter) and
// [UserAssignedObjectID] (the identity's principal id, sent as principalId
// with api-version 2020-05-01, as MSAL.NET 4.85 does: the Service Fabric
// token service ignores an object_id parameter and silently answers with
// the system-assigned identity); client and resource ids are refused by
// New. The endpoint's certificate is accepted only if its SHA-1 thumbprint
// equals IDENTITY_SERVER_THUMBPRINT, and redirects are not followed (by
// any source).
//
// Machine Learning sends clientid for every request: the user-assigned
// client id, or DEFAULT_IDENTITY_CLIENT_ID for the system-assigned identity.
//
// Azure Arc answers the first request with a Basic challenge naming a
// file; the client answers with its contents only if it is a *.key file of
// at most 4096 bytes directly inside [Config.ArcTokenDir]. Client claims
// ([TokenRequest.ClientClaims], experimental) go to IMDS only.
//
// # Retries
//
// Each source has its reference policy (see [Config.RetryPolicy]); a
// policy of the caller's replaces it. A cancelled context is never
// retried, and a pause that would outlast the time budget is not taken:
// the source's answer is returned at once, with the Retry-After it asked
// for.
//
// # Secrets
//
// The host secrets (IDENTITY_HEADER, MSI_SECRET, the Arc challenge file),
// tokens and claims never appear in errors, log records or printed values,
// even when an endpoint echoes them back.
package managedidentity
