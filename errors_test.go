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
	cause := context.DeadlineExceeded
	tests := []struct {
		err  *Error
		want string
	}{
		{Errorf(CodeInvalidAuthority, "authority must use https"), "invalid_authority: authority must use https"},
		{WrapError(CodeCanceled, cause, "the request was abandoned"), "canceled: the request was abandoned: context deadline exceeded"},
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

func TestErrorMatching(t *testing.T) {
	err := fmt.Errorf("acquiring: %w", WrapError(CodeCanceled, context.Canceled, "abandoned"))
	if !errors.Is(err, &Error{Code: CodeCanceled}) || errors.Is(err, &Error{Code: CodeTransport}) {
		t.Fatal("errors.Is does not match on Code")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatal("the cause is not reachable")
	}
	if ErrorCode(err) != CodeCanceled || ErrorCode(errors.New("x")) != "" {
		t.Fatal("ErrorCode")
	}
}

func TestTokenNeverPrintsItself(t *testing.T) {
	tok := Token{AccessToken: "eyJ.secret-token.sig", TokenType: TokenTypeBearer, ExpiresOn: time.Now()}
	var logs strings.Builder
	claimsErr := &Error{Code: "interaction_required", Claims: `{"secret-token":1}`}
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("t", "token", tok, "err", claimsErr)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("t", "token", tok, "err", claimsErr)
	out := fmt.Sprintf("%v %+v %#v %s %x %q", tok, tok, tok, tok, tok, tok) + logs.String()
	if strings.Contains(out, "secret-token") {
		t.Fatalf("token printed: %s", out)
	}
	if got := tok.AuthorizationHeader(); got != "Bearer eyJ.secret-token.sig" {
		t.Fatalf("header %q", got)
	}
}
