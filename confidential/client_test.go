package confidential

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/internal/clientauth"
)

const (
	graph  = "https://graph.microsoft.com/.default"
	tenant = "11111111-2222-3333-4444-555555555555"
)

var graphScopes = []string{graph}

// fixture is an emulator and a registered client with every credential kind.
type fixture struct {
	em       *entratest.Emulator
	clientID string
	secret   credential.Credential
	rsaCert  *clientauth.Certificate
	ecCert   *clientauth.Certificate
}

func newFixture(t testing.TB, opts entratest.Options) *fixture {
	t.Helper()
	em, err := entratest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	dc := em.DefaultClient()
	secret, err := credential.NewSecret(dc.Secret)
	if err != nil {
		t.Fatal(err)
	}
	rsaCert, err := clientauth.ParseCertificate(dc.CertPEM, dc.KeyPEM, clientauth.CertificateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ecCert := newECCertificate(t)
	em.RegisterClient(entratest.Client{ID: dc.ID, Secret: dc.Secret, Certificates: []*x509.Certificate{rsaCert.Leaf(), ecCert.Leaf()},
		RedirectURIs: []string{entratest.DefaultRedirectURI}})
	return &fixture{em: em, clientID: dc.ID, secret: secret, rsaCert: rsaCert, ecCert: ecCert}
}

func newECCertificate(t testing.TB) *clientauth.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return certificateFor(t, key, 7)
}

// certificateFor issues a self-signed certificate over key.
func certificateFor(t testing.TB, key *ecdsa.PrivateKey, serial int64) *clientauth.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "entra-test-ec"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	c, err := clientauth.NewCertificate([]*x509.Certificate{leaf}, key, clientauth.CertificateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bindingCallback is an assertion callback bound to the EC certificate
// ("case 2"), or, without a certificate, bound to none.
func (f *fixture) bindingCallback(withCertificate bool) credential.Credential {
	tlsCert := f.ecCert.TLSCertificate()
	return credential.NewBoundAssertion(func(context.Context) (*tls.Certificate, error) {
		if withCertificate {
			return &tlsCert, nil
		}
		return nil, nil
	}, f.sign)
}

func (f *fixture) client(t testing.TB, cred credential.Credential, mutate ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		Authority:  "https://login.microsoftonline.com/" + tenant,
		ClientID:   f.clientID,
		Credential: cred,
		HTTPClient: f.em.HTTPClient(),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) tokenRequests() []entratest.Request { return f.em.Requests("token") }

// callback is an assertion callback signing with the EC certificate, as a
// key-vault signer would.
func (f *fixture) callback() credential.Credential { return credential.NewAssertion(f.sign) }

func (f *fixture) sign(ctx context.Context, req credential.AssertionRequest) (string, error) {
	m, err := f.ecCert.Material(ctx, clientauth.Request{ClientID: req.ClientID, TokenEndpoint: req.TokenEndpoint})
	return m.Assertion, err
}

func TestClientCredentialsWithEachCredential(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	callback := f.callback()
	tests := []struct {
		name     string
		cred     credential.Credential
		wantAuth string // form field proving the client
	}{
		{"secret", f.secret, "client_secret"},
		{"rsa certificate", f.rsaCert, "client_assertion"},
		{"ec certificate", f.ecCert, "client_assertion"},
		{"assertion callback", callback, "client_assertion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.em.ResetRequests()
			c := f.client(t, tt.cred)
			tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
			if err != nil {
				t.Fatal(err)
			}
			if tok.FromCache || tok.TokenType != entra.TokenTypeBearer || tok.AccessToken == "" {
				t.Fatalf("first call: %v", tok)
			}
			if want := "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token"; tok.TokenEndpoint != want {
				t.Errorf("token endpoint %q, want %q", tok.TokenEndpoint, want)
			}
			again, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
			if err != nil {
				t.Fatal(err)
			}
			if !again.FromCache || again.AccessToken != tok.AccessToken {
				t.Fatalf("second call not served from the cache: %v", again)
			}
			reqs := f.tokenRequests()
			if len(reqs) != 1 {
				t.Fatalf("%d token requests, want 1", len(reqs))
			}
			form := reqs[0].Form
			if form.Get(tt.wantAuth) == "" || form.Get("grant_type") != "client_credentials" ||
				form.Get("scope") != graph || form.Get("client_info") != "1" || form.Get("client_id") != f.clientID {
				t.Errorf("unexpected form fields: %v", keys(form))
			}
			if tt.wantAuth == "client_assertion" && form.Get("client_assertion_type") != clientauth.AssertionTypeJWTBearer {
				t.Errorf("client_assertion_type %q", form.Get("client_assertion_type"))
			}
			if form.Get("claims") != "" {
				t.Errorf("claims sent without capabilities or a challenge")
			}
		})
	}
}

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestOnBehalfOf(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	for _, tt := range []struct {
		name string
		cred credential.Credential
	}{{"secret", f.secret}, {"rsa certificate", f.rsaCert}, {"ec certificate", f.ecCert}, {"assertion callback", f.callback()}} {
		t.Run(tt.name, func(t *testing.T) {
			f.em.ResetRequests()
			c := f.client(t, tt.cred)
			alice := f.em.IssueUserToken(entratest.User{Audience: f.clientID, Subject: "alice", TenantID: tenant, Username: "alice@contoso.test"})
			bob := f.em.IssueUserToken(entratest.User{Audience: f.clientID, Subject: "bob", TenantID: tenant, Username: "bob@contoso.test"})
			ctx := context.Background()
			req := TokenRequest{Scopes: []string{"https://api.contoso.test/read"}}

			a1, err := c.AcquireTokenOnBehalfOf(ctx, alice, req)
			if err != nil {
				t.Fatal(err)
			}
			a2, err := c.AcquireTokenOnBehalfOf(ctx, alice, req)
			if err != nil {
				t.Fatal(err)
			}
			if !a2.FromCache || a2.AccessToken != a1.AccessToken {
				t.Fatalf("second OBO call for the same user not from cache: %v", a2)
			}
			b1, err := c.AcquireTokenOnBehalfOf(ctx, bob, req)
			if err != nil {
				t.Fatal(err)
			}
			if b1.FromCache || b1.AccessToken == a1.AccessToken {
				t.Fatalf("another user's call was served alice's token")
			}
			reqs := f.tokenRequests()
			if len(reqs) != 2 {
				t.Fatalf("%d token requests, want 2", len(reqs))
			}
			form := reqs[0].Form
			if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || form.Get("requested_token_use") != "on_behalf_of" ||
				form.Get("assertion") != alice || !strings.Contains(form.Get("scope"), "offline_access") {
				t.Errorf("unexpected OBO form: %v", keys(form))
			}
		})
	}
}

