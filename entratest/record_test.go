package entratest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra/entratest"
)

const graphToken = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"

// secretForm asks for a token of the default client with its secret.
func secretForm(emu *entratest.Emulator) url.Values {
	dc := emu.DefaultClient()
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {dc.ID}, "client_secret": {dc.Secret},
		"scope": {"https://graph.microsoft.com/.default"}}
}

// send makes a request through client and decodes a JSON answer.
func send(t *testing.T, client *http.Client, method, u string, header http.Header, form url.Values) (int, http.Header, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if header != nil {
		req.Header = header.Clone()
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &v)
	return resp.StatusCode, resp.Header, v
}

func TestFaultMatching(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	c := emu.HTTPClient()
	emu.InjectFault(entratest.Fault{Endpoint: "token", Host: "login.windows.net", Status: 503, RetryAfter: "9"})
	// Another host's request passes the fault by.
	if status, _, body := send(t, c, "POST", graphToken, nil, secretForm(emu)); status != 200 {
		t.Fatalf("another host: %d %v", status, body)
	}
	status, header, body := send(t, c, "POST", strings.Replace(graphToken, "login.microsoftonline.com", "login.windows.net", 1), nil, secretForm(emu))
	if status != 503 || header.Get("Retry-After") != "9" || body["error"] != "temporarily_unavailable" || body["error_codes"] == nil {
		t.Fatalf("host fault: %d %v %v", status, header, body)
	}
	// A fault without an endpoint takes the next request, whatever it is,
	// and answers in that endpoint's shape: App Service's here.
	emu.InjectFault(entratest.Fault{Status: 502})
	appService := emu.ManagedIdentityURL("app_service") + "?api-version=2019-08-01&resource=r"
	secret := http.Header{"X-Identity-Header": {identityHeader(emu)}}
	if status, _, body := send(t, http.DefaultClient, "GET", appService, secret, nil); status != 502 || body["statusCode"] != float64(502) {
		t.Fatalf("any-endpoint fault: %d %v", status, body)
	}
	// A body without a status replaces a success; it is JSON unless said.
	emu.InjectFault(entratest.Fault{Endpoint: "app_service", Body: []byte(`{"odd":true}`), Header: http.Header{"X-Extra": {"1"}}})
	status, header, body = send(t, http.DefaultClient, "GET", appService, secret, nil)
	if status != 200 || body["odd"] != true || header.Get("X-Extra") != "1" || header.Get("Content-Type") != "application/json" {
		t.Fatalf("body fault: %d %v %v", status, header, body)
	}
	if status, _, body := send(t, http.DefaultClient, "GET", appService, secret, nil); status != 200 || body["access_token"] == nil {
		t.Fatalf("after the faults: %d %v", status, body)
	}
}

