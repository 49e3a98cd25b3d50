package cache_test

import (
	"context"
	"fmt"
	"log"
	"sync"

	"github.com/entra-go/entra/cache"
	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/credential"
	"github.com/entra-go/entra/entratest"
)

// table is a Storage over one row of a database, here a variable: Update
// runs under a lock, as a database transaction would.
type table struct {
	mu  sync.Mutex
	row []byte
}

func (t *table) Load(context.Context, string) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.row, nil
}

func (t *table) Update(_ context.Context, _ string, change func([]byte) ([]byte, error)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	next, err := change(t.row)
	if err != nil {
		return err // nothing is written
	}
	t.row = next
	return nil
}

func ExampleStorage() {
	em, err := entratest.New(entratest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer em.Close()
	var store cache.Storage = &table{}
	// Two instances of a service share the storage, as processes would.
	instance := func() *confidential.Client {
		secret, _ := credential.NewSecret(em.DefaultClient().Secret)
		c, err := confidential.New(confidential.Config{Authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
			ClientID: em.DefaultClient().ID, Credential: secret, HTTPClient: em.HTTPClient(), Cache: store})
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	req := confidential.TokenRequest{Scopes: []string{"https://graph.microsoft.com/.default"}}
	first, _ := instance().AcquireTokenForClient(context.Background(), req)
	second, _ := instance().AcquireTokenForClient(context.Background(), req)
	fmt.Println(first.FromCache, second.FromCache, first.AccessToken == second.AccessToken)
	// Output: false true true
}
