module github.com/entra-go/entra

go 1.26.0

require (
	github.com/go-jose/go-jose/v4 v4.1.8
	golang.org/x/sync v0.24.0
	software.sslmate.com/src/go-pkcs12 v0.7.4
)

require golang.org/x/crypto v0.58.0
