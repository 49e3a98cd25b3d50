package managedidentity

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/internal/claims"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/mtls"
	"github.com/entra-go/entra/internal/pipeline"
	"github.com/entra-go/entra/internal/tokencache"
	"github.com/entra-go/entra/internal/transport"
)

// defaultRequestTimeout is the time budget of one acquisition, retries
// included, when Config.RequestTimeout is zero. It covers IMDS' longest
// schedule: eight attempts with seven 10 s pauses.
const defaultRequestTimeout = 3 * time.Minute

// Config configures a Client. The zero value uses the system-assigned
// identity of the detected source.
type Config struct {
	// ID is the identity to use; the zero value is the system-assigned one.
	ID ID
	// Source forces a source; SourceAuto (the zero value) detects it from
	// the environment in this order: Service Fabric (IDENTITY_ENDPOINT,
	// IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT set), App Service
	// (IDENTITY_ENDPOINT and IDENTITY_HEADER), Machine Learning
	// (MSI_ENDPOINT and MSI_SECRET), Cloud Shell (MSI_ENDPOINT), Azure Arc
	// (IDENTITY_ENDPOINT and IMDS_ENDPOINT, or the agent at ArcAgentPath),
	// else IMDS (at AZURE_POD_IDENTITY_AUTHORITY_HOST if set).
	Source Source
	// HTTPClient sends the requests; nil means a client with a 30 s timeout
	// that bypasses proxies (every endpoint is local). Service Fabric uses
	// its own client that pins the endpoint's certificate; it keeps only
	// this client's Timeout and cloned *http.Transport settings.
	HTTPClient *http.Client
	// RetryPolicy decides which failed requests are retried; nil is the
	// source's reference policy (see entra.RetryPolicy):
	//   - IMDS retries 404, 408, 410, 429, 5xx and timeouts three times,
	//     after 1 s, 2 s and 4 s; when the first answer was 410 (IMDS is
	//     being updated) up to seven times, 10 s apart.
	//   - Every other source retries 404, 408, 429, 500, 503, 504 and
	//     timeouts three times, after the Retry-After but at least 1 s.
	RetryPolicy entra.RetryPolicy
	// RequestTimeout is the time budget of one acquisition, retries
	// included; zero means 3 minutes (IMDS' longest retry schedule fits). A caller's own deadline
	// ends its wait earlier (entra.CodeCanceled); the budget running out is
	// entra.CodeTimeout.
	RequestTimeout time.Duration
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// ArcTokenDir is the only folder Azure Arc challenge files may be read
	// from; "" means /var/opt/azcmagent/tokens
	// (%ProgramData%\AzureConnectedMachineAgent\Tokens on Windows).
	ArcTokenDir string
	// ArcAgentPath is the Azure Arc agent binary whose presence means Azure
	// Arc; "" means /opt/azcmagent/bin/himds
	// (%ProgramFiles%\AzureConnectedMachineAgent\himds.exe on Windows).
	ArcAgentPath string
	// EnableClientClaims opts in to the experimental TokenRequest.ClientClaims.
	EnableClientClaims bool
	// Logger receives debug records without secrets; nil disables logging.
	Logger *slog.Logger
	// Observer, if not nil, is told of every acquisition and HTTP request
	// (see entra.Observer; module entraotel makes OpenTelemetry of it).
	Observer entra.Observer
	// KeySource makes the key of the IMDSv2 certificates that
	// TokenRequest.MTLSPoP needs; nil makes an in-memory RSA-2048 key per
	// Client (so per identity). Plug in a hardware key here.
	KeySource KeySource
	// Attestation, if set, attests the key; its token is sent with the
	// certificate request. nil sends none.
	Attestation AttestationProvider
	// MTLSHTTPClient, if set, returns the HTTP client that presents an
	// IMDSv2 certificate to the regional mTLS token host; nil clones
	// http.DefaultTransport (proxies from the environment) for each
	// certificate.
	MTLSHTTPClient func(cert *tls.Certificate) (*http.Client, error)
	// ClientCapabilities are announced (as claims access_token.xms_cc) in
	// mTLS PoP token requests, e.g. "cp1" for continuous access evaluation.
	ClientCapabilities []string
	// Cache persists the tokens (see cache.Storage and package filestore);
	// nil keeps them in this client's memory only.
	Cache cache.Storage

	// now is the clock; the package's tests set it with WithClock.
	now func() time.Time
}

