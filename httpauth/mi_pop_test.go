package httpauth_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/entra-go/entra/httpauth"
	"github.com/entra-go/entra/managedidentity"
)

// A managed identity's mTLS PoP token (IMDSv2) reaches the resource over
// a connection presenting its certificate, and a CAE challenge is
// answered with a token whose request carried the claims and cp1.
func TestManagedIdentityPoP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mi, err := managedidentity.New(managedidentity.Config{
		Getenv:             w.em.Getenv("imds"),
		ClientCapabilities: []string{"cp1"},
		MTLSHTTPClient: func(cert *tls.Certificate) (*http.Client, error) {
			return &http.Client{Transport: w.em.TransportWithCertificate(cert), Timeout: 10 * time.Second}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer mi.Close()
	token := httpauth.ForManagedIdentity(mi, managedidentity.TokenRequest{Resource: "api://entratest-resource", MTLSPoP: true})
	tr := w.transport(token)
	get := func() (*http.Response, answer) {
		req, _ := http.NewRequest(http.MethodGet, w.em.ResourceURL()+"/items", nil)
		return call(t, tr, req)
	}
	if resp, a := get(); resp.StatusCode != 200 || a.TokenType != "pop" || !a.Bound {
		t.Fatalf("status %d, answer %+v", resp.StatusCode, a)
	}
	tok, err := token(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := w.em.Requests("resource")[0].ClientCertificate; got == nil || !got.Equal(tok.BindingCertificate.Leaf) {
		t.Fatal("the resource did not see the binding certificate")
	}
	w.revoke()
	if resp, a := get(); resp.StatusCode != 200 || !a.Bound {
		t.Fatalf("after the revocation: status %d, answer %+v", resp.StatusCode, a)
	}
	tokens := w.em.Requests("token")
	if len(tokens) != 2 {
		t.Fatalf("%d token requests, want 2", len(tokens))
	}
	if c := tokens[1].Form.Get("claims"); !strings.Contains(c, `"nbf"`) || !strings.Contains(c, `"cp1"`) {
		t.Fatalf("the second token request's claims: %s", c)
	}
	if n := len(w.em.IssuedCredentials()); n != 1 {
		t.Fatalf("%d certificates minted, want 1", n)
	}
}
