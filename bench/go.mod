module github.com/entra-go/entra/bench

go 1.26.0

replace github.com/entra-go/entra => ../

replace github.com/entra-go/entra/redisstore => ../redisstore

require (
	github.com/AzureAD/microsoft-authentication-library-for-go v1.10.1
	github.com/entra-go/entra v0.0.0-00010101000000-000000000000
	github.com/entra-go/entra/redisstore v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.2.2 // indirect
	github.com/google/uuid v1.3.0 // indirect
	github.com/kylelemons/godebug v1.1.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	software.sslmate.com/src/go-pkcs12 v0.7.4 // indirect
)
