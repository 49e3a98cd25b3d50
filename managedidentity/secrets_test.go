package managedidentity_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/entratest"
	"github.com/entra-go/entra/managedidentity"
)

// Host secrets, tokens and claims reach neither errors, nor log records,
// nor String output — also when a server echoes them back.
func TestSecretsStayOut(t *testing.T) {
	t.Parallel()
	emu := startEmulator(t, entratest.Options{})
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	secrets := []string{emu.ManagedIdentityEnv("app_service")["IDENTITY_HEADER"], emu.ManagedIdentityEnv("machine_learning")["MSI_SECRET"], nsp, nspEncoded}
	for _, src := range miSources() {
		t.Run(string(src), func(t *testing.T) {
			emu.ResetRequests()
			c, _ := newClient(t, emu, src, func(cfg *managedidentity.Config) {
				cfg.Logger = logger
				cfg.EnableClientClaims = true
			})
			req := managedidentity.TokenRequest{Resource: resource, Claims: `{"access_token":{"nbf":{"value":"challenge-9f"}}}`}
			if src == "imds" {
				req.ClientClaims = nsp
			}
			tok, err := c.AcquireToken(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, tok.AccessToken)
			for _, r := range emu.Requests() {
				if a := r.Header.Get("Authorization"); a != "" {
					secrets = append(secrets, strings.TrimPrefix(a, "Basic "))
				}
			}
			if _, err := c.AcquireToken(ctx, managedidentity.TokenRequest{Resource: resource}); err != nil {
				t.Fatal(err)
			}
			for _, v := range []any{tok, &tok, req, &req, c} {
				for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
					out := fmt.Sprintf(format, v)
					for _, s := range append(secrets, "challenge-9f") {
						if strings.Contains(out, s) {
							t.Errorf("%s of %T reveals %.12q…: %s", format, v, s, out)
						}
					}
				}
			}

			// A server that echoes the request in its error.
			own := map[string][]string{
				"imds":             {nsp, nspEncoded},
				"app_service":      {emu.ManagedIdentityEnv("app_service")["IDENTITY_HEADER"]},
				"service_fabric":   {emu.ManagedIdentityEnv("app_service")["IDENTITY_HEADER"]},
				"machine_learning": {emu.ManagedIdentityEnv("machine_learning")["MSI_SECRET"]},
			}[src]
			if own == nil {
				return // Arc and Cloud Shell send no secret but the Arc answer, checked above
			}
			echo := "echo " + strings.Join(own, " ")
			body := fmt.Sprintf(`{"error":"invalid_request","error_description":%q}`, echo)
			switch src {
			case "app_service", "machine_learning":
				body = fmt.Sprintf(`{"statusCode":400,"message":%q,"correlationId":%q}`, echo, own[0])
			case "service_fabric":
				body = fmt.Sprintf(`{"error":{"code":"ArgumentInvalid","message":%q}}`, echo)
			}
			emu.InjectFault(entratest.Fault{Endpoint: src, Status: 400, Body: []byte(body)})
			req.ForceRefresh = true
			_, err = c.AcquireToken(ctx, req)
			var e *entra.Error
			if !strings.Contains(fmt.Sprint(err), "[redacted]") {
				t.Errorf("error %v: the echo was not redacted", err)
			}
			if e = wantCode(t, err, entra.ErrorCode(err)); e.StatusCode != 400 {
				t.Errorf("status %d", e.StatusCode)
			}
			text := fmt.Sprintf("%v %+v %s %s %s", err, e, e.Message, e.Description, e.CorrelationID)
			for _, s := range own {
				if strings.Contains(text, s) {
					t.Errorf("error reveals %.12q…: %s", s, text)
				}
			}
		})
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged")
	}
	for _, s := range append(secrets, "challenge-9f", "xms_az_nwperimid") {
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs reveal %.12q…", s)
		}
	}
}
