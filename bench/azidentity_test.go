package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// azidentityTenants are the tenant counts azidentity is measured at:
// filling its cache (MSAL Go's, underneath) through its API costs O(N²).
var azidentityTenants = []int{1, 1000}

// BenchmarkAzidentityCacheHit is BenchmarkClientCredentialsCacheHit for
// azidentity's ClientSecretCredential, the Azure SDK's credential, over
// the same in-process token service.
func BenchmarkAzidentityCacheHit(b *testing.B) {
	ctx := context.Background()
	for _, n := range azidentityTenants {
		b.Run(fmt.Sprintf("impl=azidentity/tenants=%d", n), func(b *testing.B) {
			svc := &tokenService{}
			cred := newAzidentityCredential(b, svc)
			for i := range n {
				if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: scopes, TenantID: tenantID(i)}); err != nil {
					b.Fatal(err)
				}
			}
			opts := policy.TokenRequestOptions{Scopes: scopes, TenantID: tenantID(n / 2)}
			measureHits(b, svc, func() error { _, err := cred.GetToken(ctx, opts); return err })
		})
	}
}

func newAzidentityCredential(tb testing.TB, svc *tokenService) *azidentity.ClientSecretCredential {
	cred, err := azidentity.NewClientSecretCredential(tenantID(0), clientID, "bench-secret", &azidentity.ClientSecretCredentialOptions{
		ClientOptions:              azcore.ClientOptions{Transport: svc.client()},
		DisableInstanceDiscovery:   true,
		AdditionallyAllowedTenants: []string{"*"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return cred
}
