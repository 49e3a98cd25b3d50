// Command entra gets tokens from Microsoft Entra ID, runs a local emulator
// of it, and demonstrates the library end to end. Its commands are the
// table in commands.go; "entra -h" lists them and "entra COMMAND -h" gives
// each one's flags, grouped as in flags.go.
//
// Errors exit with status 1 and print "entra: <code>: <message>" on
// stderr; usage errors exit with status 2 and print one line.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/entra-go/entra"
)

// env is the process environment, passed in so tests can run commands in-process.
type env struct {
	stdout, stderr io.Writer
	// stdin is read by commands that take "-"; nil means os.Stdin.
	stdin  io.Reader
	getenv func(string) string
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
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "entra: %s (see \"%s -h\")\n", oneLine(ue.msg), ue.help)
		return 2
	default:
		code := entra.ErrorCode(err)
		if code == "" {
			code = "error"
		}
		fmt.Fprintf(e.stderr, "entra: %s: %s\n", code, oneLine(entraMessage(err)))
		return 1
	}
}

// entraMessage is an error's message without the code an *entra.Error
// starts it with.
func entraMessage(err error) string {
	var ee *entra.Error
	if errors.As(err, &ee) {
		return strings.TrimPrefix(ee.Error(), string(ee.Code)+": ")
	}
	return err.Error()
}

// oneLine keeps a message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
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
