package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/httpauth"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/managedidentity"
)

// maxResponseBody bounds what "entra http" prints.
const maxResponseBody = 16 << 20

const httpAbout = `Calls URL through httpauth.Transport with the token of a confidential
client's client credentials or, with --managed-identity, of the host's
managed identity (the first --scope is the resource). Prints the body (-i
adds the status line and headers), answers a CAE challenge once, and exits
0 on 2xx, else 1 with "entra: http_status: ...".
`

type httpFlags struct {
	token           tokenFlags
	mi              miFlags
	method, data    string
	headers         listFlag
	include         bool
	managedIdentity bool
}

func setupHTTP(fs *flagSet, e env) runFunc {
	f := &httpFlags{}
	f.token.hostIdentity = &f.managedIdentity
	addTokenFlags(fs, "client-credentials", &f.token, e)
	fs.group("managed identity", func() {
		fs.BoolVar(&f.managedIdentity, "managed-identity", false, "use the host's managed identity (--client-id, --resource-id or --object-id select a user-assigned one)")
	})
	f.mi.addIdentity(fs, false)
	fs.group("request", func() {
		fs.StringVar(&f.method, "X", "", "request `METHOD` (default GET, or POST with --data)")
		fs.Var(&f.headers, "H", "request header `\"Name: value\"` (repeatable)")
		fs.StringVar(&f.data, "data", "", "request `BODY`: text, @FILE, or - for standard input")
		fs.BoolVar(&f.include, "i", false, "print the status line and the response headers before the body")
	})
	fs.check(f.checkIdentity)
	return func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("%w: give one URL", errUsage)
		}
		return runHTTP(ctx, f, args[0], e)
	}
}

// checkIdentity refuses the flags of the identity not used: the managed
// identity's without --managed-identity, the application's with it.
func (f *httpFlags) checkIdentity() error {
	if !f.managedIdentity {
		for _, mi := range []struct{ name, value string }{{"--resource-id", f.mi.resourceID}, {"--object-id", f.mi.objectID}} {
			if mi.value != "" {
				return fmt.Errorf("%s selects a managed identity: give --managed-identity too", mi.name)
			}
		}
		if f.mi.source != "auto" {
			return fmt.Errorf("--source applies to a managed identity: give --managed-identity too")
		}
		return nil
	}
	app := append(f.token.cred.given(), "")[0]
	switch {
	case f.token.app.authority != "" || f.token.app.tenant != "":
		return fmt.Errorf("--managed-identity takes no --authority or --tenant: the host's identity has its own")
	case app != "":
		return fmt.Errorf("--managed-identity takes no %s: the host's identity is the credential", app)
	case f.token.cred.mtls || f.token.req.region != "" || len(f.token.req.capabilities) > 0:
		return fmt.Errorf("--mtls, --region and --capability apply to an application, not to --managed-identity")
	}
	return nil
}

// runHTTP calls a URL with a token: a confidential client's (client
// credentials), or with --managed-identity the host's managed identity's.
func runHTTP(ctx context.Context, f *httpFlags, url string, e env) error {
	req, err := f.request(ctx, url, e)
	if err != nil {
		return err
	}
	token, err := f.tokenFunc(ctx, e)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: &httpauth.Transport{Token: token, Base: resourceBase(e)}}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if f.include {
		printHead(e.stdout, resp)
	}
	if _, err := io.Copy(e.stdout, io.LimitReader(resp.Body, maxResponseBody)); err != nil {
		return errs.Wrap(entra.CodeTransport, err, "reading the response failed")
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &entra.Error{Code: "http_status", StatusCode: resp.StatusCode, Message: "the resource answered " + resp.Status}
	}
	return nil
}

// request builds the request; its body can be replayed (a CAE challenge).
func (f *httpFlags) request(ctx context.Context, url string, e env) (*http.Request, error) {
	var body []byte
	switch {
	case f.data == "-":
		var err error
		if body, err = io.ReadAll(io.LimitReader(os.Stdin, maxResponseBody)); err != nil {
			return nil, fmt.Errorf("%w: cannot read the body from standard input: %v", errUsage, err)
		}
	case strings.HasPrefix(f.data, "@"):
		var err error
		if body, err = os.ReadFile(f.data[1:]); err != nil {
			return nil, fmt.Errorf("%w: cannot read the body: %v", errUsage, err)
		}
	case f.data != "":
		body = []byte(f.data)
	}
	method := f.method
	if method == "" {
		method = http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil || (req.URL.Scheme != "https" && req.URL.Scheme != "http") {
		return nil, fmt.Errorf("%w: %q is not an http(s) URL", errUsage, url)
	}
	if body == nil {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	}
	for _, h := range f.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("%w: -H %q is not \"Name: value\"", errUsage, h)
		}
		req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return req, nil
}

// tokenFunc is the token source the flags describe.
func (f *httpFlags) tokenFunc(ctx context.Context, e env) (httpauth.TokenFunc, error) {
	scopes := f.token.req.scopes
	if len(scopes) == 0 {
		scopes = []string{defaultScope}
	}
	store, err := f.token.cache.open(ctx, e)
	if err != nil {
		return nil, err
	}
	if f.managedIdentity {
		mf := f.mi
		mf.clientID, mf.resource, mf.clientClaims = f.token.app.clientID, scopes[0], f.token.req.clientClaims
		cfg, err := mf.config(e)
		if err != nil {
			return nil, err
		}
		cfg.Logger, cfg.Observer, cfg.Cache = e.logger(), e.observer, store
		withPoP(&cfg, e)
		mi, err := managedidentity.New(cfg)
		if err != nil {
			return nil, err
		}
		return httpauth.ForManagedIdentity(mi, managedidentity.TokenRequest{Resource: scopes[0], Claims: f.token.req.claims,
			ClientClaims: f.token.req.clientClaims, ForceRefresh: f.token.req.forceRefresh, MTLSPoP: f.token.req.mtlsPoP}), nil
	}
	cfg, _, tenant, err := f.token.clientConfig(e)
	if err != nil {
		return nil, err
	}
	cfg.Region, cfg.Capabilities, cfg.Logger, cfg.Observer, cfg.HTTPClient = f.token.req.region, f.token.req.capabilities, e.logger(), e.observer, e.httpClient
	cfg.SendCertificateOverMTLS, cfg.Cache = f.token.cred.mtls, store
	cfg.EnableClientClaims = f.token.req.clientClaims != ""
	client, err := confidential.New(cfg)
	if err != nil {
		return nil, err
	}
	return httpauth.ForClient(client, f.token.req.tokenRequest(tenant)), nil
}

// printHead prints the status line and the headers, sorted.
func printHead(w io.Writer, resp *http.Response) {
	fmt.Fprintf(w, "%s %s\n", resp.Proto, resp.Status)
	names := make([]string, 0, len(resp.Header))
	for name := range resp.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range resp.Header[name] {
			fmt.Fprintf(w, "%s: %s\n", name, v)
		}
	}
	fmt.Fprintln(w)
}
