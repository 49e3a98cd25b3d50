package confidential_test

// Tests against a token service that misbehaves on purpose: every answer
// a compromised host or a hostile network can give. Each test asserts what
// reached other hosts, what the caller got, how long it took, and that no
// secret the request carried appears in any printed form of the error.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
)

const (
	hostileTenant = "11111111-2222-3333-4444-555555555555"
	hostileClient = "22222222-3333-4444-5555-666666666666"
	hostileSecret = "s3cret-VALUE-0123456789~abc"
	hostileRT     = "rt-0123456789-secret-refresh"
	hostileCode   = "code-0123456789-secret-auth"
	hostileVerif  = "verifier-0123456789-0123456789-0123456789-x"
	// bounded is how long any failing call may take in these tests.
	bounded = 5 * time.Second
)

var hostileScopes = []string{"api://resource/.default"}

// hostile is a TLS token service whose answers a test writes, recording
// every form value it received.
type hostile struct {
	*httptest.Server
	mu    sync.Mutex
	forms []url.Values
	hits  atomic.Int32
}

func newHostile(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, form url.Values)) *hostile {
	t.Helper()
	h := &hostile{}
	h.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		h.mu.Lock()
		h.forms = append(h.forms, form)
		h.mu.Unlock()
		answer(w, r, form)
	}))
	t.Cleanup(func() {
		h.CloseClientConnections() // ends stalled handlers, which Close waits for
		h.Close()
	})
	return h
}

// secrets returns every value the server received in a field that holds a
// secret.
func (h *hostile) secrets() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, f := range h.forms {
		for _, name := range []string{"client_secret", "client_assertion", "assertion", "refresh_token", "code", "code_verifier", "claims"} {
			out = append(out, f[name]...)
		}
	}
	return out
}

// witness counts the requests another host receives.
type witness struct {
	*httptest.Server
	hits atomic.Int32
}

func newWitness(t *testing.T, useTLS bool) *witness {
	t.Helper()
	w := &witness{}
	handler := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.hits.Add(1)
		writeToken(rw, "token-from-elsewhere")
	})
	if useTLS {
		w.Server = httptest.NewTLSServer(handler)
	} else {
		w.Server = httptest.NewServer(handler)
	}
	t.Cleanup(w.Close)
	return w
}

func writeToken(w http.ResponseWriter, token string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "access_token": token, "expires_in": 3600})
}