func TestFaultHoldEndsAtRelease(t *testing.T) {
	t.Parallel()
	arrived := make(chan entratest.Request, 1)
	emu := miStart(t, entratest.Options{OnRequest: func(r entratest.Request) { arrived <- r }})
	release := make(chan struct{})
	emu.InjectFault(entratest.Fault{Endpoint: "imds", Hold: release})
	req, _ := http.NewRequest("GET", emu.ManagedIdentityURL("imds")+"?api-version=2018-02-01&resource=r", nil)
	req.Header.Set("Metadata", "true")
	done := make(chan int)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	if r := <-arrived; r.Endpoint != "imds" {
		t.Fatalf("recorded %+v", r)
	}
	select {
	case status := <-done:
		t.Fatalf("answered %d while held", status)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if status := <-done; status != 200 {
		t.Fatalf("after release: %d", status)
	}
}

// TestCloseEndsHeldRequests checks that Close does not wait for a fault's
// hold, and that it removes the Arc folder it made.
func TestCloseEndsHeldRequests(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	emu, err := entratest.New(entratest.Options{OnRequest: func(entratest.Request) { arrived <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	arcDir := emu.ArcTokenDir()
	emu.InjectFault(entratest.Fault{Hold: make(chan struct{})}) // never released
	failed := make(chan error)
	go func() {
		_, err := emu.HTTPClient().PostForm(graphToken, secretForm(emu))
		failed <- err
	}()
	<-arrived
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-failed; err == nil {
		t.Fatal("a held request was answered after Close")
	}
	if _, err := os.Stat(arcDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the Arc folder is left: %v", err)
	}
	if err := emu.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

func TestRequestsRecordEveryEndpoint(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	c := emu.HTTPClient()
	if status, _, body := send(t, c, "GET", graphToken+"?x=1", nil, nil); status != 400 || !strings.HasPrefix(body["error_description"].(string), "AADSTS900144") {
		t.Errorf("GET token: %d %v", status, body)
	}
	if status, _, _ := send(t, c, "GET", "https://login.microsoftonline.com/nowhere", nil, nil); status != 404 {
		t.Errorf("unknown path: %d", status)
	}
	if status, _, body := send(t, http.DefaultClient, "GET", emu.IMDSURL()+"/nowhere", nil, nil); status != 404 || body["error"] == nil {
		t.Errorf("unknown managed identity path: %d %v", status, body)
	}
	send(t, c, "POST", graphToken, nil, secretForm(emu))
	tokens := emu.Requests("token")
	if len(tokens) != 2 || tokens[0].Method != "GET" || tokens[0].RawQuery != "x=1" || tokens[1].Form.Get("grant_type") != "client_credentials" ||
		tokens[1].Host != "login.microsoftonline.com" || tokens[1].Path != "/contoso.onmicrosoft.com/oauth2/v2.0/token" {
		t.Errorf("token requests %+v", tokens)
	}
	var names []string
	for _, r := range emu.Requests() {
		names = append(names, r.Endpoint)
	}
	if !slices.Equal(names, []string{"token", "unknown", "unknown", "token"}) || len(emu.Requests("unknown", "imds")) != 2 {
		t.Errorf("endpoints %v", names)
	}
	emu.InjectFault(entratest.Fault{Status: 500})
	emu.ResetRequests()
	if status, _, _ := send(t, c, "POST", graphToken, nil, secretForm(emu)); status != 200 || len(emu.Requests()) != 1 {
		t.Errorf("after reset: %d, %d requests", status, len(emu.Requests()))
	}
}

func TestRequestRecordsClientCertificate(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	dc := emu.DefaultClient()
	cert, err := tls.X509KeyPair(dc.CertPEM, dc.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: emu.TransportWithCertificate(&cert)}
	send(t, c, "POST", "https://mtlsauth.microsoft.com/contoso.onmicrosoft.com/oauth2/v2.0/token", nil, secretForm(emu))
	send(t, emu.HTTPClient(), "POST", graphToken, nil, secretForm(emu))
	reqs := emu.Requests("token")
	if len(reqs) != 2 || reqs[0].ClientCertificate == nil || !reqs[0].ClientCertificate.Equal(cert.Leaf) || reqs[1].ClientCertificate != nil {
		t.Fatalf("records %+v", reqs)
	}
}

func TestSigningKeyOption(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	emu := miStart(t, entratest.Options{SigningKey: key})
	_, _, jwks := send(t, emu.HTTPClient(), "GET", "https://login.microsoftonline.com/common/discovery/v2.0/keys", nil, nil)
	n := jwks["keys"].([]any)[0].(map[string]any)["n"]
	if n != base64.RawURLEncoding.EncodeToString(key.N.Bytes()) {
		t.Fatalf("the JWKS does not publish the key: %v", jwks)
	}
	other := miStart(t, entratest.Options{}) // the built-in key
	_, _, body := send(t, emu.HTTPClient(), "POST", graphToken, nil, secretForm(emu))
	at, _ := body["access_token"].(string)
	if _, err := emu.VerifyAccessToken(at); err != nil {
		t.Errorf("own token: %v", err)
	}
	if _, err := other.VerifyAccessToken(at); err == nil {
		t.Error("an emulator with another key verified the token")
	}
}

func TestDefaultClientCertificateIsRSA(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	block, _ := pem.Decode(emu.DefaultClient().CertPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok || time.Until(cert.NotAfter) < 24*time.Hour {
		t.Errorf("default client certificate: %T until %v", cert.PublicKey, cert.NotAfter)
	}
}