func TestOnBehalfOfRedeemsCachedRefreshToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	fake := newFakeClock()
	c := f.client(t, f.secret, func(cfg *Config) { cfg.now = fake.now })
	alice := f.em.IssueUserToken(entratest.User{Audience: f.clientID, Subject: "alice", TenantID: tenant})
	req := TokenRequest{Scopes: []string{"https://api.contoso.test/read"}}
	if _, err := c.AcquireTokenOnBehalfOf(context.Background(), alice, req); err != nil {
		t.Fatal(err)
	}
	fake.advance(2 * time.Hour) // the access token expired; the refresh token did not
	tok, err := c.AcquireTokenOnBehalfOf(context.Background(), alice, req)
	if err != nil {
		t.Fatal(err)
	}
	if tok.FromCache {
		t.Fatalf("expired token served")
	}
	reqs := f.tokenRequests()
	if got := reqs[len(reqs)-1].Form.Get("grant_type"); got != "refresh_token" {
		t.Fatalf("second request used grant %q, want refresh_token", got)
	}
}

func TestConcurrentColdCallersShareOneRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	f.em.InjectFault(entratest.Fault{Endpoint: "token", Delay: 300 * time.Millisecond})
	c := f.client(t, f.secret)
	const callers = 200
	var wg sync.WaitGroup
	start := make(chan struct{})
	tokens := make([]string, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = tok.AccessToken
		}()
	}
	close(start)
	wg.Wait()
	if n := len(f.tokenRequests()); n != 1 {
		t.Fatalf("%d concurrent cold callers made %d token requests, want 1", callers, n)
	}
	for i := range tokens {
		if tokens[i] != tokens[0] {
			t.Fatalf("caller %d got another token", i)
		}
	}
}

