package authority_test

import (
	"context"
	"fmt"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/authority"
)

func ExampleParse() {
	for _, raw := range []string{
		"https://login.windows.net/Contoso.onmicrosoft.com/",
		"https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_SignIn",
		"https://adfs.contoso.com/adfs",
	} {
		a, err := authority.Parse(raw, authority.KindAuto)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(a.Kind, a, a.CacheEnvironment())
	}

	_, err := authority.Parse("http://login.microsoftonline.com/common", authority.KindAuto)
	fmt.Println(entra.ErrorCode(err), err)
	// Output:
	// aad https://login.windows.net/contoso.onmicrosoft.com login.windows.net
	// b2c https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin contoso.b2clogin.com
	// adfs https://adfs.contoso.com/adfs adfs.contoso.com
	// invalid_authority invalid_authority: authority must use https
}

func ExampleResolver_Resolve() {
	// Known clouds need no network call; an explicit region needs no
	// detection either.
	r, err := authority.NewResolver(authority.ResolverConfig{Region: "westus2"})
	if err != nil {
		panic(err)
	}
	a, err := authority.Parse("https://login.microsoftonline.com/contoso.onmicrosoft.com", authority.KindAuto)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, opts := range []authority.ResolveOptions{
		{},                           // a user flow: global endpoint
		{Regional: true},             // client credentials: regional endpoint
		{Regional: true, MTLS: true}, // client credentials over mutual TLS
	} {
		e, err := r.Resolve(ctx, a, opts)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%q %s\n", e.Region, e.Token)
	}
	// Output:
	// "" https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token
	// "westus2" https://westus2.login.microsoft.com/contoso.onmicrosoft.com/oauth2/v2.0/token
	// "westus2" https://westus2.mtlsauth.microsoft.com/contoso.onmicrosoft.com/oauth2/v2.0/token
}