// hostileClient is a client of the hostile service; its HTTP client, the
// test server's own, follows redirects as every default client does.
func hostileClientFor(t *testing.T, h *hostile, cred credential.Credential, edit func(*confidential.Config)) *confidential.Client {
	t.Helper()
	cfg := confidential.Config{
		Authority: h.URL + "/" + hostileTenant, ClientID: hostileClient, Credential: cred,
		DisableInstanceDiscovery: true, HTTPClient: h.Client(),
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := confidential.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func secretCredential(t *testing.T) credential.Credential {
	t.Helper()
	s, err := credential.NewSecret(hostileSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ecCertificate is a self-signed certificate credential.
func ecCertificate(t *testing.T) credential.Credential {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hostile-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := credential.ParseCertificate(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), credential.CertificateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// flow is one way of asking the token service.
type flow struct {
	name string
	call func(ctx context.Context, c *confidential.Client) (entra.Token, error)
}

var userFlows = []flow{
	{"refresh token", func(ctx context.Context, c *confidential.Client) (entra.Token, error) {
		return c.AcquireTokenByRefreshToken(ctx, hostileRT, confidential.TokenRequest{Scopes: hostileScopes})
	}},
	{"auth code", func(ctx context.Context, c *confidential.Client) (entra.Token, error) {
		return c.AcquireTokenByAuthCode(ctx, confidential.AuthCode{Code: hostileCode, RedirectURI: "http://localhost/cb",
			CodeVerifier: hostileVerif}, confidential.TokenRequest{Scopes: hostileScopes})
	}},
}

var everyFlow = append([]flow{
	{"client credentials", func(ctx context.Context, c *confidential.Client) (entra.Token, error) {
		return c.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: hostileScopes})
	}},
	{"on-behalf-of", func(ctx context.Context, c *confidential.Client) (entra.Token, error) {
		return c.AcquireTokenOnBehalfOf(ctx, fakeJWT(map[string]any{"sub": "user-assertion"}), confidential.TokenRequest{Scopes: hostileScopes})
	}},
}, userFlows...)

// fakeJWT is an unsigned JWT with the given claims.
func fakeJWT(claims map[string]any) string {
	payload, _ := json.Marshal(claims)
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(payload) + ".c2lnbmF0dXJl"
}

// assertNoSecret fails if any secret appears in any printed form of err,
// in its fields, or in a log line about it.
func assertNoSecret(t *testing.T, err error, logs *bytes.Buffer, secrets ...string) {
	t.Helper()
	var log bytes.Buffer
	slog.New(slog.NewJSONHandler(&log, nil)).Error("failed", "err", err)
	var fields string
	if e := new(entra.Error); errors.As(err, &e) {
		fields = strings.Join([]string{string(e.Code), e.Message, e.Description, e.CorrelationID, e.TraceID, e.Timestamp, e.Claims}, "\n")
	}
	forms := map[string]string{
		"Error()": err.Error(), "%v": fmt.Sprintf("%v", err), "%+v": fmt.Sprintf("%+v", err),
		"%#v": fmt.Sprintf("%#v", err), "log": log.String(), "fields": fields,
	}
	if logs != nil {
		forms["client log"] = logs.String()
	}
	for where, text := range forms {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("%s shows a secret the request carried (%.12s…): %s", where, s, text)
			}
		}
	}
}

func TestRedirectsNeverCarryCredentials(t *testing.T) {
	t.Parallel()
	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, targetTLS := range []bool{false, true} {
			name := fmt.Sprintf("%d to http", status)
			if targetTLS {
				name = fmt.Sprintf("%d to another https host", status)
			}
			t.Run(name, func(t *testing.T) {
				elsewhere := newWitness(t, targetTLS)
				h := newHostile(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
					http.Redirect(w, r, elsewhere.URL+"/"+hostileTenant+"/oauth2/v2.0/token?stolen=1", status)
				})
				c := hostileClientFor(t, h, secretCredential(t), nil)
				for _, f := range everyFlow {
					start := time.Now()
					tok, err := f.call(context.Background(), c)
					took := time.Since(start)
					var e *entra.Error
					if !errors.As(err, &e) || e.Code != entra.CodeRedirectRefused || e.StatusCode != status {
						t.Fatalf("%s: got %v, %v; want %s with status %d", f.name, tok, err, entra.CodeRedirectRefused, status)
					}
					if u, _ := url.Parse(elsewhere.URL); !strings.Contains(err.Error(), u.Host) {
						t.Errorf("%s: the error does not name the redirect's target host: %v", f.name, err)
					}
					if took > bounded {
						t.Errorf("%s took %s", f.name, took)
					}
					assertNoSecret(t, err, nil, h.secrets()...)
				}
				if n := elsewhere.hits.Load(); n != 0 {
					t.Fatalf("the redirect's target received %d requests", n)
				}
				// Nothing was cached: the next call asks the service again.
				before := h.hits.Load()
				everyFlow[0].call(context.Background(), c)
				if h.hits.Load() == before {
					t.Error("a token was served from the cache after a refused redirect")
				}
			})
		}
	}
}

func TestDiscoveryNeverFollowsRedirects(t *testing.T) {
	t.Parallel()
	elsewhere := newWitness(t, true)
	h := newHostile(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
	})
	c := hostileClientFor(t, h, secretCredential(t), func(cfg *confidential.Config) { cfg.DisableInstanceDiscovery = false })
	_, err := c.AcquireTokenForClient(context.Background(), confidential.TokenRequest{Scopes: hostileScopes})
	if entra.ErrorCode(err) != entra.CodeRedirectRefused {
		t.Fatalf("got %v, want %s", err, entra.CodeRedirectRefused)
	}
	if n := elsewhere.hits.Load(); n != 0 {
		t.Fatalf("instance discovery followed the redirect (%d requests)", n)
	}
}

// stall sends the headers of an answer, then nothing until the client
// leaves (or the test closes its connections).
func stall(w http.ResponseWriter, r *http.Request, _ url.Values) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

