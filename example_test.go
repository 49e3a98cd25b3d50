package entra_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/entra-go/entra"
)

func ExampleErrorCode() {
	// Every failure is an *entra.Error; its Code is stable, its Message for people.
	var err error = &entra.Error{Code: entra.CodeTimeout, Message: "no answer within the time budget"}
	switch entra.ErrorCode(fmt.Errorf("acquiring: %w", err)) {
	case entra.CodeTimeout, entra.CodeTransport:
		fmt.Println("retry later")
	case entra.CodeInteractionRequired:
		fmt.Println("sign the user in again")
	}
	// Output: retry later
}

func ExampleError_claimsChallenge() {
	// A resource answered 401 with a claims challenge: pass e.Claims back as
	// the next token request's Claims. The challenge is never printed.
	var err error = &entra.Error{Code: "interaction_required", StatusCode: 400, Claims: `{"access_token":{"acrs":{"essential":true}}}`}
	var e *entra.Error
	if errors.As(err, &e) && e.Claims != "" {
		fmt.Printf("%v\n%#v\n", e, e)
	}
	// Output:
	// interaction_required (HTTP 400)
	// &entra.Error{Code:"interaction_required", StatusCode:400, Message:"", CorrelationID:"", RetryAfter:0s}
}

func ExampleToken() {
	tok := entra.Token{AccessToken: "eyJ...", TokenType: entra.TokenTypeBearer,
		ExpiresOn: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	fmt.Println(tok.AuthorizationHeader()) // for the request to the resource
	fmt.Println(tok)                       // never the token itself
	// Output:
	// Bearer eyJ...
	// entra.Token{type=Bearer expires=2026-12-01T12:00:00Z source=identity_provider}
}
