package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

// demoRow is one line of the demo table.
type demoRow struct {
	flow, auth string
	tok        entra.Token
	took       time.Duration
	note       string
}

// runDemo starts the emulator in-process and runs every implemented flow
// through the public library API, printing what each did.
func setupDemo(_ *flagSet, e env) runFunc {
	return func(ctx context.Context, _ []string) error { return runDemo(ctx, e) }
}

func runDemo(ctx context.Context, e env) error {
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		return err
	}
	defer em.Close()
	d, err := newDemo(em)
	if err != nil {
		return err
	}
	rows, err := d.run(ctx)
	if err != nil {
		return err
	}
	matrix, err := d.mtlsMatrix(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "entra demo: every flow against the embedded emulator (%s)\n\n", em.URL())
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FLOW\tENDPOINT HOST\tCLIENT AUTH\tTOKEN TYPE\tCACHE\tLATENCY\tNOTE")
	for _, r := range rows {
		host, cache := "-", "hit"
		if !r.tok.FromCache {
			cache = "miss"
			if u, err := url.Parse(r.tok.TokenEndpoint); err == nil {
				host = u.Host
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.flow, host, r.auth, r.tok.TokenType, cache, latency(r.took), r.note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := printMatrix(e.stdout, matrix); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n%d token requests reached the token service emulator.\n", len(em.Requests("token")))
	return nil
}

type demo struct {
	em       *entratest.Emulator
	clientID string
	secret   credential.Credential
	cert     credential.Credential
}

const demoAuthority = "https://login.microsoftonline.com/contoso.onmicrosoft.com"

func newDemo(em *entratest.Emulator) (*demo, error) {
	dc := em.DefaultClient()
	secret, err := credential.NewSecret(dc.Secret)
	if err != nil {
		return nil, err
	}
	cert, err := credential.ParseCertificate(dc.CertPEM, dc.KeyPEM, credential.CertificateOptions{})
	if err != nil {
		return nil, err
	}
	return &demo{em: em, clientID: dc.ID, secret: secret, cert: cert}, nil
}

func (d *demo) client(cred credential.Credential, region string) (*confidential.Client, error) {
	return confidential.New(confidential.Config{
		Authority:  demoAuthority,
		ClientID:   d.clientID,
		Credential: cred,
		Region:     region,
		HTTPClient: d.em.HTTPClient(),
	})
}

func (d *demo) run(ctx context.Context) ([]demoRow, error) {
	var rows []demoRow
	graph := confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}}
	api := confidential.TokenRequest{Scopes: []string{"https://api.contoso.test/read"}}
	user := d.em.IssueUserToken(entratest.User{Audience: d.clientID, Subject: "alice", TenantID: "contoso.onmicrosoft.com", Username: "alice@contoso.test"})

	type step struct {
		flow, auth string
		cred       credential.Credential
		region     string
		obo        bool
		req        confidential.TokenRequest
		repeat     bool
	}
	steps := []step{
		{flow: "client credentials", auth: "secret", cred: d.secret, req: graph, repeat: true},
		{flow: "client credentials", auth: "certificate (PS256 assertion)", cred: d.cert, req: graph, repeat: true},
		{flow: "client credentials, region eastus", auth: "secret", cred: d.secret, region: "eastus", req: graph, repeat: true},
		{flow: "on-behalf-of", auth: "secret", cred: d.secret, obo: true, req: api, repeat: true},
		{flow: "on-behalf-of", auth: "certificate (PS256 assertion)", cred: d.cert, obo: true, req: api},
	}
	for _, s := range steps {
		c, err := d.client(s.cred, s.region)
		if err != nil {
			return nil, err
		}
		calls := 1
		if s.repeat {
			calls = 2
		}
		for range calls {
			start := time.Now()
			var tok entra.Token
			if s.obo {
				tok, err = c.AcquireTokenOnBehalfOf(ctx, user, s.req)
			} else {
				tok, err = c.AcquireTokenForClient(ctx, s.req)
			}
			if err != nil {
				return nil, fmt.Errorf("%s with %s: %w", s.flow, s.auth, err)
			}
			rows = append(rows, demoRow{flow: s.flow, auth: s.auth, tok: tok, took: time.Since(start)})
		}
	}

	userRows, err := d.userRows(ctx)
	if err != nil {
		return nil, err
	}
	rows = append(rows, userRows...)

	// A claims challenge bypasses the cache; capabilities travel with it.
	c, err := confidential.New(confidential.Config{Authority: demoAuthority, ClientID: d.clientID, Credential: d.secret,
		HTTPClient: d.em.HTTPClient(), Capabilities: []string{"cp1"}})
	if err != nil {
		return nil, err
	}
	if _, err := c.AcquireTokenForClient(ctx, graph); err != nil {
		return nil, err
	}
	challenged := graph
	challenged.Claims = `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`
	start := time.Now()
	tok, err := c.AcquireTokenForClient(ctx, challenged)
	if err != nil {
		return nil, err
	}
	rows = append(rows, demoRow{flow: "client credentials + claims challenge", auth: "secret", tok: tok, took: time.Since(start), note: "cache bypassed, cp1 merged"})

	// Client-originated claims are cached per value, in canonical form.
	cc, err := confidential.New(confidential.Config{Authority: demoAuthority, ClientID: d.clientID, Credential: d.secret,
		HTTPClient: d.em.HTTPClient(), EnableClientClaims: true})
	if err != nil {
		return nil, err
	}
	for i, form := range []string{`{"xms_az_nwperimid":{"essential":true}}`, `{"xms_az_nwperimid":{"essential":true}}`, "{ \"xms_az_nwperimid\" : { \"essential\" : true } }"} {
		req := graph
		req.ClientClaims = form
		start := time.Now()
		tok, err := cc.AcquireTokenForClient(ctx, req)
		if err != nil {
			return nil, err
		}
		note := []string{"first call, sent to the service", "same claims", "reformatted claims"}[i]
		rows = append(rows, demoRow{flow: "client credentials + client claims", auth: "secret", tok: tok, took: time.Since(start), note: note})
	}

	// Concurrent callers on a cold cache share one request.
	row, err := d.concurrent(ctx, graph)
	if err != nil {
		return nil, err
	}
	rows = append(rows, row)

	miRows, err := d.managedIdentityRows(ctx)
	if err != nil {
		return nil, err
	}
	rows = append(rows, miRows...)
	popRows, err := d.managedIdentityPoPRows(ctx)
	if err != nil {
		return nil, err
	}
	rows = append(rows, popRows...)
	federated, err := d.federatedRows(ctx, graph)
	if err != nil {
		return nil, err
	}
	return append(rows, federated...), nil
}