func TestCancelledCallerLeavesOthersUndisturbed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	f.em.InjectFault(entratest.Fault{Endpoint: "token", Delay: 300 * time.Millisecond})
	c := f.client(t, f.secret)
	impatient, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	errs := make(chan error, 1)
	go func() {
		_, err := c.AcquireTokenForClient(impatient, TokenRequest{Scopes: graphScopes})
		errs <- err
	}()
	time.Sleep(10 * time.Millisecond)
	tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
	if err != nil {
		t.Fatalf("patient caller failed: %v", err)
	}
	if err := <-errs; entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("impatient caller got %v", err)
	}
	if tok.AccessToken == "" || len(f.tokenRequests()) != 1 {
		t.Fatalf("shared request was not completed once (%d requests)", len(f.tokenRequests()))
	}
}

func TestRegionalEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret, func(cfg *Config) { cfg.Region = "eastus" })
	tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Region != "eastus" || !strings.HasPrefix(tok.TokenEndpoint, "https://eastus.login.microsoft.com/") {
		t.Fatalf("token from %q region %q", tok.TokenEndpoint, tok.Region)
	}
	if host := f.tokenRequests()[0].Host; host != "eastus.login.microsoft.com" {
		t.Fatalf("request went to %q", host)
	}
	// A regional token is cached under the authority's environment.
	again, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
	if err != nil || !again.FromCache {
		t.Fatalf("second regional call: %v %v", again, err)
	}
	// OBO never goes regional.
	user := f.em.IssueUserToken(entratest.User{Audience: f.clientID, Subject: "u", TenantID: tenant})
	obo, err := c.AcquireTokenOnBehalfOf(context.Background(), user, TokenRequest{Scopes: []string{"https://api.contoso.test/read"}})
	if err != nil {
		t.Fatal(err)
	}
	if obo.Region != "" || !strings.HasPrefix(obo.TokenEndpoint, "https://login.microsoftonline.com/") {
		t.Fatalf("OBO went to %q", obo.TokenEndpoint)
	}
}

func TestRegionFromEnvironment(t *testing.T) {
	t.Setenv("REGION_NAME", "West US 2")
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret, func(cfg *Config) { cfg.Region = "auto" })
	tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Region != "westus2" || !strings.HasPrefix(tok.TokenEndpoint, "https://westus2.login.microsoft.com/") {
		t.Fatalf("token from %q region %q", tok.TokenEndpoint, tok.Region)
	}
}

func TestTenantOverride(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret)
	ctx := context.Background()
	a, err := c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes, Tenant: "fabrikam.onmicrosoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	if b.FromCache || a.AccessToken == b.AccessToken {
		t.Fatal("another tenant was served the first tenant's token")
	}
	if !strings.Contains(b.TokenEndpoint, "/fabrikam.onmicrosoft.com/") {
		t.Fatalf("override ignored: %s", b.TokenEndpoint)
	}
}

func TestClaimsChallengeAndCapabilities(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret, func(cfg *Config) { cfg.Capabilities = []string{"cp1"} })
	ctx := context.Background()
	first, err := c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes})
	if err != nil {
		t.Fatal(err)
	}
	challenge := `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`
	second, err := c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes, Claims: challenge})
	if err != nil {
		t.Fatal(err)
	}
	if second.FromCache || second.AccessToken == first.AccessToken {
		t.Fatal("a claims challenge was answered from the cache")
	}
	third, err := c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes})
	if err != nil {
		t.Fatal(err)
	}
	if !third.FromCache || third.AccessToken != second.AccessToken {
		t.Fatal("the token fetched for the challenge was not cached")
	}
	reqs := f.tokenRequests()
	if got, want := reqs[0].Form.Get("claims"), `{"access_token":{"xms_cc":{"values":["cp1"]}}}`; got != want {
		t.Errorf("capabilities claims %s, want %s", got, want)
	}
	if got, want := reqs[1].Form.Get("claims"), `{"access_token":{"nbf":{"essential":true,"value":"1700000000"},"xms_cc":{"values":["cp1"]}}}`; got != want {
		t.Errorf("merged claims %s, want %s", got, want)
	}
}

