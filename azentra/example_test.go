package azentra_test

import (
	"fmt"
	"log"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/entra-go/entra/azentra"
	"github.com/entra-go/entra/managedidentity"
)

// An Azure SDK client (Key Vault, Storage, ...) takes the credential as
// any azcore.TokenCredential.
func ExampleManagedIdentity() {
	mi, err := managedidentity.New(managedidentity.Config{Source: managedidentity.SourceIMDS})
	if err != nil {
		log.Fatal(err)
	}
	var cred azcore.TokenCredential = azentra.ManagedIdentity(mi)
	// client, err := azsecrets.NewClient("https://myvault.vault.azure.net", cred, nil)
	fmt.Printf("%T\n", cred)
	// Output: *azentra.Credential
}
