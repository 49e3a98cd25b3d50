package entratest_test

import (
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra/entratest"
)

// identityHeader, msiSecret and sfThumbprint are the hosts' secrets, as
// their environments carry them.
func identityHeader(emu *entratest.Emulator) string {
	return emu.ManagedIdentityEnv("app_service")["IDENTITY_HEADER"]
}

func msiSecret(emu *entratest.Emulator) string {
	return emu.ManagedIdentityEnv("machine_learning")["MSI_SECRET"]
}

func sfThumbprint(emu *entratest.Emulator) string {
	return emu.ManagedIdentityEnv("service_fabric")["IDENTITY_SERVER_THUMBPRINT"]
}

func miStart(t *testing.T, opts entratest.Options) *entratest.Emulator {
	t.Helper()
	emu, err := entratest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// miClient trusts the Service Fabric listener by its thumbprint, as a
// managed identity client does.
func miClient(emu *entratest.Emulator) *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, // pinned below
			VerifyConnection: func(cs tls.ConnectionState) error {
				sum := sha1.Sum(cs.PeerCertificates[0].Raw)
				if !strings.EqualFold(hex.EncodeToString(sum[:]), sfThumbprint(emu)) {
					return io.ErrUnexpectedEOF
				}
				return nil
			},
		}},
	}
}

type miAnswer struct {
	status int
	header http.Header
	body   map[string]any
}

func miDo(t *testing.T, emu *entratest.Emulator, method, u string, header http.Header, form url.Values) miAnswer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	resp, err := miClient(emu).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &m)
	return miAnswer{resp.StatusCode, resp.Header, m}
}

