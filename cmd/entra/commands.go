package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// runFunc runs a command once its flags are parsed; args are the
// positional arguments.
type runFunc func(ctx context.Context, args []string) error

// command is one entry of the command table. name is the words after
// "entra" (e.g. "token client-credentials"); setup defines the command's
// flags on fs and returns what runs it.
type command struct {
	name    string
	args    string // positional arguments in the usage line, "" for none
	summary string
	// about is the longer description printed by -h, after the summary.
	about string
	setup func(fs *flagSet, e env) runFunc
}

// commands is the CLI: every command, in the order "entra -h" lists them.
// A command whose name has two words belongs to the group of the first.
var commands = []command{
	{name: "token client-credentials", summary: "app token (client credentials grant)", setup: setupClientCredentials},
	{name: "token obo", summary: "on-behalf-of token for a user assertion", setup: setupOBO},
	{name: "token auth-code", summary: "redeem an authorization code for a user's tokens", setup: setupAuthCode},
	{name: "token refresh", summary: "redeem a refresh token", setup: setupRefresh},
	{name: "token silent", summary: "a cached user's token, refreshed if needed (needs --cache)", setup: setupSilent},
	{name: "token managed-identity", summary: "token for the host's managed identity", about: miAbout, setup: setupManagedIdentity},
	{name: "http", args: "URL", summary: "call a URL with a token (Bearer or mTLS PoP; CAE answered)", about: httpAbout, setup: setupHTTP},
	{name: "auth-url", summary: "sign-in URL with PKCE, state and nonce", setup: setupAuthURL},
	{name: "accounts list", summary: "accounts in a cache file", setup: setupAccountsList},
	{name: "accounts remove", summary: "remove an account from a cache file", setup: setupAccountsRemove},
	{name: "decode", args: "[TOKEN|-]", summary: "header and claims of a JWT (never its signature)", about: decodeAbout, setup: setupDecode},
	{name: "doctor", summary: "what this host would use for tokens, and why", about: doctorAbout, setup: setupDoctor},
	{name: "emulator", summary: "run the local token service emulator", setup: setupEmulator},
	{name: "demo", summary: "run every flow against an embedded emulator", setup: setupDemo},
	{name: "completion", args: "bash|zsh|fish", summary: "print a shell completion script", about: completionAbout}, // setup: see init
}

// The completion command reads the table it is in, so its setup is set
// here: a reference in the table's initializer would be a cycle.
func init() {
	for i := range commands {
		if commands[i].name == "completion" {
			commands[i].setup = setupCompletion
		}
	}
}

// groupSummaries describe the commands that only group others.
var groupSummaries = map[string]string{
	"token":    "get a token",
	"accounts": "accounts in a cache file",
}

const globalHelp = `Every command takes --verbose, which prints the library's debug log on
stderr (never a secret or token). With OTEL_EXPORTER_OTLP_ENDPOINT set
(or its TRACES or METRICS form), a command's spans and metrics are
exported over OTLP (OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf or grpc).
Errors exit with status 1 and print "entra: <code>: <message>" on stderr;
usage errors exit with status 2.
`

// usageError is a command line the CLI cannot run: exit status 2, one
// line on stderr naming the help to read.
type usageError struct {
	help string // the command line whose -h helps, e.g. "entra token"
	msg  string
}

func (e *usageError) Error() string { return e.msg }

// usagef is a usage error of the command named by help.
func usagef(help, format string, a ...any) error {
	return &usageError{help: help, msg: fmt.Sprintf(format, a...)}
}

// errUsage marks usage errors made below the command table, which the
// table names the command of.
var errUsage = errors.New("usage")

func isHelp(a string) bool { return a == "-h" || a == "--help" || a == "-help" || a == "help" }

// dispatch finds the command args name and runs it.
func dispatch(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return usagef("entra", "no command")
	}
	if isHelp(args[0]) {
		return printGroupHelp(e.stdout, "")
	}
	for i := range commands {
		c := &commands[i]
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c.run(ctx, args[len(words):], e)
		}
	}
	group := args[0]
	if _, ok := groupSummaries[group]; !ok {
		return usagef("entra", "unknown command %q", group)
	}
	if len(args) == 1 {
		return usagef("entra "+group, "%s needs a command: %s", group, strings.Join(subcommands(group), ", "))
	}
	if isHelp(args[1]) {
		return printGroupHelp(e.stdout, group)
	}
	return usagef("entra "+group, "unknown %s command %q (want %s)", group, args[1], strings.Join(subcommands(group), ", "))
}

// subcommands are the second words of a group's commands.
func subcommands(group string) []string {
	var out []string
	for _, c := range commands {
		if g, sub, ok := strings.Cut(c.name, " "); ok && g == group {
			out = append(out, sub)
		}
	}
	return out
}

// newFlagSet makes c's flag set, defined and silent: the table prints
// help and errors itself.
func (c *command) newFlagSet(e env) (*flagSet, runFunc) {
	fs := &flagSet{FlagSet: flag.NewFlagSet("entra "+c.name, flag.ContinueOnError)}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs, c.setup(fs, e)
}

// run parses c's flags (anywhere among its arguments) and runs it.
func (c *command) run(ctx context.Context, args []string, e env) error {
	fs, run := c.newFlagSet(e)
	help := "entra " + c.name
	positional, err := parseInterspersed(fs.FlagSet, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return c.printHelp(e.stdout, fs)
	case err != nil:
		return &usageError{help: help, msg: err.Error()}
	case c.args == "" && len(positional) > 0:
		return usagef(help, "unexpected argument %q", positional[0])
	}
	if err := fs.validate(); err != nil {
		return &usageError{help: help, msg: err.Error()}
	}
	err = run(ctx, positional)
	if errors.Is(err, errUsage) {
		msg := strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
		return &usageError{help: help, msg: msg}
	}
	return err
}

// parseInterspersed parses flags wherever they are among the arguments
// (before a "--"), and returns the others in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		if len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// printGroupHelp prints the commands of group ("" for all of them).
func printGroupHelp(w io.Writer, group string) error {
	var b strings.Builder
	if group == "" {
		b.WriteString("usage: entra COMMAND [flags]\n\n")
	} else {
		fmt.Fprintf(&b, "usage: entra %s COMMAND [flags]\n\n%s.\n\n", group, capitalize(groupSummaries[group]))
	}
	b.WriteString("commands:\n")
	for _, c := range commands {
		if group != "" && !strings.HasPrefix(c.name, group+" ") {
			continue
		}
		line := "entra " + c.name
		if c.args != "" {
			line += " " + c.args
		}
		fmt.Fprintf(&b, "  %-38s %s\n", line, c.summary)
	}
	help := "entra token client-credentials -h"
	if group != "" {
		help = "entra " + commandsOf(group)[0] + " -h"
	}
	fmt.Fprintf(&b, "\nRun %q for the flags of a command.\n", help)
	if group == "" {
		b.WriteString(globalHelp)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// commandsOf are the full names of a group's commands.
func commandsOf(group string) []string {
	var out []string
	for _, sub := range subcommands(group) {
		out = append(out, group+" "+sub)
	}
	return out
}

// printHelp prints c's usage, summary and flags, group by group.
func (c *command) printHelp(w io.Writer, fs *flagSet) error {
	var b strings.Builder
	line := "entra " + c.name
	if fs.hasFlags() {
		line += " [flags]"
	}
	if c.args != "" {
		line += " " + c.args
	}
	fmt.Fprintf(&b, "usage: %s\n\n%s.\n", line, capitalize(c.summary))
	if c.about != "" {
		b.WriteString("\n" + c.about)
	}
	fs.writeFlags(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