// TokenRequest describes the token a caller wants.
type TokenRequest struct {
	// Resource is the resource the token is for, e.g.
	// "https://management.azure.com", or a scope ending in "/.default",
	// which is stripped.
	Resource string
	// Claims is a claims challenge from a resource. It makes the request
	// skip the cache read (the new token is cached). Managed identity
	// endpoints take no claims challenge, so it is not sent, except with
	// MTLSPoP, whose token request to the mTLS host carries it.
	Claims string
	// ClientClaims are client-originated claims, e.g.
	// {"xms_az_nwperimid":{"essential":true}} (every top-level key must be
	// xms_az_nwperimid). Experimental: they need Config.EnableClientClaims
	// and the IMDS source. They are canonicalized (keys sorted at every
	// depth), sent as the claims query parameter percent-encoded with the
	// RFC 3986 unreserved set, and the token is cached under them, apart
	// from tokens without them. Blank means none.
	ClientClaims string
	// ForceRefresh skips the cache read.
	ForceRefresh bool
	// MTLSPoP asks for an mTLS proof-of-possession token (IMDSv2): the
	// client gets a certificate for its key from IMDS and the token from
	// the regional mTLS host, bound to that certificate
	// (Token.BindingCertificate, which the request to the resource must
	// present; package httpauth does). IMDS only: other sources fail with
	// entra.CodeMTLSNotSupportedForEnvironment before any request, a host
	// with IMDS v1 only with entra.CodeMTLSPoPNotSupportedInIMDSv1. Claims
	// is sent as the claims challenge, with Config.ClientCapabilities.
	MTLSPoP bool
	// CorrelationID is sent as client-request-id; empty means none.
	CorrelationID string
	// CachePartitionKey keeps the token apart from those of every other
	// partition key, in memory and in storage.
	CachePartitionKey string
}

// Format prints the request without its claims, for every verb.
func (r TokenRequest) Format(f fmt.State, _ rune) { fmt.Fprint(f, r.describe()) }

// LogValue logs what Format prints.
func (r TokenRequest) LogValue() slog.Value { return slog.StringValue(r.describe()) }

func (r TokenRequest) describe() string {
	return fmt.Sprintf("managedidentity.TokenRequest{Resource:%q Claims:%s ClientClaims:%s ForceRefresh:%t MTLSPoP:%t}",
		r.Resource, presence(r.Claims), presence(r.ClientClaims), r.ForceRefresh, r.MTLSPoP)
}

// Client gets managed identity tokens. It is safe for concurrent use;
// create one per identity, reuse it, and Close it when done.
type Client struct {
	ep    endpoint
	proto protocol
	id    ID
	// idParam=idValue selects the identity on the wire; idParam "" for none.
	idParam, idValue   string
	arcDir             string
	enableClientClaims bool
	retry              entra.RetryPolicy
	transport          *transport.Client
	// cacheEnv and cacheID are the cache key's source and identity parts.
	cacheEnv, cacheID string
	logger            *slog.Logger
	pipe              *pipeline.Pipeline[request]
	// v2 is the IMDSv2 (mTLS PoP) state; nil for other sources.
	v2           *imdsV2
	mtlsClients  *mtls.Pool
	capabilities []string
}

// request is one acquisition, as the pipeline carries it to the fetch.
type request struct {
	key           tokencache.Key
	resource      string
	clientClaims  string // canonical; "" for none
	correlationID string
	// pop asks for an mTLS PoP token; claims is its claims challenge.
	pop    bool
	claims string
}