func TestForceRefresh(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret)
	ctx := context.Background()
	a, _ := c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes})
	b, err := c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes, ForceRefresh: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.FromCache || b.AccessToken == a.AccessToken || len(f.tokenRequests()) != 2 {
		t.Fatal("force refresh served the cached token")
	}
}

func TestProactiveRefresh(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{RefreshIn: 30 * time.Minute})
	fake := newFakeClock()
	c := f.client(t, f.secret, func(cfg *Config) { cfg.now = fake.now })
	ctx := context.Background()
	first, err := c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes})
	if err != nil {
		t.Fatal(err)
	}
	if !first.RefreshOn.Equal(first.ExpiresOn.Add(-30 * time.Minute)) {
		t.Fatalf("refresh_on %v, expires %v", first.RefreshOn, first.ExpiresOn)
	}
	fake.advance(31 * time.Minute)
	served, err := c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes})
	if err != nil {
		t.Fatal(err)
	}
	if !served.FromCache || served.AccessToken != first.AccessToken {
		t.Fatal("a token due for refresh was not served while it refreshes")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(f.tokenRequests()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	var renewed entra.Token
	for time.Now().Before(deadline) {
		renewed, _ = c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes})
		if renewed.AccessToken != first.AccessToken {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if renewed.AccessToken == first.AccessToken {
		t.Fatal("the background refresh did not replace the token")
	}
	if n := len(f.tokenRequests()); n != 2 {
		t.Fatalf("%d token requests, want exactly 2 (one background refresh)", n)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	wrong, _ := credential.NewSecret("not-the-secret-9f8e7d")
	tests := []struct {
		name     string
		fault    *entratest.Fault
		cred     credential.Credential
		ctx      func() (context.Context, context.CancelFunc)
		wantCode entra.Code
		check    func(t *testing.T, e *entra.Error)
	}{
		{name: "wrong secret", cred: wrong, wantCode: "invalid_client", check: func(t *testing.T, e *entra.Error) {
			if e.StatusCode != 401 || len(e.ErrorCodes) == 0 || e.CorrelationID == "" || e.TraceID == "" || !strings.HasPrefix(e.Description, "AADSTS") {
				t.Errorf("server fields missing: %+v", e)
			}
		}},
		{name: "server error body", fault: &entratest.Fault{Endpoint: "token", Status: 400,
			Body: []byte(`{"error":"invalid_scope","error_description":"AADSTS70011: bad scope","error_codes":[70011]}`), ContentType: "application/json"},
			wantCode: "invalid_scope"},
		{name: "non-JSON body", fault: &entratest.Fault{Endpoint: "token", Status: 200, Body: []byte("<html>captive portal</html>"), ContentType: "text/html"},
			wantCode: entra.CodeInvalidResponse},
		{name: "body over the cap", fault: &entratest.Fault{Endpoint: "token", Status: 200, Body: bytes.Repeat([]byte("x"), 2<<20), ContentType: "application/json"},
			wantCode: entra.CodeInvalidResponse},
		{name: "token type mismatch", fault: &entratest.Fault{Endpoint: "token", Status: 200,
			Body: []byte(`{"token_type":"mtls_pop","expires_in":3600,"access_token":"x"}`), ContentType: "application/json"},
			wantCode: entra.CodeTokenTypeMismatch},
		{name: "slow server past the deadline", fault: &entratest.Fault{Endpoint: "token", Delay: 2 * time.Second},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 100*time.Millisecond)
			}, wantCode: entra.CodeCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				f.em.InjectFault(*tt.fault)
			}
			cred := tt.cred
			if cred == nil {
				cred = f.secret
			}
			c := f.client(t, cred)
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			_, err := c.AcquireTokenForClient(ctx, TokenRequest{Scopes: graphScopes})
			var e *entra.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode {
				t.Fatalf("got %v, want code %s", err, tt.wantCode)
			}
			if tt.check != nil {
				tt.check(t, e)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	secret, _ := credential.NewSecret("s")
	tests := []struct {
		name string
		cfg  Config
		want entra.Code
	}{
		{"authority over plain http", Config{Authority: "http://login.microsoftonline.com/t", ClientID: "c", Credential: secret}, entra.CodeInvalidAuthority},
		{"authority with no tenant", Config{Authority: "https://login.microsoftonline.com/", ClientID: "c", Credential: secret}, entra.CodeInvalidAuthority},
		{"no client id", Config{Authority: "https://login.microsoftonline.com/t", Credential: secret}, entra.CodeInvalidArgument},
		{"no credential", Config{Authority: "https://login.microsoftonline.com/t", ClientID: "c"}, entra.CodeInvalidCredentialMaterial},
		{"invalid region", Config{Authority: "https://login.microsoftonline.com/t", ClientID: "c", Credential: secret, Region: "east us!"}, entra.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if entra.ErrorCode(err) != tt.want {
				t.Fatalf("got %v, want %s", err, tt.want)
			}
		})
	}
	c, err := New(Config{Authority: "https://login.microsoftonline.com/t", ClientID: "c", Credential: secret})
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []TokenRequest{{}, {Scopes: []string{""}}, {Scopes: []string{"a b"}}} {
		if _, err := c.AcquireTokenForClient(context.Background(), req); entra.ErrorCode(err) != entra.CodeInvalidArgument {
			t.Errorf("request %+v: got %v", req, err)
		}
	}
	if _, err := c.AcquireTokenOnBehalfOf(context.Background(), " ", TokenRequest{Scopes: graphScopes}); entra.ErrorCode(err) != entra.CodeInvalidArgument {
		t.Errorf("empty user assertion: got %v", err)
	}
}

// TestNoSecretsInErrorsOrLogs drives failing and succeeding requests with a
// debug logger and checks no secret, assertion, token or claims text shows.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	claimsText := `{"access_token":{"acrs":{"essential":true,"value":"c1-secret-claim"}}}`
	user := f.em.IssueUserToken(entratest.User{Audience: f.clientID, Subject: "alice", TenantID: tenant})
	wrong, _ := credential.NewSecret("wrong-secret-5a4b3c")
	var texts []string
	var tokens []string
	for _, cred := range []credential.Credential{f.secret, wrong, f.rsaCert} {
		c := f.client(t, cred, func(cfg *Config) { cfg.Logger = logger })
		for _, claims := range []string{"", claimsText, "{not json"} {
			tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, Claims: claims})
			tokens = append(tokens, tok.AccessToken)
			texts = append(texts, fmt.Sprint(tok), errText(err))
			tok, err = c.AcquireTokenOnBehalfOf(context.Background(), user, TokenRequest{Scopes: []string{"https://api.contoso.test/read"}, Claims: claims})
			tokens = append(tokens, tok.AccessToken)
			texts = append(texts, fmt.Sprint(tok), errText(err))
		}
		texts = append(texts, fmtAll(cred)...)
	}
	f.em.InjectFault(entratest.Fault{Endpoint: "token", Status: 500, Times: 2})
	retryAtOnce := func(a entra.Attempt) (time.Duration, bool) { return 0, a.Number == 1 } // the retry is logged too
	c := f.client(t, f.secret, func(cfg *Config) { cfg.Logger, cfg.RetryPolicy = logger, retryAtOnce })
	_, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes, ForceRefresh: true})
	texts = append(texts, errText(err), logs.String())

	secrets := []string{f.em.DefaultClient().Secret, "wrong-secret-5a4b3c", user, "c1-secret-claim"}
	for _, r := range f.tokenRequests() {
		if a := r.Form.Get("client_assertion"); a != "" {
			secrets = append(secrets, a)
		}
	}
	for _, tk := range tokens {
		if tk != "" {
			secrets = append(secrets, tk)
		}
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "entra: http") {
		t.Fatal("the debug logger saw no request; the test would prove nothing")
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("secret material %.12q… appears in an error, String() or log line", s)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func fmtAll(v any) []string {
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, nil)).Info("v", "v", v)
	return []string{b.String(), sprint(v)}
}

type fakeClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// TestNamedAuthorityKindRefusesOtherShapes: naming a kind checks the URL
// against that kind's form instead of guessing another kind.
func TestNamedAuthorityKindRefusesOtherShapes(t *testing.T) {
	t.Parallel()
	cred, err := credential.NewSecret("s")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		authority string
		kind      AuthorityKind
	}{
		{"https://adfs.contoso.test/contoso", AuthorityADFS},
		{"https://login.microsoftonline.com/t/b2c_1_signin", AuthorityAAD},
		{"https://login.microsoftonline.com", AuthorityAAD},
	} {
		_, err := New(Config{Authority: tt.authority, AuthorityKind: tt.kind, ClientID: "c", Credential: cred})
		if entra.ErrorCode(err) != entra.CodeInvalidAuthority {
			t.Errorf("%s as kind %d: %v, want invalid_authority", tt.authority, tt.kind, err)
		}
	}
}

func TestAuthorityKinds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{ExtraHosts: []string{"adfs.contoso.test", "idp.contoso.test"}})
	tests := []struct {
		name, authority string
		kind            AuthorityKind
		wantEndpoint    string
	}{
		{"B2C", "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin", AuthorityAuto,
			"https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/token"},
		{"AD FS (RS256 with x5t)", "https://adfs.contoso.test/adfs", AuthorityAuto, "https://adfs.contoso.test/adfs/oauth2/token"},
		{"AD FS named", "https://adfs.contoso.test/adfs", AuthorityADFS, "https://adfs.contoso.test/adfs/oauth2/token"},
		{"generic OIDC", "https://idp.contoso.test/oidc", AuthorityOIDC, "https://idp.contoso.test/oidc/token"},
		{"Entra ID named", "https://login.microsoftonline.us/" + tenant, AuthorityAAD, "https://login.microsoftonline.us/" + tenant + "/oauth2/v2.0/token"},
		{"sovereign cloud", "https://login.microsoftonline.us/" + tenant, AuthorityAuto, "https://login.microsoftonline.us/" + tenant + "/oauth2/v2.0/token"},
		{"unknown host through instance discovery", "https://localhost/" + tenant, AuthorityAuto, "https://localhost/" + tenant + "/oauth2/v2.0/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.client(t, f.rsaCert, func(cfg *Config) { cfg.Authority, cfg.AuthorityKind = tt.authority, tt.kind })
			tok, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenEndpoint != tt.wantEndpoint {
				t.Fatalf("token endpoint %s, want %s", tok.TokenEndpoint, tt.wantEndpoint)
			}
			again, err := c.AcquireTokenForClient(context.Background(), TokenRequest{Scopes: graphScopes})
			if err != nil || !again.FromCache {
				t.Fatalf("second call: %v %v", again, err)
			}
		})
	}
}