func TestEveryFlowIsBoundedByTheTimeBudget(t *testing.T) {
	t.Parallel()
	h := newHostile(t, stall)
	// The caller's HTTP client has no Timeout, and the caller no deadline.
	c := hostileClientFor(t, h, secretCredential(t), func(cfg *confidential.Config) { cfg.RequestTimeout = 300 * time.Millisecond })
	for _, f := range everyFlow {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := f.call(context.Background(), c)
			took := time.Since(start)
			if entra.ErrorCode(err) != entra.CodeTimeout || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want %s wrapping context.DeadlineExceeded", err, entra.CodeTimeout)
			}
			if took < 300*time.Millisecond || took > 2*time.Second {
				t.Errorf("took %s, want the 300ms budget", took)
			}
		})
	}
}

func TestTheCallersDeadlineIsCanceled(t *testing.T) {
	t.Parallel()
	h := newHostile(t, stall)
	c := hostileClientFor(t, h, secretCredential(t), nil) // 30 s budget
	for _, f := range everyFlow {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := f.call(ctx, c)
			if entra.ErrorCode(err) != entra.CodeCanceled || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want %s wrapping context.DeadlineExceeded", err, entra.CodeCanceled)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %s, want the caller's 200ms", took)
			}
		})
	}
}

func TestRetryAfterThatCannotFitIsAnsweredAtOnce(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := newHostile(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
				w.Header().Set("Retry-After", "45")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				w.Write([]byte(`{"error":"temporarily_unavailable","error_description":"AADSTS50196: slow down"}`))
			})
			c := hostileClientFor(t, h, secretCredential(t), nil) // 30 s budget: 45 s cannot fit
			start := time.Now()
			_, err := c.AcquireTokenForClient(context.Background(), confidential.TokenRequest{Scopes: hostileScopes})
			took := time.Since(start)
			var e *entra.Error
			if !errors.As(err, &e) || e.Code != "temporarily_unavailable" || e.StatusCode != status || e.RetryAfter != 45*time.Second {
				t.Fatalf("got %#v, want the server's temporarily_unavailable with status %d and RetryAfter 45s", err, status)
			}
			if took > time.Second {
				t.Errorf("took %s: the client waited for a retry that could not fit", took)
			}
			if n := h.hits.Load(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// echo answers an OAuth error that repeats every value the request
// carried, in every field and in a header, raw and form-encoded.
func echo(w http.ResponseWriter, r *http.Request, form url.Values) {
	var values []string
	for _, vs := range form {
		values = append(values, vs...)
	}
	all := strings.Join(values, " ")
	w.Header().Set("client-request-id", all)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]any{
		"error": all, "error_description": "AADSTS7000215: you sent " + all + " encoded as " + form.Encode(),
		"correlation_id": all, "trace_id": all, "timestamp": all, "claims": all, "error_codes": []int{7000215},
	})
}

func TestEchoedSecretsAreRedacted(t *testing.T) {
	t.Parallel()
	callbackJWT := fakeJWT(map[string]any{"iss": hostileClient, "jti": "callback-assertion"})
	creds := map[string]credential.Credential{
		"secret":      secretCredential(t),
		"certificate": ecCertificate(t),
		"callback": credential.NewAssertion(func(context.Context, credential.AssertionRequest) (string, error) {
			return callbackJWT, nil
		}),
	}
	const clientClaims = `{"xms_az_nwperimid":{"essential":true,"values":["perimeter-secret-1"]}}`
	const challenge = `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`
	for credName, cred := range creds {
		for _, f := range everyFlow {
			t.Run(credName+"/"+f.name, func(t *testing.T) {
				h := newHostile(t, echo)
				var logs bytes.Buffer
				c := hostileClientFor(t, h, cred, func(cfg *confidential.Config) {
					cfg.EnableClientClaims = true
					cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				})
				ctx := context.Background()
				_, err := f.call(ctx, c)
				if err == nil {
					t.Fatal("the echoing server's error was not returned")
				}
				assertNoSecret(t, err, &logs, append(h.secrets(), hostileSecret, callbackJWT)...)
				// With client claims and a claims challenge on the request too.
				if f.name == "client credentials" {
					_, err = c.AcquireTokenForClient(ctx, confidential.TokenRequest{Scopes: hostileScopes, ClientClaims: clientClaims, Claims: challenge})
					assertNoSecret(t, err, &logs, append(h.secrets(), clientClaims, challenge, "perimeter-secret-1")...)
				}
			})
		}
	}
}

