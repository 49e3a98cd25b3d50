package managedidentity_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

func ExampleNew() {
	// App Service sets IDENTITY_ENDPOINT and IDENTITY_HEADER. Getenv is
	// os.Getenv when nil; a map stands in for the host here.
	appService := map[string]string{
		"IDENTITY_ENDPOINT": "http://127.0.0.1:41741/msi/token",
		"IDENTITY_HEADER":   "853b9a84-5bfa-4b22-a3f3-0b9a43d9ad8a",
	}
	c, err := managedidentity.New(managedidentity.Config{
		ID:     managedidentity.UserAssignedClientID("00000000-0000-0000-0000-00000000c11d"),
		Getenv: func(name string) string { return appService[name] },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Source())

	// Azure Arc has only a system-assigned identity: New says so before
	// any request is made.
	arc := map[string]string{"IDENTITY_ENDPOINT": "http://localhost:40342/metadata/identity/oauth2/token", "IMDS_ENDPOINT": "http://localhost:40342"}
	_, err = managedidentity.New(managedidentity.Config{
		ID:     managedidentity.UserAssignedClientID("00000000-0000-0000-0000-00000000c11d"),
		Getenv: func(name string) string { return arc[name] },
	})
	fmt.Println(err)
	// Output:
	// App Service
	// invalid_argument: the Azure Arc source cannot select a user-assigned identity by client id; it supports only the system-assigned identity
}

func ExampleClient_AcquireToken() {
	// The emulator plays IMDS; on an Azure virtual machine,
	// managedidentity.New(managedidentity.Config{}) is all it takes.
	emu, err := entratest.New(entratest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer emu.Close()
	c, err := managedidentity.New(managedidentity.Config{Getenv: emu.Getenv("imds")})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	req := managedidentity.TokenRequest{Resource: "https://management.azure.com/.default"}
	tok, err := c.AcquireToken(ctx, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Source(), tok.TokenType, tok.Scopes, "from the cache:", tok.FromCache)
	fmt.Println(strings.HasPrefix(tok.AuthorizationHeader(), "Bearer "))

	// The second call is served from the client's cache.
	tok, _ = c.AcquireToken(ctx, req)
	fmt.Println("from the cache:", tok.FromCache)
	// Output:
	// IMDS Bearer [https://management.azure.com] from the cache: false
	// true
	// from the cache: true
}

func ExampleTokenRequest_clientClaims() {
	emu, err := entratest.New(entratest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer emu.Close()
	c, err := managedidentity.New(managedidentity.Config{
		Getenv:             emu.Getenv("imds"),
		EnableClientClaims: true, // experimental
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.AcquireToken(context.Background(), managedidentity.TokenRequest{
		Resource:     "https://management.azure.com",
		ClientClaims: `{ "xms_az_nwperimid": { "essential": true } }`,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// IMDS receives the canonical claims, percent-encoded.
	fmt.Println(emu.Requests()[0].RawQuery)
	// Output:
	// api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com&claims=%7B%22xms_az_nwperimid%22%3A%7B%22essential%22%3Atrue%7D%7D
}