// New finds the source, checks that it can select cfg.ID, and returns a
// Client. It makes no request. Errors are *entra.Error with code
// entra.CodeInvalidArgument.
func New(cfg Config) (*Client, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	arcDir, agentPath := arcDefaults(runtime.GOOS, getenv)
	if cfg.ArcTokenDir != "" {
		arcDir = cfg.ArcTokenDir
	}
	if cfg.ArcAgentPath != "" {
		agentPath = cfg.ArcAgentPath
	}
	ep, err := resolve(cfg.Source, getenv, agentInstalled(agentPath))
	if err != nil {
		return nil, err
	}
	c := &Client{
		ep:                 ep,
		proto:              protocolOf(ep.source),
		id:                 cfg.ID,
		arcDir:             arcDir,
		enableClientClaims: cfg.EnableClientClaims,
		retry:              cfg.RetryPolicy,
		cacheEnv:           "managed_identity/" + string(ep.source),
		logger:             cfg.Logger,
	}
	if c.idParam, c.idValue, err = c.identityParam(); err != nil {
		return nil, err
	}
	// Tokens of different identities must never meet, in a cache shared
	// by several clients or persisted in a file.
	c.cacheID = "system_assigned"
	if c.idValue != "" {
		c.cacheID = c.idParam + "=" + c.idValue
	}
	c.transport = &transport.Client{HTTP: httpClient(cfg.HTTPClient, ep), Logger: cfg.Logger, Observer: cfg.Observer}
	if c.retry == nil {
		c.retry = sourcePolicy(ep.source)
	}
	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = defaultRequestTimeout
	}
	c.pipe = pipeline.New(pipeline.Config{Cache: tokencache.Backed(cfg.Cache), Timeout: timeout, Now: cfg.now, Logger: cfg.Logger,
		Observer: cfg.Observer, Source: string(ep.source)}, (*fetcher)(c))
	if ep.source == SourceIMDS {
		c.v2, c.capabilities = newIMDSv2(c, cfg), slices.Clone(cfg.ClientCapabilities)
	}
	if c.logger != nil {
		c.logger.Debug("entra: managed identity", "source", string(ep.source), "identity", identityKind(cfg.ID))
	}
	return c, nil
}

// identityParam checks that the source can select the identity and
// returns the query parameter that does.
func (c *Client) identityParam() (name, value string, err error) {
	id := c.id
	if id.kind != kindSystem && strings.TrimSpace(id.value) == "" {
		return "", "", errs.New(entra.CodeInvalidArgument, "the user-assigned %s is empty", id.kind)
	}
	switch {
	case c.ep.source == SourceMachineLearning && id.kind == kindSystem:
		if c.ep.mlClientID == "" {
			return "", "", errs.New(entra.CodeInvalidArgument,
				"the Machine Learning source needs %s for the system-assigned identity", envDefaultMLIdentityID)
		}
		return "clientid", c.ep.mlClientID, nil
	case id.kind == kindSystem:
		return "", "", nil
	case c.proto.params[id.kind] == "":
		return "", "", errs.New(entra.CodeInvalidArgument,
			"the %s source cannot select a user-assigned identity by %s; it supports %s",
			c.ep.source, id.kind, c.supported())
	}
	return c.proto.params[id.kind], id.value, nil
}

// supported lists the identities the source can select, for messages.
func (c *Client) supported() string {
	list := []string{"the system-assigned identity"}
	for k := kindClientID; k <= kindObjectID; k++ {
		if c.proto.params[k] != "" {
			list = append(list, "a user-assigned "+k.String())
		}
	}
	if len(list) == 1 {
		return "only the system-assigned identity"
	}
	return strings.Join(list, ", ")
}

func identityKind(id ID) string {
	if id.kind == kindSystem {
		return "system-assigned"
	}
	return "user-assigned " + id.kind.String()
}

// Format describes the client, for every verb, without its secrets.
func (c *Client) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "managedidentity.Client{source=%s identity=%s}", string(c.ep.source), identityKind(c.id))
}

