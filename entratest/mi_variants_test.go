package entratest_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/entra-go/entra/entratest"
)

// TestManagedIdentityVariants: what real clients send that the real
// endpoints accept, and what they still refuse.
func TestManagedIdentityVariants(t *testing.T) {
	t.Parallel()
	emu := miStart(t, entratest.Options{})
	meta := http.Header{"Metadata": {"true"}}
	form := func(ct string) http.Header {
		h := meta.Clone()
		h.Set("Content-Type", ct)
		return h
	}
	imds := emu.ManagedIdentityURL("imds")
	tests := []struct {
		name, method, url string
		header            http.Header
		form              url.Values
		status            int
	}{
		{"IMDS", "GET", imds + "?api-version=2018-02-01&resource=r", meta, nil, 200},
		{"IMDS with a trailing slash (MSAL Node)", "GET", imds + "/?api-version=2018-02-01&resource=r", meta, nil, 200},
		{"IMDS below the token path", "GET", imds + "/more?api-version=2018-02-01&resource=r", meta, nil, 404},
		{"Cloud Shell form", "POST", emu.ManagedIdentityURL("cloud_shell"), form("application/x-www-form-urlencoded"), url.Values{"resource": {"r"}}, 200},
		{"Cloud Shell form with charset (MSAL Node)", "POST", emu.ManagedIdentityURL("cloud_shell"), form("application/x-www-form-urlencoded;charset=utf-8"), url.Values{"resource": {"r"}}, 200},
		{"Cloud Shell form with spaced parameter", "POST", emu.ManagedIdentityURL("cloud_shell"), form("Application/X-WWW-Form-Urlencoded; charset=UTF-8"), url.Values{"resource": {"r"}}, 200},
		{"Cloud Shell JSON", "POST", emu.ManagedIdentityURL("cloud_shell"), form("application/json"), url.Values{"resource": {"r"}}, 400},
		{"Cloud Shell malformed media type", "POST", emu.ManagedIdentityURL("cloud_shell"), form("application/x-www-form-urlencoded;;"), url.Values{"resource": {"r"}}, 400},
	}
	for _, tt := range tests {
		a := miDo(t, emu, tt.method, tt.url, tt.header, tt.form)
		if a.status != tt.status {
			t.Errorf("%s: %d %v, want %d", tt.name, a.status, a.body, tt.status)
		}
		if tt.status == 200 && a.body["access_token"] == nil {
			t.Errorf("%s: no token in %v", tt.name, a.body)
		}
	}
}