func TestManagedIdentitySources(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	const res = "https://vault.azure.net"
	meta := http.Header{"Metadata": {"true"}}
	appSvc := http.Header{"X-Identity-Header": {identityHeader(emu)}}
	sf := http.Header{"Secret": {identityHeader(emu)}}
	ml := http.Header{"Secret": {msiSecret(emu)}}
	q := func(src string, query string) string { return emu.ManagedIdentityURL(src) + "?" + query }
	form := url.Values{"resource": {res}}
	formHeader := http.Header{"Metadata": {"true"}, "Content-Type": {"application/x-www-form-urlencoded"}}
	tests := []struct {
		name   string
		method string
		url    string
		header http.Header
		form   url.Values
		status int
		// errKey is the error body's distinguishing member: "error" (OAuth
		// shape or Service Fabric's object) or "statusCode" (App Service).
		errKey string
	}{
		{"IMDS", "GET", q("imds", "api-version=2018-02-01&resource="+res), meta, nil, 200, ""},
		{"IMDS user-assigned", "GET", q("imds", "api-version=2018-02-01&resource="+res+"&msi_res_id=/s/x"), meta, nil, 200, ""},
		{"IMDS without Metadata", "GET", q("imds", "api-version=2018-02-01&resource="+res), nil, nil, 400, "error"},
		{"IMDS forwarded", "GET", q("imds", "api-version=2018-02-01&resource="+res), http.Header{"Metadata": {"true"}, "X-Forwarded-For": {"1.2.3.4"}}, nil, 400, "error"},
		{"IMDS POST", "POST", q("imds", "api-version=2018-02-01&resource="+res), meta, nil, 405, "error"},
		{"IMDS without api-version", "GET", q("imds", "resource="+res), meta, nil, 400, "error"},
		{"IMDS App Service parameter", "GET", q("imds", "api-version=2018-02-01&resource="+res+"&mi_res_id=/s/x"), meta, nil, 400, "error"},
		{"IMDS two identities", "GET", q("imds", "api-version=2018-02-01&resource="+res+"&client_id=a&object_id=b"), meta, nil, 400, "error"},
		{"IMDS without resource", "GET", q("imds", "api-version=2018-02-01"), meta, nil, 400, "error"},
		{"IMDS claims", "GET", q("imds", "api-version=2018-02-01&resource="+res+"&claims=%7B%22xms_az_nwperimid%22%3A%7B%7D%7D"), meta, nil, 200, ""},
		{"IMDS other claims", "GET", q("imds", "api-version=2018-02-01&resource="+res+"&claims=%7B%22xms_cc%22%3A%7B%7D%7D"), meta, nil, 400, "error"},
		{"IMDS null claims", "GET", q("imds", "api-version=2018-02-01&resource="+res+"&claims=null"), meta, nil, 400, "error"},
		{"App Service", "GET", q("app_service", "api-version=2019-08-01&resource="+res+"&mi_res_id=/s/x"), appSvc, nil, 200, ""},
		{"App Service principal_id", "GET", q("app_service", "api-version=2019-08-01&resource="+res+"&principal_id=p"), appSvc, nil, 200, ""},
		{"App Service without header", "GET", q("app_service", "api-version=2019-08-01&resource="+res), nil, nil, 400, "statusCode"},
		{"App Service wrong header", "GET", q("app_service", "api-version=2019-08-01&resource="+res), http.Header{"X-Identity-Header": {"x"}}, nil, 401, "statusCode"},
		{"App Service old api-version", "GET", q("app_service", "api-version=2017-09-01&resource="+res), appSvc, nil, 400, "statusCode"},
		{"App Service IMDS parameter", "GET", q("app_service", "api-version=2019-08-01&resource="+res+"&msi_res_id=/s/x"), appSvc, nil, 400, "statusCode"},
		{"Arc without Metadata", "GET", q("azure_arc", "api-version=2020-06-01&resource="+res), nil, nil, 400, "error"},
		{"Arc user-assigned", "GET", q("azure_arc", "api-version=2020-06-01&resource="+res+"&client_id=c"), meta, nil, 400, "error"},
		{"Arc wrong answer", "GET", q("azure_arc", "api-version=2020-06-01&resource="+res), http.Header{"Metadata": {"true"}, "Authorization": {"Basic nope"}}, nil, 401, "error"},
		{"Cloud Shell", "POST", emu.ManagedIdentityURL("cloud_shell"), formHeader, form, 200, ""},
		{"Cloud Shell GET", "GET", q("cloud_shell", "resource="+res), meta, nil, 405, "error"},
		{"Cloud Shell without Metadata", "POST", emu.ManagedIdentityURL("cloud_shell"), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form, 400, "error"},
		{"Cloud Shell identity", "POST", emu.ManagedIdentityURL("cloud_shell"), formHeader, url.Values{"resource": {res}, "client_id": {"c"}}, 400, "error"},
		{"Service Fabric", "GET", q("service_fabric", "api-version=2019-07-01-preview&resource="+res), sf, nil, 200, ""},
		{"Service Fabric principalId", "GET", q("service_fabric", "api-version=2020-05-01&resource="+res+"&principalId=o"), sf, nil, 200, ""},
		{"Service Fabric empty principalId", "GET", q("service_fabric", "api-version=2020-05-01&resource="+res+"&principalId="), sf, nil, 400, "error"},
		{"Service Fabric without resource", "GET", q("service_fabric", "api-version=2020-05-01"), sf, nil, 400, "error"},
		{"Service Fabric without secret", "GET", q("service_fabric", "api-version=2019-07-01-preview&resource="+res), nil, nil, 401, "error"},
		{"Service Fabric POST", "POST", q("service_fabric", "api-version=2020-05-01&resource="+res), sf, nil, 405, "error"},
		{"Service Fabric bad api-version", "GET", q("service_fabric", "api-version=2018-02-01&resource="+res), sf, nil, 400, "error"},
		{"Machine Learning", "GET", q("machine_learning", "api-version=2017-09-01&resource="+res+"&clientid=c"), ml, nil, 200, ""},
		{"Machine Learning without clientid", "GET", q("machine_learning", "api-version=2017-09-01&resource="+res), ml, nil, 400, "statusCode"},
		{"Machine Learning wrong secret", "GET", q("machine_learning", "api-version=2017-09-01&resource="+res+"&clientid=c"), sf, nil, 401, "statusCode"},
		{"Machine Learning client_id", "GET", q("machine_learning", "api-version=2017-09-01&resource="+res+"&client_id=c"), ml, nil, 400, "statusCode"},
		{"unknown path", "GET", emu.IMDSURL() + "/nope", meta, nil, 404, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := miDo(t, emu, tt.method, tt.url, tt.header, tt.form)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d (%v)", a.status, tt.status, a.body)
			}
			if tt.status != 200 {
				if _, ok := a.body[tt.errKey]; !ok {
					t.Errorf("error body %v lacks %q", a.body, tt.errKey)
				}
				return
			}
			tok, _ := a.body["access_token"].(string)
			claims, err := emu.VerifyAccessToken(tok)
			if err != nil || claims["aud"] != res || a.body["token_type"] != "Bearer" {
				t.Errorf("answer %v, claims %v, %v", a.body, claims, err)
			}
		})
	}
}