// Source is the source the Client uses (never SourceAuto).
func (c *Client) Source() Source { return c.ep.source }

// AcquireToken returns a token for req.Resource: from the cache when it
// holds one valid for at least five more minutes, else from the source.
//
// Errors are *entra.Error: entra.CodeInvalidArgument for unusable
// arguments; entra.CodeExperimentalFeature and entra.CodeInvalidJSONClaims
// for client claims; entra.CodeCanceled (errors.Is matches the context's
// error) when ctx ends first and entra.CodeTimeout when the time budget
// does; entra.CodeTransport when no answer came; entra.CodeInvalidResponse
// (or CodeTokenTypeMismatch, CodeInvalidResponse) for an answer that
// cannot be used; entra.CodeRedirectRefused for a redirect;
// entra.CodeInvalidCredentialMaterial for an Azure Arc challenge file that
// must not be read; and the server's own code (entra.CodeServerFailure if
// it gave none), with StatusCode, for a failure the server reported. With
// MTLSPoP also entra.CodeMTLSNotSupportedForEnvironment (not IMDS),
// entra.CodeMTLSPoPNotSupportedInIMDSv1 (IMDS v1 only), and
// entra.CodeInvalidCredentialMaterial for an unusable key or a failed
// attestation.
func (c *Client) AcquireToken(ctx context.Context, req TokenRequest) (entra.Token, error) {
	resource, err := normalizeResource(req.Resource)
	if err != nil {
		return entra.Token{}, err
	}
	var q pipeline.Query
	c.query(&req, &q)
	if req.MTLSPoP {
		return c.acquirePoP(ctx, req, resource, &q)
	}
	cc, err := c.clientClaims(req.ClientClaims)
	if err != nil {
		return entra.Token{}, err
	}
	q.Key.Ext = claims.KeyHash(cc)
	scopes := [1]string{resource} // read only: a hit allocates nothing
	var tok entra.Token
	err = c.pipe.Acquire(ctx, &q, scopes[:], func() request {
		return request{key: q.Key, resource: resource, clientClaims: cc, correlationID: req.CorrelationID}
	}, &tok)
	return tok, err
}

// query keys a request and says why it skips the cache, if it does. It
// fills q in place: the hit path copies no Query.
func (c *Client) query(req *TokenRequest, q *pipeline.Query) {
	q.Flow, q.Key.Environment, q.Key.ClientID = "managed_identity", c.cacheEnv, c.cacheID
	if req.CachePartitionKey != "" {
		q.Key.Partition = tokencache.CallerPartition(req.CachePartitionKey)
	}
	switch {
	case strings.Trim(req.Claims, " \t\r\n") != "":
		// IMDS v1 and the other sources take no claims challenge: it only
		// makes the request skip the cache. An mTLS PoP request sends it.
		q.Bypass = req.Claims
	case req.ForceRefresh:
		q.Bypass = pipeline.Force
	}
}

// Close stops the client's background refreshes and waits for them to
// end, and closes the idle connections to the mTLS token host.
// The client keeps serving callers afterwards, without refreshing tokens
// before they are due.
func (c *Client) Close() error {
	c.pipe.Close()
	if c.mtlsClients != nil {
		c.mtlsClients.CloseIdleConnections() // the mTLS token host's
	}
	return nil
}

// normalizeResource strips a "/.default" scope suffix and refuses empty
// resources and white space.
func normalizeResource(r string) (string, error) {
	r = strings.TrimSpace(r)
	const suffix = "/.default"
	if len(r) >= len(suffix) && strings.EqualFold(r[len(r)-len(suffix):], suffix) {
		r = r[:len(r)-len(suffix)]
	}
	if r == "" {
		return "", errs.New(entra.CodeInvalidArgument, "a resource is required")
	}
	for i := 0; i < len(r); i++ {
		if r[i] <= ' ' || r[i] == 0x7f {
			return "", errs.New(entra.CodeInvalidArgument, "the resource contains white space or control characters")
		}
	}
	return r, nil
}

func presence(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}
