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

func ExampleNew_cluster() {
	// On Redis Cluster, each partition is one key and each write a
	// transaction on that key, so nothing spans slots. Keys expire with
	// what they hold; no TTL is needed.
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"redis-0:6379", "redis-1:6379", "redis-2:6379"}})
	store := redisstore.New(rdb, redisstore.Options{Prefix: "myservice:entra:"})
	client, err := confidential.New(confidential.Config{ /* authority, client id, credential */ Cache: store})
	if err != nil {
		log.Print(err) // here: the example has no credential
		return
	}
	defer client.Close()
}
