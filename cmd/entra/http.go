package main

import (
	"bytes"
	"context"
	"flag"
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

type httpFlags struct {
	token           tokenFlags
	method, data    string
	headers         listFlag
	include         bool
	managedIdentity bool
	resourceID      string
	objectID        string
	source          string
}

// runHTTP calls a URL with a token: a confidential client's (client
// credentials), or with --managed-identity the host's managed identity's.
func runHTTP(ctx context.Context, args []string, e env) error {
	var f httpFlags
	fs := flag.NewFlagSet("entra http", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addTokenFlags(fs, "client-credentials", &f.token)
	fs.StringVar(&f.method, "X", "", "request method (default GET, or POST with --data)")
	fs.Var(&f.headers, "H", `request header "Name: value" (repeatable)`)
	fs.StringVar(&f.data, "data", "", "request body: @FILE, or - for standard input")
	fs.BoolVar(&f.include, "i", false, "print the status line and the response headers before the body")
	fs.BoolVar(&f.managedIdentity, "managed-identity", false, "use the host's managed identity (--client-id, --resource-id or --object-id select a user-assigned one)")
	fs.StringVar(&f.resourceID, "resource-id", "", "with --managed-identity: user-assigned identity by Azure resource id")
	fs.StringVar(&f.objectID, "object-id", "", "with --managed-identity: user-assigned identity by object id")
	fs.StringVar(&f.source, "source", "auto", "with --managed-identity: auto, imds, appservice, arc, cloudshell, servicefabric or ml")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: give one URL", errUsage)
	}
	req, err := f.request(ctx, fs.Arg(0), e)
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
	scopes := f.token.scopes
	if len(scopes) == 0 {
		scopes = []string{defaultScope}
	}
	store, err := f.token.cache.open(ctx, e)
	if err != nil {
		return nil, err
	}
	if f.managedIdentity {
		mf := miFlags{clientID: f.token.clientID, resourceID: f.resourceID, objectID: f.objectID, source: f.source,
			resource: scopes[0], output: "json"}
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
		return httpauth.ForManagedIdentity(mi, managedidentity.TokenRequest{Resource: scopes[0], MTLSPoP: f.token.mtlsPoP}), nil
	}
	cfg, _, err := f.token.clientConfig(e)
	if err != nil {
		return nil, err
	}
	cfg.Region, cfg.Capabilities, cfg.Logger, cfg.Observer, cfg.HTTPClient = f.token.region, f.token.capabilities, e.logger(), e.observer, e.httpClient
	cfg.SendCertificateOverMTLS, cfg.Cache = f.token.mtls, store
	client, err := confidential.New(cfg)
	if err != nil {
		return nil, err
	}
	return httpauth.ForClient(client, confidential.TokenRequest{Scopes: scopes, MTLSPoP: f.token.mtlsPoP}), nil
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
