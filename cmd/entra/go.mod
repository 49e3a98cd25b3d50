module github.com/entra-go/entra/cmd/entra

go 1.26.0

replace github.com/entra-go/entra => ../../

require github.com/entra-go/entra v0.0.0-00010101000000-000000000000

require (
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	software.sslmate.com/src/go-pkcs12 v0.7.4 // indirect
)