func TestManagedIdentityResponseShapes(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{TokenLifetime: time.Hour, RefreshIn: 30 * time.Minute})
	meta := http.Header{"Metadata": {"true"}}
	imds := miDo(t, emu, "GET", emu.ManagedIdentityURL("imds")+"?api-version=2018-02-01&resource=r", meta, nil).body
	for _, k := range []string{"expires_in", "expires_on", "ext_expires_in", "not_before", "refresh_in"} {
		if _, ok := imds[k].(string); !ok {
			t.Errorf("IMDS %s = %#v, want a string", k, imds[k])
		}
	}
	if imds["expires_in"] != "3600" || imds["refresh_in"] != "1800" {
		t.Errorf("IMDS lifetimes %v", imds)
	}
	sf := miDo(t, emu, "GET", emu.ManagedIdentityURL("service_fabric")+"?api-version=2019-07-01-preview&resource=r",
		http.Header{"Secret": {identityHeader(emu)}}, nil).body
	if _, ok := sf["expires_on"].(float64); !ok {
		t.Errorf("Service Fabric expires_on = %#v, want a number", sf["expires_on"])
	}
	ml := miDo(t, emu, "GET", emu.ManagedIdentityURL("machine_learning")+"?api-version=2017-09-01&resource=r&clientid=c",
		http.Header{"Secret": {msiSecret(emu)}}, nil).body
	// Unix seconds, as the real endpoint answers (a date string is what
	// azidentity and MSAL Node cannot read).
	if n, ok := ml["expires_on"].(float64); !ok || n < float64(time.Now().Unix()) || n != float64(int64(n)) {
		t.Errorf("Machine Learning expires_on = %#v, want Unix seconds", ml["expires_on"])
	}
	app := miDo(t, emu, "GET", emu.ManagedIdentityURL("app_service")+"?api-version=2019-08-01&resource=r&client_id=c",
		http.Header{"X-Identity-Header": {identityHeader(emu)}}, nil).body
	if s, _ := app["expires_on"].(string); len(s) < 10 || strings.Trim(s, "0123456789") != "" || app["client_id"] != "c" {
		t.Errorf("App Service answer %v, want Unix seconds as a string", app)
	}
}

func TestManagedIdentityArcChallenge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	emu := miStart(t, entratest.Options{ArcTokenDir: dir})
	u := emu.ManagedIdentityURL("azure_arc") + "?api-version=2020-06-01&resource=r"
	first := miDo(t, emu, "GET", u, http.Header{"Metadata": {"true"}}, nil)
	realm, ok := strings.CutPrefix(first.header.Get("WWW-Authenticate"), "Basic realm=")
	if first.status != 401 || !ok || filepath.Dir(realm) != dir || filepath.Ext(realm) != ".key" {
		t.Fatalf("challenge %d %q", first.status, first.header.Get("WWW-Authenticate"))
	}
	secret, err := os.ReadFile(realm)
	if err != nil || len(secret) == 0 {
		t.Fatal(err)
	}
	answer := http.Header{"Metadata": {"true"}, "Authorization": {"Basic " + string(secret)}}
	if a := miDo(t, emu, "GET", u, answer, nil); a.status != 200 {
		t.Fatalf("answer: %d %v", a.status, a.body)
	}
	if _, err := os.Stat(realm); !os.IsNotExist(err) {
		t.Errorf("the challenge file is left: %v", err)
	}
	if a := miDo(t, emu, "GET", u, answer, nil); a.status != 401 {
		t.Errorf("a challenge was answered twice: %d", a.status)
	}
}

