package managedidentity_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"net/http"

	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

func ExampleTokenRequest_mTLSPoP() {
	// The emulator plays an IMDSv2 host and the regional mTLS token host.
	// On an Azure VM, managedidentity.Config{} is enough: the default
	// MTLSHTTPClient reaches the real host.
	emu, err := entratest.New(entratest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer emu.Close()
	c, err := managedidentity.New(managedidentity.Config{
		Getenv: emu.Getenv("imds"),
		// A hardware key plugs in here: any crypto.Signer of an RSA-2048
		// key that signs RSASSA-PSS. nil makes an in-memory key.
		KeySource: func(context.Context) (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) },
		MTLSHTTPClient: func(cert *tls.Certificate) (*http.Client, error) {
			return &http.Client{Transport: emu.TransportWithCertificate(cert)}, nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx := context.Background()
	capability, err := c.Capability(ctx)
	fmt.Println(capability, err)
	req := managedidentity.TokenRequest{Resource: "https://vault.azure.net", MTLSPoP: true}
	tok, err := c.AcquireToken(ctx, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The request to the resource must present the binding certificate
	// (httpauth.Transport does).
	fmt.Println(tok.TokenType, tok.BindingCertificate.Leaf.Subject.CommonName == emu.DefaultIdentityClientID())
	tok, _ = c.AcquireToken(ctx, req)
	fmt.Println(tok.FromCache)
	// Output:
	// IMDS v2 with mTLS PoP <nil>
	// mtls_pop true
	// true
}
