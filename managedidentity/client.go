package managedidentity

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/claims"
	"github.com/entra-go/entra/internal/budget"
	"github.com/entra-go/entra/internal/flight"
	"github.com/entra-go/entra/internal/redact"
	"github.com/entra-go/entra/internal/transport"
)

// acquireTimeout bounds one acquisition shared by concurrent callers,
// retries included, whatever their own deadlines. It covers IMDS' longest
// schedule: eight attempts with seven 10 s pauses.
const acquireTimeout = 3 * time.Minute

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
	// Retry decides which failures are retried; nil means
	// DefaultRetryPolicy(). NoRetry() turns retries off.
	Retry RetryPolicy
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
	// Cache holds the tokens; nil gives the client a private in-memory
	// cache. A cache opened on storage (cache.Open) persists them.
	Cache *cache.Cache

	// now is the clock; tests set it through export_test.go.
	now func() time.Time
}

// TokenRequest describes the token a caller wants.
type TokenRequest struct {
	// Resource is the resource the token is for, e.g.
	// "https://management.azure.com", or a scope ending in "/.default",
	// which is stripped.
	Resource string
	// Claims is a claims challenge from a resource. Managed identity
	// endpoints take no claims challenge, so it is not sent; it makes the
	// request skip the cache read (the new token is cached).
	Claims string
	// ClientClaims are client-originated claims, e.g.
	// {"xms_az_nwperimid":{"essential":true}}. Experimental: they need
	// Config.EnableClientClaims and the IMDS source. Blank means none.
	ClientClaims string
	// ForceRefresh skips the cache read.
	ForceRefresh bool
}

// String describes the request without its claims.
func (r TokenRequest) String() string {
	return fmt.Sprintf("managedidentity.TokenRequest{Resource:%q Claims:%s ClientClaims:%s ForceRefresh:%t}",
		r.Resource, presence(r.Claims), presence(r.ClientClaims), r.ForceRefresh)
}

// GoString is like String, so %#v does not print the claims either.
func (r TokenRequest) GoString() string { return r.String() }

func presence(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}

// Client gets managed identity tokens. It is safe for concurrent use;
// create one per identity and reuse it: its cache is its own.
type Client struct {
	ep    endpoint
	proto protocol
	id    ID
	// idParam=idValue selects the identity on the wire; idParam "" for none.
	idParam, idValue   string
	arcDir             string
	enableClientClaims bool
	retry              RetryPolicy
	transport          *transport.Client
	cache              *cache.Cache
	flights            flight.Group[entra.Token]
	// cacheEnv and cacheID are the cache key's source and identity parts.
	cacheEnv, cacheID string
	logger            *slog.Logger
	now               func() time.Time
	// background counts proactive refreshes in progress.
	background sync.WaitGroup
}