func TestManagedIdentityServiceFabricCertificate(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	// Not signed by any CA a default client trusts.
	_, err := http.Get(emu.ManagedIdentityURL("service_fabric"))
	if err == nil {
		t.Fatal("the self-signed certificate was trusted")
	}
	if len(sfThumbprint(emu)) != 40 || strings.ToUpper(sfThumbprint(emu)) != sfThumbprint(emu) {
		t.Errorf("thumbprint %q", sfThumbprint(emu))
	}
}

func TestManagedIdentityFaultsAndRecords(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	meta := http.Header{"Metadata": {"true"}}
	u := emu.ManagedIdentityURL("imds") + "?api-version=2018-02-01&resource=r&claims=%7B%7D"
	emu.InjectFault(entratest.Fault{Endpoint: "app_service", Status: 500}) // another source
	emu.InjectFault(entratest.Fault{Endpoint: "imds", Status: 429, Times: 2, RetryAfter: "3"})
	emu.InjectFault(entratest.Fault{Endpoint: "imds", Body: []byte(`{"access_token":`)})
	emu.InjectFault(entratest.Fault{Endpoint: "imds", Delay: 20 * time.Millisecond})
	for i, want := range []int{429, 429, 200, 200, 200} {
		a := miDo(t, emu, "GET", u, meta, nil)
		if a.status != want {
			t.Fatalf("request %d: status %d, want %d", i, a.status, want)
		}
		switch i {
		case 0, 1:
			if a.header.Get("Retry-After") != "3" || a.body["error"] == nil {
				t.Errorf("request %d: %v %v", i, a.header, a.body)
			}
		case 2:
			if a.body != nil {
				t.Errorf("the malformed body was not sent: %v", a.body)
			}
		default:
			if a.body["access_token"] == nil {
				t.Errorf("request %d: %v", i, a.body)
			}
		}
	}
	reqs := emu.Requests("imds")
	if len(reqs) != 5 || reqs[0].RawQuery != "api-version=2018-02-01&resource=r&claims=%7B%7D" ||
		reqs[0].Query.Get("claims") != "{}" || reqs[0].Header.Get("Metadata") != "true" || reqs[0].Method != "GET" {
		t.Errorf("records %+v", reqs)
	}
	if a := miDo(t, emu, "GET", emu.ManagedIdentityURL("app_service")+"?api-version=2019-08-01&resource=r",
		http.Header{"X-Identity-Header": {identityHeader(emu)}}, nil); a.status != 500 || a.body["statusCode"] != float64(500) {
		t.Errorf("App Service fault: %d %v", a.status, a.body)
	}
}

func TestManagedIdentityEnv(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	want := map[string][]string{
		"imds":             {"AZURE_POD_IDENTITY_AUTHORITY_HOST"},
		"app_service":      {"IDENTITY_ENDPOINT", "IDENTITY_HEADER"},
		"azure_arc":        {"IDENTITY_ENDPOINT", "IMDS_ENDPOINT"},
		"cloud_shell":      {"MSI_ENDPOINT"},
		"service_fabric":   {"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT"},
		"machine_learning": {"MSI_ENDPOINT", "MSI_SECRET", "DEFAULT_IDENTITY_CLIENT_ID"},
	}
	for src, names := range want {
		env := emu.ManagedIdentityEnv(src)
		if len(env) != len(names) {
			t.Errorf("%s: %v", src, env)
		}
		for _, k := range names {
			if env[k] == "" {
				t.Errorf("%s: %s unset", src, k)
			}
		}
	}
	if env := emu.ManagedIdentityEnv("token"); len(env) != 0 {
		t.Errorf("an endpoint that is no source has an environment: %v", env)
	}
}