// TestAssertionPartition: an on-behalf-of partition is the base64url
// SHA-256 of the assertion (MSAL's user_assertion_hash), whether interned
// or not, and the interned ones stay within their bound.
func TestAssertionPartition(t *testing.T) {
	t.Parallel()
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret)
	want := func(assertion string) string {
		sum := sha256.Sum256([]byte(assertion))
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	for i := range maxInternedAssertions + 10 {
		a := fmt.Sprint("assertion-", i)
		if got := c.assertionPartition(a); got != want(a) {
			t.Fatalf("partition of %q = %q, want %q", a, got, want(a))
		}
	}
	if n := c.interned.Load(); n < 1 || n > maxInternedAssertions {
		t.Fatalf("%d partitions interned, bound %d", n, maxInternedAssertions)
	}
	for _, a := range []string{"assertion-0", fmt.Sprint("assertion-", maxInternedAssertions+9)} { // dropped, and interned
		if got := c.assertionPartition(a); got != want(a) {
			t.Fatalf("partition of %q = %q after the bound, want %q", a, got, want(a))
		}
	}
}

// TestOnBehalfOfHitAllocatesNothing: the assertion's partition is
// interned, so a hit builds no string.
func TestOnBehalfOfHitAllocatesNothing(t *testing.T) {
	f := newFixture(t, entratest.Options{})
	c := f.client(t, f.secret)
	alice := f.em.IssueUserToken(entratest.User{Audience: f.clientID, Subject: "alice", TenantID: tenant, Username: "alice@contoso.test"})
	ctx := context.Background()
	req := TokenRequest{Scopes: []string{"https://api.contoso.test/read"}}
	if _, err := c.AcquireTokenOnBehalfOf(ctx, alice, req); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() {
		if tok, err := c.AcquireTokenOnBehalfOf(ctx, alice, req); err != nil || !tok.FromCache {
			t.Fatalf("not a hit: %v", err)
		}
	}); n != 0 {
		t.Fatalf("an on-behalf-of hit allocates %.0f times", n)
	}
}
