package xoauth2_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/httpauth"
	"github.com/entra-go/entra/xoauth2"
)

// TestThroughOAuth2Transport: x/oauth2's own transport carries a
// confidential client's token; the second call is served from the cache.
func TestThroughOAuth2Transport(t *testing.T) {
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	secret, _ := credential.NewSecret(em.DefaultClient().Secret)
	app, err := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
		ClientID: em.DefaultClient().ID, Credential: secret, HTTPClient: em.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
	}))
	defer api.Close()
	ts := xoauth2.TokenSource(context.Background(),
		httpauth.ForClient(app, confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}}), 0)
	client := oauth2.NewClient(context.Background(), ts)
	for range 2 {
		resp, err := client.Get(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	tok, err := ts.Token()
	if err != nil || tok.TokenType != "Bearer" || !tok.Expiry.After(time.Now()) || len(seen) != 2 || seen[0] != "Bearer "+tok.AccessToken {
		t.Fatalf("token %v %v, API saw %q", tok != nil, err, seen)
	}
	if n := len(em.Requests("token")); n != 1 {
		t.Fatalf("%d token requests, want 1", n)
	}
}

func TestRefusesPoPAndBoundsTheCall(t *testing.T) {
	pop := xoauth2.TokenSource(context.Background(), func(context.Context, string) (entra.Token, error) {
		return entra.Token{AccessToken: "t", TokenType: entra.TokenTypeMTLSPoP}, nil
	}, 0)
	if _, err := pop.Token(); entra.ErrorCode(err) != entra.CodeTokenTypeMismatch {
		t.Fatalf("a PoP token: %v", err)
	}
	slow := xoauth2.TokenSource(context.Background(), func(ctx context.Context, _ string) (entra.Token, error) {
		<-ctx.Done()
		return entra.Token{}, ctx.Err()
	}, 50*time.Millisecond)
	start := time.Now()
	if _, err := slow.Token(); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("%v after %s", err, time.Since(start))
	}
}
