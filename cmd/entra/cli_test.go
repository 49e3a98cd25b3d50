package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelpAtEveryLevel: -h and --help print that level's usage on stdout
// and exit 0, with nothing on stderr.
func TestHelpAtEveryLevel(t *testing.T) {
	t.Parallel()
	c := cli{bin: binary(t)}
	levels := [][]string{{}, {"token"}, {"accounts"}}
	for _, cmd := range commands {
		levels = append(levels, strings.Fields(cmd.name))
	}
	for _, level := range levels {
		for _, flag := range []string{"-h", "--help"} {
			args := append(append([]string(nil), level...), flag)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				t.Parallel()
				stdout, stderr, status := c.run(t, args...)
				want := "usage: entra " + strings.Join(level, " ")
				if status != 0 || stderr != "" || !strings.HasPrefix(stdout, want) {
					t.Fatalf("exit %d, stderr %q, stdout does not start with %q:\n%s", status, stderr, want, stdout)
				}
			})
		}
	}
}

// TestUsageErrors: each is one line on stderr naming the help to read,
// exit status 2, nothing on stdout.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	c := cli{bin: binary(t), env: []string{"APP_SECRET=s"}}
	app := []string{"--authority", "https://login.microsoftonline.com/contoso.onmicrosoft.com", "--client-id", "c", "--secret-env", "APP_SECRET"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, `entra: no command (see "entra -h")`},
		{"unknown command", []string{"frobnicate"}, `entra: unknown command "frobnicate" (see "entra -h")`},
		{"token alone", []string{"token"}, `entra: token needs a command: client-credentials, obo, auth-code, refresh, silent, managed-identity (see "entra token -h")`},
		{"unknown flow", []string{"token", "bogus"}, `unknown token command "bogus"`},
		{"accounts alone", []string{"accounts"}, `(see "entra accounts -h")`},
		{"bad flag", []string{"token", "client-credentials", "--bogus"}, `entra: flag provided but not defined: -bogus (see "entra token client-credentials -h")`},
		{"bad flag value", append([]string{"token", "client-credentials", "-o", "yaml"}, app...), `invalid value "yaml" for flag -o: want json or text`},
		{"bad authority type", append([]string{"token", "client-credentials", "--authority-type", "saml"}, app...), `want auto or aad or b2c or adfs or oidc`},
		{"-o on accounts", []string{"accounts", "list", "--tenant", "t", "--client-id", "c", "--cache", "x", "-o", "csv"}, `invalid value "csv" for flag -o`},
		{"-o on emulator", []string{"emulator", "-o", "csv"}, `invalid value "csv" for flag -o`},
		{"silent without --cache", append([]string{"token", "silent", "--username", "u"}, app...), "missing --cache: entra token silent reads"},
		{"obo without an assertion", append([]string{"token", "obo"}, app...), "give one of --user-assertion and --user-assertion-env"},
		{"obo with both assertions", append([]string{"token", "obo", "--user-assertion", "a", "--user-assertion-env", "A"}, app...), "give one of --user-assertion and --user-assertion-env"},
		{"region on auth-code without mtls", append([]string{"token", "auth-code", "--code", "c", "--redirect-uri", "https://x/", "--region", "eastus"}, app...), "--region needs --mtls on auth-code"},
		{"client claims on auth-url", []string{"auth-url", "--tenant", "t", "--client-id", "c", "--redirect-uri", "https://x/", "--client-claims", "{}"}, "flag provided but not defined: -client-claims"},
		{"a stray argument", append([]string{"token", "client-credentials", "stray"}, app...), `unexpected argument "stray"`},
		{"two credentials", []string{"token", "client-credentials", "--secret-env", "A", "--cert", "c.pem"}, "give at most one of --secret-env, --secret-file, --cert, --federated-token-file and --managed-identity-assertion (got --secret-env, --cert)"},
		{"x5c without a certificate", append([]string{"token", "client-credentials", "--send-x5c"}, app...), "--send-x5c needs a certificate: --secret-env has no chain to send"},
		{"http: managed identity flags without --managed-identity", append([]string{"http", "--object-id", "o", "https://x/"}, app...), "--object-id selects a managed identity: give --managed-identity too"},
		{"http: a source without --managed-identity", []string{"http", "--source", "imds", "https://x/"}, "--source applies to a managed identity"},
		{"http: a secret with --managed-identity", []string{"http", "--managed-identity", "--secret-env", "S", "https://x/"}, "--managed-identity takes no --secret-env"},
		{"http: an authority with --managed-identity", []string{"http", "--managed-identity", "--tenant", "t", "https://x/"}, "--managed-identity takes no --authority or --tenant"},
		{"http: a capability with --managed-identity", []string{"http", "--managed-identity", "--capability", "cp1", "https://x/"}, "apply to an application, not to --managed-identity"},
		{"accounts with authority and tenant", []string{"accounts", "list", "--authority", "https://login.microsoftonline.com/t", "--tenant", "u", "--client-id", "c", "--cache", "x"}, "give --authority or --tenant, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, status := c.run(t, tt.args...)
			if status != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, want 2 and one line with %q\nstdout: %s\nstderr: %s", status, tt.want, stdout, stderr)
			}
			if !strings.HasPrefix(stderr, "entra: ") || !strings.Contains(stderr, ` -h")`) {
				t.Errorf("stderr %q does not name the help", stderr)
			}
		})
	}
}

// TestMissingCacheFile: commands that read a cache fail on a file that
// does not exist, naming it, and leave nothing behind.
func TestMissingCacheFile(t *testing.T) {
	t.Parallel()
	c := cli{bin: binary(t), env: []string{"APP_SECRET=s"}}
	dir := t.TempDir()
	path := filepath.Join(dir, "missing.json")
	app := []string{"--tenant", "contoso.onmicrosoft.com", "--client-id", "c", "--cache", path}
	for _, args := range [][]string{
		append([]string{"accounts", "list"}, app...),
		append([]string{"accounts", "remove", "--username", "u"}, app...),
		append([]string{"token", "silent", "--username", "u", "--secret-env", "APP_SECRET"}, app...),
	} {
		stdout, stderr, status := c.run(t, args...)
		want := "entra: invalid_argument: the cache file " + path + " does not exist\n"
		if status != 1 || stdout != "" || stderr != want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and %q", args[:2], status, stdout, stderr, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}
