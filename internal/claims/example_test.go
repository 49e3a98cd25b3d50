package claims_test

import (
	"fmt"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/claims"
)

func ExampleCanonicalize() {
	canonical, err := claims.Canonicalize(`{ "b" : 1, "a" : {"y":[{"d":1,"c":2}],"x":1.50} }`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(canonical)

	// Errors name the problem, never the claims text.
	_, err = claims.Canonicalize(`{"secret":1,"secret":2}`)
	fmt.Println(err)
	fmt.Println(entra.ErrorCode(err) == entra.CodeInvalidJSONClaims)
	// Output:
	// {"a":{"x":1.50,"y":[{"c":2,"d":1}]},"b":1}
	// invalid_json_claims_format: duplicate key in claims JSON
	// true
}

func ExampleMerge() {
	// A server's claims challenge, then the caller's own claims.
	server := `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`
	client := `{"access_token":{"xms_az_nwperimid":{"essential":true},"nbf":null}}`
	merged, err := claims.Merge(server, client)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(merged)
	// Output:
	// {"access_token":{"nbf":{"essential":true,"value":"1700000000"},"xms_az_nwperimid":{"essential":true}}}
}

func ExampleWithCapabilities() {
	withCaps, err := claims.WithCapabilities(`{"access_token":{"nbf":{"essential":true,"value":"1"}}}`, []string{"cp1", "cp2"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(withCaps)
	// Output:
	// {"access_token":{"nbf":{"essential":true,"value":"1"},"xms_cc":{"values":["cp1","cp2"]}}}
}

func ExampleKeyHash() {
	a, _ := claims.Canonicalize(`{"b":1, "a":2}`)
	b, _ := claims.Canonicalize(`{"a":2,"b":1}`)
	fmt.Println(claims.KeyHash(a) == claims.KeyHash(b), len(claims.KeyHash(a)))
	fmt.Printf("%q\n", claims.KeyHash(""))
	// Output:
	// true 43
	// ""
}
