package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/entra-go/entra"
	"github.com/entra-go/entra/internal/errs"
	"github.com/entra-go/entra/managedidentity"
)

const doctorAbout = `Checks, without getting a token: the managed identity source this host's
environment selects and the variables that decided it; whether IMDS answers
(v1, and v2 for managed identity over mTLS), with timings; the region
"auto" would detect and where from; the clock's skew against the token
service's Date header; with --cert (or AZURE_CLIENT_CERTIFICATE_PATH) the
certificate's validity, key, x5t and x5t#S256; with --cache the cache
file's permissions, lock, contents and entry counts. Each check is ok, warn
or fail, with a hint; network checks end within a few seconds. Exits 1
when a check fails. No secret or token is printed.
`

// doctorBound bounds every network check together; each probe has its
// own, shorter, timeout inside it.
const (
	doctorBound  = 5 * time.Second
	probeTimeout = 2 * time.Second
)

// Check statuses.
const (
	statusOK   = "ok"
	statusWarn = "warn"
	statusFail = "fail"
)

// check is one finding of the doctor.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Hint   string `json:"hint,omitempty"`
	// Millis is how long a network check took.
	Millis *int64 `json:"duration_ms,omitempty"`
	// Data are the check's findings, for programs.
	Data map[string]any `json:"data,omitempty"`
}

// doctorReport is doctor's JSON contract.
type doctorReport struct {
	Checks   []check `json:"checks"`
	OK       int     `json:"ok"`
	Warnings int     `json:"warnings"`
	Failures int     `json:"failures"`
}

type doctorFlags struct {
	authority string
	cert      credFlags
	cache     string
	output    *choiceFlag
}

func setupDoctor(fs *flagSet, e env) runFunc {
	f := &doctorFlags{}
	fs.StringVar(&f.authority, "authority", "", "authority `URL` whose host's clock is compared (default: AZURE_AUTHORITY_HOST, else the public cloud)")
	fs.StringVar(&f.cert.cert, "cert", "", "check this client certificate `FILE` (default: AZURE_CLIENT_CERTIFICATE_PATH)")
	fs.StringVar(&f.cert.key, "key", "", "PEM private key `FILE`, when it is not in the --cert file")
	fs.StringVar(&f.cert.certPasswordEnv, "cert-password-env", "", "read the PKCS#12 password from this environment variable (`NAME`)")
	fs.StringVar(&f.cache, "cache", "", "check this token cache `FILE`")
	f.output = fs.output("text")
	return func(ctx context.Context, _ []string) error { return runDoctor(ctx, f, e) }
}

func runDoctor(ctx context.Context, f *doctorFlags, e env) error {
	checks := doctorChecks(ctx, f, e)
	report := doctorReport{Checks: checks}
	for _, c := range checks {
		switch c.Status {
		case statusOK:
			report.OK++
		case statusWarn:
			report.Warnings++
		default:
			report.Failures++
		}
	}
	var err error
	if f.output.value == "json" {
		err = printJSON(e.stdout, report)
	} else {
		err = printReport(e.stdout, report)
	}
	if err != nil {
		return err
	}
	if report.Failures > 0 {
		// Exit status 1; the report said why.
		return errs.New(codeChecksFailed, "%d check(s) failed", report.Failures)
	}
	return nil
}

// codeChecksFailed is the error of a doctor whose checks failed.
const codeChecksFailed entra.Code = "checks_failed"

// doctorChecks runs the checks: the local ones, then the network ones
// side by side within doctorBound, in a fixed order.
func doctorChecks(ctx context.Context, f *doctorFlags, e env) []check {
	ctx, cancel := context.WithTimeout(ctx, doctorBound)
	defer cancel()
	mi := checkManagedIdentity(e)
	imdsUsed := mi.Data["source"] == string(managedidentity.SourceIMDS)
	probes := []func(context.Context) check{
		func(ctx context.Context) check { return imdsNotNeeded(probeIMDSv1(ctx, e), imdsUsed) },
		func(ctx context.Context) check { return imdsNotNeeded(probeIMDSv2(ctx, e), imdsUsed) },
		func(ctx context.Context) check { return checkRegion(ctx, e) },
		func(ctx context.Context) check { return checkClock(ctx, f.authority, e) },
	}
	network := make([]check, len(probes))
	var wg sync.WaitGroup
	for i, probe := range probes {
		wg.Go(func() { network[i] = probe(ctx) })
	}
	checks := []check{mi}
	if c, ok := checkCertificate(f.cert, e); ok {
		checks = append(checks, c...)
	}
	if f.cache != "" {
		checks = append(checks, checkCacheFile(ctx, f.cache)...)
	}
	wg.Wait()
	return append(checks[:1], append(network, checks[1:]...)...)
}

// imdsNotNeeded makes an IMDS check that could not reach IMDS ok when the
// host's managed identity is another source's.
func imdsNotNeeded(c check, used bool) check {
	if !used && c.Status == statusWarn {
		c.Status, c.Hint = statusOK, ""
		c.Detail += "; not needed: the managed identity source is another"
	}
	return c
}

// timed runs fn and records its duration on the check it returns.
func timed(fn func() check) check {
	start := time.Now()
	c := fn()
	ms := time.Since(start).Milliseconds()
	c.Millis = &ms
	return c
}

// printReport prints one line per check, and its hint under it.
func printReport(w io.Writer, r doctorReport) error {
	var b strings.Builder
	for _, c := range r.Checks {
		took := ""
		if c.Millis != nil {
			took = fmt.Sprintf(" (%d ms)", *c.Millis)
		}
		fmt.Fprintf(&b, "%-5s %-22s %s%s\n", c.Status, c.Name, oneLine(c.Detail), took)
		if c.Hint != "" {
			fmt.Fprintf(&b, "%-28s hint: %s\n", "", oneLine(c.Hint))
		}
	}
	fmt.Fprintf(&b, "\n%d ok, %d warning(s), %d failure(s)\n", r.OK, r.Warnings, r.Failures)
	_, err := io.WriteString(w, b.String())
	return err
}