// New finds the source, checks that it can select cfg.ID, and returns a
// Client. It makes no request. Errors are *entra.Error with code
// entra.CodeInvalidRequest.
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
	agentInstalled := func() bool {
		fi, err := os.Stat(agentPath)
		return err == nil && fi.Mode().IsRegular()
	}
	ep, err := resolve(cfg.Source, getenv, agentInstalled)
	if err != nil {
		return nil, err
	}
	c := &Client{
		ep:                 ep,
		proto:              protocolOf(ep.source),
		id:                 cfg.ID,
		arcDir:             arcDir,
		enableClientClaims: cfg.EnableClientClaims,
		retry:              cfg.Retry,
		cache:              cfg.Cache,
		cacheEnv:           "managed_identity/" + string(ep.source),
		logger:             cfg.Logger,
		now:                cfg.now,
	}
	if c.cache == nil {
		c.cache = cache.New()
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
	c.transport = &transport.Client{HTTP: httpClient(cfg.HTTPClient, ep)}
	if c.retry == nil {
		c.retry = DefaultRetryPolicy()
	}
	if c.now == nil {
		c.now = time.Now
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
		return "", "", entra.Errorf(entra.CodeInvalidRequest, "the user-assigned %s is empty", id.kind)
	}
	switch {
	case c.ep.source == SourceMachineLearning && id.kind == kindSystem:
		if c.ep.mlClientID == "" {
			return "", "", entra.Errorf(entra.CodeInvalidRequest,
				"the Machine Learning source needs %s for the system-assigned identity", envDefaultMLIdentityID)
		}
		return "clientid", c.ep.mlClientID, nil
	case id.kind == kindSystem:
		return "", "", nil
	case c.proto.params[id.kind] == "":
		return "", "", entra.Errorf(entra.CodeInvalidRequest,
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

// String describes the client without its secrets or tokens.
func (c *Client) String() string {
	return fmt.Sprintf("managedidentity.Client{source=%s identity=%s}", string(c.ep.source), identityKind(c.id))
}

// GoString is like String, so %#v does not print the secrets either.
func (c *Client) GoString() string { return c.String() }

// Source is the source the Client uses (never SourceAuto).
func (c *Client) Source() Source { return c.ep.source }

// AcquireToken returns a token for req.Resource: from the cache when it
// holds one valid for at least five more minutes, else from the source.
//
// Errors are *entra.Error: entra.CodeInvalidRequest for unusable
// arguments; entra.CodeExperimentalFeature and entra.CodeInvalidJSONClaims
// for client claims; entra.CodeCanceled (errors.Is matches the context's
// error) when ctx ends first; entra.CodeTransport when no answer came;
// entra.CodeInvalidResponse (or CodeTokenTypeMismatch,
// CodeResponseTooLarge) for an answer that cannot be used;
// entra.CodeInvalidCredentialMaterial for an Azure Arc challenge file that
// must not be read; and the server's own code (entra.CodeServer if it
// gave none), with StatusCode, for a failure the server reported.
func (c *Client) AcquireToken(ctx context.Context, req TokenRequest) (entra.Token, error) {
	resource, err := normalizeResource(req.Resource)
	if err != nil {
		return entra.Token{}, err
	}
	cc, err := c.clientClaims(req.ClientClaims)
	if err != nil {
		return entra.Token{}, err
	}
	key := cache.Key{Environment: c.cacheEnv, ClientID: c.cacheID, Ext: claims.KeyHash(cc)}
	bypass := req.ForceRefresh || strings.Trim(req.Claims, " \t\r\n") != ""
	if !bypass {
		tok, status := c.fromCache(key, resource)
		switch status {
		case cache.Hit:
			return tok, nil
		case cache.HitRefresh:
			c.refreshInBackground(key, resource, cc)
			return tok, nil
		}
	}
	return c.shared(ctx, key, resource, cc, bypass)
}

// TokenSource returns a source of tokens for req.
func (c *Client) TokenSource(req TokenRequest) entra.TokenSource {
	return entra.TokenSourceFunc(func(ctx context.Context) (entra.Token, error) { return c.AcquireToken(ctx, req) })
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
		return "", entra.Errorf(entra.CodeInvalidRequest, "a resource is required")
	}
	for i := 0; i < len(r); i++ {
		if r[i] <= ' ' || r[i] == 0x7f {
			return "", entra.Errorf(entra.CodeInvalidRequest, "the resource contains white space or control characters")
		}
	}
	return r, nil
}

// fromCache looks the token up. HitRefresh goes to one caller at a time:
// it starts the refresh.
func (c *Client) fromCache(key cache.Key, resource string) (entra.Token, cache.Status) {
	at, status := c.cache.Lookup(key, []string{resource}, c.now())
	if status == cache.Miss {
		return entra.Token{}, cache.Miss
	}
	return entra.Token{
		AccessToken: at.Secret,
		TokenType:   entra.TokenTypeBearer,
		ExpiresOn:   at.ExpiresOn,
		RefreshOn:   at.RefreshOn,
		Scopes:      []string{resource},
		Source:      entra.SourceCache,
	}, status
}

// refreshInBackground renews a token due for refresh while callers keep
// being served the cached one.
func (c *Client) refreshInBackground(key cache.Key, resource, cc string) {
	c.background.Add(1)
	go func() {
		defer c.background.Done()
		if _, err := c.shared(context.Background(), key, resource, cc, true); err != nil && c.logger != nil {
			c.logger.Debug("entra: managed identity refresh failed; the cached token is still served",
				"source", string(c.ep.source), "error", string(entra.ErrorCode(err)))
		}
	}()
}

// shared makes concurrent callers for the same token share one
// acquisition. Callers that bypass the cache read share their own, so
// that they never receive a token read from the cache.
func (c *Client) shared(ctx context.Context, key cache.Key, resource, cc string, bypass bool) (entra.Token, error) {
	// The source and identity are the Client's own; the cache ignores the
	// case of the resource, and so does the flight.
	fk := key.Ext + "\x00" + strings.ToLower(resource) + "\x00" + strconv.FormatBool(bypass)
	return c.flights.Do(ctx, fk, acquireTimeout, func(ctx context.Context) (entra.Token, error) {
		if !bypass {
			// A flight that finished just before this one started, or
			// another process sharing the cache's storage, may have
			// filled the cache already.
			if err := c.cache.Reload(ctx, ""); err != nil && c.logger != nil {
				c.logger.Warn("entra: the cache storage could not be read; tokens are kept in memory", "error", err)
			}
			switch tok, status := c.fromCache(key, resource); status {
			case cache.Hit:
				return tok, nil
			case cache.HitRefresh:
				c.refreshInBackground(key, resource, cc)
				return tok, nil
			}
		}
		return c.fetch(ctx, key, resource, cc)
	})
}

// fetch requests a token under the retry policy and caches it.
func (c *Client) fetch(ctx context.Context, key cache.Key, resource, cc string) (entra.Token, error) {
	first := 0
	for n := 1; ; n++ {
		requested := c.now()
		resp, err := c.attempt(ctx, resource, cc)
		if err == nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			c.logAttempt(ctx, n, resp.StatusCode, nil, 0, false)
			tr, err := parseToken(resp.Body, resp.StatusCode, requested)
			if err != nil {
				return entra.Token{}, err
			}
			return c.store(ctx, key, resource, tr, requested), nil
		}
		a := Attempt{Source: c.ep.source, Number: n}
		var failure error
		if err != nil {
			if entra.ErrorCode(err) != entra.CodeTransport {
				// Cancellations, oversized answers and unusable Arc
				// challenges are final.
				c.logAttempt(ctx, n, 0, err, 0, false)
				return entra.Token{}, err
			}
			a.Err, failure = err, err
		} else {
			a.StatusCode = resp.StatusCode
			a.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
			failure = serverError(c.ep.source, resp)
		}
		if n == 1 {
			first = a.StatusCode
		}
		a.FirstStatusCode = first
		delay, retry := c.retry.Retry(a)
		if retry && !budget.Fits(ctx, delay) {
			retry = false // the pause would outlast the acquisition: answer now
		}
		c.logAttempt(ctx, n, a.StatusCode, err, delay, retry)
		if !retry {
			return entra.Token{}, failure
		}
		if err := transport.Sleep(ctx, delay); err != nil {
			return entra.Token{}, budget.Err(ctx)
		}
	}
}

// attempt makes one request; for Azure Arc, that is the challenge round
// trip and the authorized request.
func (c *Client) attempt(ctx context.Context, resource, cc string) (*transport.Response, error) {
	resp, err := c.send(ctx, resource, cc, "")
	if err != nil || c.ep.source != SourceAzureArc || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	path, err := arcChallenge(resp.Header)
	if err != nil {
		return nil, err
	}
	secret, err := readArcSecret(path, c.arcDir)
	if err != nil {
		return nil, err
	}
	return c.send(ctx, resource, cc, "Basic "+secret)
}

// send builds the source's request and sends it once.
func (c *Client) send(ctx context.Context, resource, cc, authorization string) (*transport.Response, error) {
	u := *c.ep.url
	q := u.Query()
	if c.proto.apiVersion != "" {
		q.Set("api-version", c.proto.apiVersion)
	}
	var body io.Reader
	if c.proto.method == http.MethodPost {
		body = strings.NewReader(url.Values{"resource": {resource}}.Encode())
	} else {
		q.Set("resource", resource)
	}
	if c.idParam != "" {
		q.Set(c.idParam, c.idValue)
	}
	u.RawQuery = q.Encode()
	if cc != "" {
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += "claims=" + redact.EscapeUnreserved(cc)
	}
	req, err := http.NewRequestWithContext(ctx, c.proto.method, u.String(), body)
	if err != nil {
		return nil, entra.Errorf(entra.CodeInvalidRequest, "cannot build the %s request", c.ep.source)
	}
	c.transport.Identify(req, "")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.proto.metadata {
		req.Header.Set("Metadata", "true")
	}
	if c.proto.secretHeader != "" {
		req.Header.Set(c.proto.secretHeader, c.ep.secret)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return c.transport.Send(req)
}

// store caches a new token and returns it. A refresh_in from the server
// sets the refresh time; otherwise tokens living over two hours are
// refreshed at half-life.
func (c *Client) store(ctx context.Context, key cache.Key, resource string, tr tokenResponse, requested time.Time) entra.Token {
	lifetime := tr.expiresOn.Sub(requested)
	var refreshOn time.Time
	switch {
	case tr.refreshIn > 0 && tr.refreshIn < lifetime:
		refreshOn = requested.Add(tr.refreshIn)
	case lifetime > 2*time.Hour:
		refreshOn = requested.Add(lifetime / 2)
	}
	at := cache.AccessToken{
		Key:               key,
		Target:            resource,
		Scopes:            []string{resource},
		Secret:            tr.accessToken,
		CachedAt:          requested,
		ExpiresOn:         tr.expiresOn,
		ExtendedExpiresOn: tr.expiresOn,
		RefreshOn:         refreshOn,
	}
	if err := c.cache.Save(ctx, cache.Entries{AccessToken: &at}, requested); err != nil && c.logger != nil {
		// The token is good and cached in memory; only persisting it failed.
		c.logger.Warn("entra: the token could not be written to the cache storage", "error", err)
	}
	return entra.Token{
		AccessToken:   tr.accessToken,
		TokenType:     tr.tokenType,
		ExpiresOn:     tr.expiresOn,
		RefreshOn:     refreshOn,
		Scopes:        []string{resource},
		Source:        entra.SourceIdentityProvider,
		TokenEndpoint: c.ep.url.String(),
	}
}

func (c *Client) logAttempt(ctx context.Context, n, status int, err error, delay time.Duration, retry bool) {
	if c.logger == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("source", string(c.ep.source)),
		slog.String("host", c.ep.url.Host),
		slog.String("path", c.ep.url.Path),
		slog.Int("attempt", n),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", string(entra.ErrorCode(err))))
	} else {
		attrs = append(attrs, slog.Int("status", status))
	}
	if retry {
		attrs = append(attrs, slog.Duration("retry_in", delay))
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "entra: managed identity request", attrs...)
}
