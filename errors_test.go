package entra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Code: CodeInvalidAuthority, Message: "authority must use https"}, "invalid_authority: authority must use https"},
		{&Error{Code: CodeCanceled, Message: "the request was abandoned", Err: context.DeadlineExceeded},
			"canceled: the request was abandoned: context deadline exceeded"},
		{&Error{Code: "invalid_client", Message: "AADSTS7000215: Invalid client secret provided.", StatusCode: 401, CorrelationID: "c1",
			Claims: `{"access_token":{"acrs":{"value":"c1"}}}`}, "invalid_client: AADSTS7000215: Invalid client secret provided. (HTTP 401, correlation id c1)"},
		{&Error{Code: "server_error", Description: "only a description", StatusCode: 500}, "server_error: only a description (HTTP 500)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorCode(t *testing.T) {
	err := fmt.Errorf("acquiring: %w", &Error{Code: CodeCanceled, Err: context.Canceled})
	if ErrorCode(err) != CodeCanceled || ErrorCode(errors.New("x")) != "" || ErrorCode(nil) != "" {
		t.Fatal("ErrorCode does not find the code in the chain")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatal("the cause is not reachable")
	}
}

func TestNothingSecretIsPrinted(t *testing.T) {
	tok := Token{AccessToken: "eyJ.secret-token.sig", TokenType: TokenTypeBearer, ExpiresOn: time.Now()}
	claimsErr := &Error{Code: "interaction_required", Claims: `{"secret-claims":1}`, StatusCode: 401}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("t", "token", tok, "err", claimsErr)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("t", "token", tok, "err", claimsErr)
	out := fmt.Sprintf("%v %+v %#v %s %x %q", tok, tok, tok, tok, tok, tok) +
		fmt.Sprintf("%v %+v %#v %s", claimsErr, claimsErr, claimsErr, claimsErr) + logs.String()
	for _, secret := range []string{"secret-token", "secret-claims"} {
		if strings.Contains(out, secret) {
			t.Fatalf("%s printed: %s", secret, out)
		}
	}
	if !strings.Contains(out, "interaction_required") || !strings.Contains(out, "expires=") {
		t.Fatalf("nothing useful printed: %s", out)
	}
	if got := tok.AuthorizationHeader(); got != "Bearer eyJ.secret-token.sig" {
		t.Fatalf("header %q", got)
	}
}
