package managedidentity

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/internal/pipeline"
	"github.com/entra-go/entra/internal/redact"
	"github.com/entra-go/entra/internal/tokencache"
	"github.com/entra-go/entra/internal/transport"
)

// fetcher is the pipeline's view of a Client.
type fetcher Client

// Fetch asks the source for a token under the retry policy.
func (f *fetcher) Fetch(ctx context.Context, r request, requested time.Time) (pipeline.Answer, error) {
	c := (*Client)(f)
	if r.pop {
		return c.fetchPoP(ctx, r, requested)
	}
	resp, err := c.transport.Retry(ctx, c.retry, func(ctx context.Context) (*transport.Response, error) {
		return c.attempt(ctx, r)
	})
	if err != nil {
		return pipeline.Answer{}, err
	}
	if !resp.OK() {
		return pipeline.Answer{}, serverError(c.ep.source, resp)
	}
	tr, err := parseToken(resp.Body, resp.StatusCode, requested)
	if err != nil {
		return pipeline.Answer{}, err
	}
	scopes := []string{r.resource}
	at := &tokencache.AccessToken{
		Key:       r.key,
		Target:    r.resource,
		Scopes:    scopes,
		Secret:    tr.accessToken,
		ExpiresOn: tr.expiresOn, ExtendedExpiresOn: tr.expiresOn,
	}
	return pipeline.Answer{
		Token: entra.Token{AccessToken: tr.accessToken, TokenType: tr.tokenType, ExpiresOn: tr.expiresOn,
			Scopes: scopes, TokenEndpoint: c.ep.url.String()},
		RefreshIn: tr.refreshIn,
		Entries:   tokencache.Entries{AccessToken: at},
	}, nil
}

// attempt makes one request; for Azure Arc, that is the challenge round
// trip and the authorized request.
func (c *Client) attempt(ctx context.Context, r request) (*transport.Response, error) {
	resp, err := c.send(ctx, r, "")
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
	return c.send(ctx, r, "Basic "+secret)
}

// send builds the source's request and sends it once.
func (c *Client) send(ctx context.Context, r request, authorization string) (*transport.Response, error) {
	resource, cc := r.resource, r.clientClaims
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
		return nil, errs.New(entra.CodeInvalidArgument, "cannot build the %s request", c.ep.source)
	}
	c.transport.Identify(req, r.correlationID)
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
	return c.transport.Send(req, nil)
}
