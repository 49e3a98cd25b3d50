module github.com/entra-go/entra/examples/webapp

go 1.26.0

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/entra-go/entra v0.0.0
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	software.sslmate.com/src/go-pkcs12 v0.7.4 // indirect
)

replace github.com/entra-go/entra => ../../
