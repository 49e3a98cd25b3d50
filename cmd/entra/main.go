// Command entra gets tokens from Microsoft Entra ID, runs a local emulator
// of it, and demonstrates the library end to end.
//
//	entra token client-credentials --authority URL --client-id ID --secret-env NAME [--scope S]...
//	entra token obo --authority URL --client-id ID --cert PATH --user-assertion TOKEN [--scope S]...
//	entra token managed-identity --resource R [--client-id|--resource-id|--object-id ID] [--source S]
//	entra token auth-code|refresh|silent ... [--cache FILE]
//	entra http [-X METHOD] [-H 'Name: value']... [--data @FILE|-] [-i] [token flags | --managed-identity] URL
//	entra auth-url --authority URL --client-id ID --redirect-uri URI [-o json]
//	entra accounts list|remove --authority URL --client-id ID --cache FILE
//	entra emulator [--addr HOST:PORT] [--dir DIR] [--config FILE] [-o json]
//	entra demo
//
// Wherever --cache is taken, --cache-key-env NAME or --cache-key-file PATH
// encrypts the file (AES-256-GCM, a 32-byte key; see package cache/encrypted).
//
// Errors exit with status 1 and print "entra: <code>: <message>" on
// stderr; usage errors exit with status 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/entra-go/entra"
)

const usage = `usage:
  entra token client-credentials [flags]   app token (client credentials grant)
  entra token obo [flags]                  on-behalf-of token for a user assertion
  entra token managed-identity [flags]     token for the host's managed identity
  entra token auth-code [flags]            redeem an authorization code for a user's tokens
  entra token refresh [flags]              redeem a refresh token
  entra token silent [flags]               a cached user's token, refreshed if needed
  entra http [flags] URL                   call a URL with a token (Bearer or mTLS PoP; CAE answered)
  entra auth-url [flags]                   sign-in URL with PKCE, state and nonce
  entra accounts list|remove [flags]       accounts in a cache file
  entra emulator [flags]                   run the local emulator: token service, sign-in, managed identity
  entra demo                               run every flow against an embedded emulator

Run "entra token client-credentials -h" for the flags of a command.
Every command takes --verbose, which prints the library's debug log on
stderr (never a secret or token). With OTEL_EXPORTER_OTLP_ENDPOINT set
(or its TRACES or METRICS form), a command's spans and metrics are
exported over OTLP (OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf or grpc).
`

// errUsage marks errors that exit with status 2.
var errUsage = errors.New("usage")

// env is the process environment, passed in so tests can run commands in-process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// arcTokenDir overrides the Azure Arc challenge-file folder; only
	// in-process tests set it, to meet the emulator's folder.
	arcTokenDir string
	// httpClient, if set, sends the token service requests; only
	// in-process tests set it, to reach the emulator under real host names.
	httpClient *http.Client
	// observer exports telemetry (OTLP); nil when no endpoint is set.
	observer entra.Observer
	// verbose prints the library's debug log.
	verbose bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	tel, err := startTelemetry(ctx, os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "entra: telemetry is off: %v\n", err)
		tel = &telemetry{}
	}
	e.observer = tel.observer
	ctx, end := tel.command(ctx, os.Args[1:])
	code := run(ctx, os.Args[1:], e)
	end(code)
	if err := tel.flush(); err != nil {
		fmt.Fprintf(os.Stderr, "entra: exporting telemetry failed: %v\n", err)
	}
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status. --verbose,
// anywhere before a "--", prints the library's debug log.
func run(ctx context.Context, args []string, e env) int {
	args, e.verbose = withoutVerbose(args)
	err := dispatch(ctx, args, e)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(e.stderr, "entra: %v\n", err)
		return 2
	default:
		code := entra.ErrorCode(err)
		if code == "" {
			code = "error"
		}
		var ee *entra.Error
		msg := err.Error()
		if errors.As(err, &ee) {
			msg = ee.Error()[len(ee.Code):]
			if len(msg) > 2 {
				msg = msg[2:] // drop ": "
			}
		}
		fmt.Fprintf(e.stderr, "entra: %s: %s\n", code, msg)
		return 1
	}
}

// withoutVerbose removes --verbose from args and reports whether it was
// there.
func withoutVerbose(args []string) ([]string, bool) {
	out := make([]string, 0, len(args))
	verbose := false
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...), verbose
		}
		if a == "--verbose" || a == "-verbose" {
			verbose = true
			continue
		}
		out = append(out, a)
	}
	return out, verbose
}

func dispatch(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return fmt.Errorf("%w: no command", errUsage)
	}
	switch args[0] {
	case "token":
		if len(args) < 2 {
			return fmt.Errorf("%w: entra token needs a flow: client-credentials, obo, auth-code, refresh, silent or managed-identity", errUsage)
		}
		return runToken(ctx, args[1], args[2:], e)
	case "http":
		return runHTTP(ctx, args[1:], e)
	case "auth-url":
		return runAuthURL(ctx, args[1:], e)
	case "accounts":
		return runAccounts(ctx, args[1:], e)
	case "emulator":
		return runEmulator(ctx, args[1:], e)
	case "demo":
		return runDemo(ctx, args[1:], e)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}
