module github.com/entra-go/entra/xoauth2

go 1.26.0

require (
	github.com/entra-go/entra v0.0.0
	golang.org/x/oauth2 v0.38.0
)

require (
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	software.sslmate.com/src/go-pkcs12 v0.7.4 // indirect
)

replace github.com/entra-go/entra => ../