// federatedRows are the credentials of secretless workloads: a Kubernetes
// service-account token file (workload identity) and the host's managed
// identity, each trusted by the application as a federated credential.
func (d *demo) federatedRows(ctx context.Context, req confidential.TokenRequest) ([]demoRow, error) {
	const subject, audience = "system:serviceaccount:demo:api", "api://AzureADTokenExchange"
	issuer := d.em.NewIssuer("demo-cluster")
	miIssuer := "https://login.microsoftonline.com/" + d.em.DefaultUser().TenantID + "/v2.0"
	dc := d.em.DefaultClient()
	block, _ := pem.Decode(dc.CertPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	// The application keeps its secret and certificate, and trusts both issuers.
	d.em.RegisterClient(entratest.Client{ID: d.clientID, Secret: dc.Secret, Certificates: []*x509.Certificate{cert},
		RedirectURIs: []string{entratest.DefaultRedirectURI}, FederatedCredentials: []entratest.FederatedCredential{
			{Issuer: issuer.URL(), Subject: subject, Audience: audience},
			{Issuer: miIssuer, Subject: d.em.ManagedIdentityObjectID("", ""), Audience: audience},
		}})
	dir, err := os.MkdirTemp("", "entra-demo")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	tokenFile := filepath.Join(dir, "token")
	if err := issuer.WriteTokenFile(tokenFile, subject, audience, time.Hour); err != nil {
		return nil, err
	}
	mi, err := managedidentity.New(managedidentity.Config{Getenv: d.em.Getenv("imds")})
	if err != nil {
		return nil, err
	}
	var rows []demoRow
	for _, s := range []struct {
		auth string
		cred credential.Credential
	}{
		{"workload identity (token file)", credential.NewWorkloadIdentity(tokenFile)},
		{"managed identity (federated)", credential.NewManagedIdentityAssertion(mi)},
	} {
		c, err := d.client(s.cred, "")
		if err != nil {
			return nil, err
		}
		for range 2 {
			start := time.Now()
			tok, err := c.AcquireTokenForClient(ctx, req)
			if err != nil {
				return nil, fmt.Errorf("client credentials with %s: %w", s.auth, err)
			}
			rows = append(rows, demoRow{flow: "client credentials, no secret", auth: s.auth, tok: tok, took: time.Since(start)})
		}
	}
	return rows, nil
}

// managedIdentityRows gets a token from every managed identity source of
// the embedded emulator, twice: from the endpoint, then from the cache.
func (d *demo) managedIdentityRows(ctx context.Context) ([]demoRow, error) {
	mi := d.em
	var rows []demoRow
	for _, src := range []string{"imds", "app_service", "azure_arc", "cloud_shell", "service_fabric", "machine_learning"} {
		c, err := managedidentity.New(managedidentity.Config{Getenv: mi.Getenv(src), ArcTokenDir: mi.ArcTokenDir()})
		if err != nil {
			return nil, err
		}
		auth := "host secret"
		switch src {
		case "imds", "cloud_shell":
			auth = "Metadata header"
		case "azure_arc":
			auth = "challenge file"
		}
		for range 2 {
			start := time.Now()
			tok, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: "https://management.azure.com"})
			if err != nil {
				return nil, fmt.Errorf("managed identity (%s): %w", src, err)
			}
			rows = append(rows, demoRow{flow: "managed identity, " + string(c.Source()), auth: auth, tok: tok, took: time.Since(start)})
		}
	}
	return rows, nil
}

func (d *demo) concurrent(ctx context.Context, req confidential.TokenRequest) (demoRow, error) {
	const callers = 200
	c, err := d.client(d.secret, "")
	if err != nil {
		return demoRow{}, err
	}
	before := len(d.em.Requests("token"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first entra.Token
	var firstErr error
	start := time.Now()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.AcquireTokenForClient(ctx, req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if !tok.FromCache {
				first = tok
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return demoRow{}, firstErr
	}
	n := len(d.em.Requests("token")) - before
	return demoRow{flow: fmt.Sprintf("client credentials, %d concurrent callers", callers), auth: "secret", tok: first,
		took: time.Since(start), note: fmt.Sprintf("%d token request(s) for %d callers", n, callers)}, nil
}

// latency keeps cache hits (a microsecond or less) readable next to misses.
func latency(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
	}
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