func ExampleEmulator_ManagedIdentityURL() {
	emu, err := entratest.New(entratest.Options{})
	if err != nil {
		panic(err)
	}
	defer emu.Close()
	req, _ := http.NewRequest("GET", emu.ManagedIdentityURL("imds")+"?api-version=2018-02-01&resource=https://vault.azure.net", nil)
	req.Header.Set("Metadata", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	fmt.Println(resp.StatusCode, body["token_type"], body["resource"], len(emu.Requests("imds")))
	// Output: 200 Bearer https://vault.azure.net 1
}

// TestManagedIdentityTokenIdentity checks that a token names the identity
// its request selected, in the claims a resource reads.
func TestManagedIdentityTokenIdentity(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	meta := http.Header{"Metadata": {"true"}}
	imds := func(selector string) map[string]any {
		t.Helper()
		a := miDo(t, emu, "GET", emu.ManagedIdentityURL("imds")+"?api-version=2018-02-01&resource=r"+selector, meta, nil)
		claims, err := emu.VerifyAccessToken(fmt.Sprint(a.body["access_token"]))
		if err != nil || claims["aud"] != "r" || claims["appid"] != a.body["client_id"] {
			t.Fatalf("%q: %v, claims %v, answer %v", selector, err, claims, a.body)
		}
		return claims
	}
	system := imds("")
	if system["appid"] != emu.DefaultIdentityClientID() || system["idtyp"] != "app" {
		t.Errorf("system-assigned claims %v", system)
	}
	if c := imds("&client_id=c1"); c["appid"] != "c1" || c["oid"] == system["oid"] {
		t.Errorf("client_id claims %v", c)
	}
	if c := imds("&object_id=o1"); c["oid"] != "o1" || c["appid"] == system["appid"] {
		t.Errorf("object_id claims %v", c)
	}
	if c := imds("&msi_res_id=/s/x"); c["xms_mirid"] != "/s/x" || c["oid"] == system["oid"] {
		t.Errorf("msi_res_id claims %v", c)
	}
	if a, b := imds("&client_id=c2"), imds("&client_id=c2"); a["oid"] != b["oid"] {
		t.Errorf("one identity, two object ids: %v, %v", a["oid"], b["oid"])
	}
}

// TestServiceFabricIgnoresUnknownParameters checks the real service's
// trap: a user-assigned identity is named by principalId (api-version
// 2020-05-01) only; object_id, client_id and the rest are ignored, and the
// answer is the system-assigned identity's token, with no error.
func TestServiceFabricIgnoresUnknownParameters(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	secret := http.Header{"Secret": {identityHeader(emu)}}
	oid := func(query string) any {
		t.Helper()
		a := miDo(t, emu, "GET", emu.ManagedIdentityURL("service_fabric")+"?resource=r&"+query, secret, nil)
		claims, err := emu.VerifyAccessToken(fmt.Sprint(a.body["access_token"]))
		if a.status != 200 || err != nil {
			t.Fatalf("%s: %d %v %v", query, a.status, a.body, err)
		}
		return claims["oid"]
	}
	system := oid("api-version=2020-05-01")
	if got := oid("api-version=2020-05-01&principalId=p1"); got != "p1" {
		t.Errorf("principalId: oid %v, want p1", got)
	}
	for _, query := range []string{
		"api-version=2020-05-01&object_id=p1",
		"api-version=2020-05-01&client_id=c1",
		"api-version=2020-05-01&mi_res_id=/s/x&unknown=1",
		"api-version=2019-07-01-preview&principalId=p1", // not known before 2020-05-01
	} {
		if got := oid(query); got != system {
			t.Errorf("%s: oid %v, want the system-assigned %v", query, got, system)
		}
	}
}

// TestManagedIdentityArcOwnFolder checks the folder the emulator makes for
// itself: there at the first challenge, gone after Close.
func TestManagedIdentityArcOwnFolder(t *testing.T) {
	t.Parallel()
	emu, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	first := miDo(t, emu, "GET", emu.ManagedIdentityURL("azure_arc")+"?api-version=2020-06-01&resource=r", http.Header{"Metadata": {"true"}}, nil)
	realm, _ := strings.CutPrefix(first.header.Get("WWW-Authenticate"), "Basic realm=")
	if _, err := os.Stat(realm); first.status != 401 || err != nil || filepath.Dir(realm) != emu.ArcTokenDir() {
		t.Fatalf("challenge %d %q: %v", first.status, realm, err)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(realm)); !os.IsNotExist(err) {
		t.Errorf("the folder is left after Close: %v", err)
	}
}