// idTokenAnswer answers a user flow with an ID token of the given claims.
func idTokenAnswer(claims map[string]any) func(http.ResponseWriter, *http.Request, url.Values) {
	return func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		ci := base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"uid","utid":"` + hostileTenant + `"}`))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "access_token": "at", "expires_in": 3600,
			"refresh_token": "rt-new", "id_token": fakeJWT(claims), "client_info": ci, "scope": "api://resource/.default"})
	}
}

func TestIDTokensAreChecked(t *testing.T) {
	t.Parallel()
	valid := func() map[string]any {
		return map[string]any{"aud": hostileClient, "iss": "https://127.0.0.1/" + hostileTenant + "/v2.0", "tid": hostileTenant,
			"oid": "uid", "sub": "sub", "preferred_username": "ada@contoso.example", "exp": time.Now().Add(time.Hour).Unix()}
	}
	tests := []struct {
		name   string
		change func(map[string]any)
		ok     bool
	}{
		{"valid", func(map[string]any) {}, true},
		{"audience among several", func(c map[string]any) { c["aud"] = []string{"other", hostileClient} }, true},
		{"another audience", func(c map[string]any) { c["aud"] = "33333333-0000-0000-0000-000000000000" }, false},
		{"no audience", func(c map[string]any) { delete(c, "aud") }, false},
		{"another issuer host", func(c map[string]any) { c["iss"] = "https://evil.example/" + hostileTenant + "/v2.0" }, false},
		{"another issuer tenant", func(c map[string]any) {
			c["iss"] = "https://127.0.0.1/99999999-0000-0000-0000-000000000000/v2.0"
			c["tid"] = "99999999-0000-0000-0000-000000000000"
		}, false},
		{"no issuer", func(c map[string]any) { delete(c, "iss") }, false},
		{"expired", func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, false},
		{"no exp", func(c map[string]any) { delete(c, "exp") }, false},
	}
	for _, tt := range tests {
		for _, f := range userFlows {
			t.Run(tt.name+"/"+f.name, func(t *testing.T) {
				claims := valid()
				tt.change(claims)
				h := newHostile(t, idTokenAnswer(claims))
				c := hostileClientFor(t, h, secretCredential(t), nil)
				start := time.Now()
				_, err := f.call(context.Background(), c)
				if tt.ok {
					if err != nil {
						t.Fatalf("a valid ID token was refused: %v", err)
					}
					return
				}
				if entra.ErrorCode(err) != entra.CodeInvalidIDToken {
					t.Fatalf("got %v, want %s", err, entra.CodeInvalidIDToken)
				}
				if took := time.Since(start); took > bounded {
					t.Errorf("took %s", took)
				}
				assertNoSecret(t, err, nil, h.secrets()...)
				if accounts, err := c.Accounts(context.Background()); err != nil || len(accounts) != 0 {
					t.Errorf("the refused answer was cached: %v accounts, %v", accounts, err)
				}
			})
		}
	}
}

func TestIDTokenIssuerTemplateForCommon(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		iss, tid string
		ok       bool
	}{
		{"https://127.0.0.1/" + hostileTenant + "/v2.0", hostileTenant, true},
		{"https://127.0.0.1/" + hostileTenant + "/v2.0", "99999999-0000-0000-0000-000000000000", false},
		{"https://127.0.0.1/common/v2.0", hostileTenant, false},
	} {
		claims := map[string]any{"aud": hostileClient, "iss": tt.iss, "tid": tt.tid, "oid": "uid", "exp": time.Now().Add(time.Hour).Unix()}
		h := newHostile(t, idTokenAnswer(claims))
		c := hostileClientFor(t, h, secretCredential(t), func(cfg *confidential.Config) { cfg.Authority = h.URL + "/common" })
		_, err := userFlows[0].call(context.Background(), c)
		if (err == nil) != tt.ok || (err != nil && entra.ErrorCode(err) != entra.CodeInvalidIDToken) {
			t.Errorf("iss %s with tid %s on common: %v, want ok=%t", tt.iss, tt.tid, err, tt.ok)
		}
	}
}
