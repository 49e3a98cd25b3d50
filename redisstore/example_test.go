package redisstore_test

import (
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/entra-go/entra/confidential"
	"github.com/entra-go/entra/redisstore"
)

func ExampleNew() {
	// Every instance of a service shares the tokens in Redis (a single
	// node, a cluster or Sentinel: any redis.UniversalClient).
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	store := redisstore.New(rdb, redisstore.Options{})
	client, err := confidential.New(confidential.Config{ /* authority, client id, credential */ Cache: store})
	if err != nil {
		log.Print(err) // here: the example has no credential
		return
	}
	defer client.Close()
}
