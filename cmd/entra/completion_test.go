package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionScripts: each shell's script names every command, and
// the shell itself accepts it (when installed).
func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	c := cli{bin: binary(t)}
	checks := map[string][]string{"bash": {"bash", "-n"}, "zsh": {"zsh", "-n"}, "fish": {"fish", "--no-execute"}}
	for shell, syntax := range checks {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			script, stderr, status := c.run(t, "completion", shell)
			if status != 0 || stderr != "" {
				t.Fatalf("exit %d: %s", status, stderr)
			}
			for _, cmd := range commands {
				if last := cmd.name[strings.LastIndex(cmd.name, " ")+1:]; !strings.Contains(script, last) {
					t.Errorf("the %s script lacks %q", shell, last)
				}
			}
			if _, err := exec.LookPath(syntax[0]); err != nil {
				t.Skipf("%s is not installed", syntax[0])
			}
			file := filepath.Join(t.TempDir(), "entra."+shell)
			os.WriteFile(file, []byte(script), 0o600)
			if out, err := exec.Command(syntax[0], append(syntax[1:], file)...).CombinedOutput(); err != nil {
				t.Fatalf("%s refuses the script: %v\n%s", shell, err, out)
			}
		})
	}
	if _, stderr, status := c.run(t, "completion", "powershell"); status != 2 || !strings.Contains(stderr, `no completion for "powershell"`) {
		t.Fatalf("an unknown shell: exit %d: %s", status, stderr)
	}
}

// TestBashCompletion runs the bash function on command lines and checks
// what it offers.
func TestBashCompletion(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	script, _, _ := cli{bin: binary(t)}.run(t, "completion", "bash")
	file := filepath.Join(t.TempDir(), "entra.bash")
	os.WriteFile(file, []byte(script), 0o600)
	tests := []struct {
		line string // the words; the last is completed
		want []string
	}{
		{"entra de", []string{"decode", "demo"}},
		{"entra token o", []string{"obo"}},
		{"entra token obo --user-assertion-", []string{"--user-assertion-env"}},
		{"entra token managed-identity --source a", []string{"auto", "app_service", "azure_arc"}},
		{"entra token client-credentials --authority-type ", []string{"auto", "aad", "b2c", "adfs", "oidc"}},
		{"entra accounts list -o ", []string{"json", "text"}},
		{"entra completion ", []string{"bash", "fish", "zsh"}},
	}
	for _, tt := range tests {
		words := strings.Fields(tt.line)
		if strings.HasSuffix(tt.line, " ") {
			words = append(words, "")
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := "source " + file + "; COMP_WORDS=(" + strings.Join(quoted, " ") + "); COMP_CWORD=" +
			string(rune('0'+len(words)-1)) + "; _entra; echo \"${COMPREPLY[*]}\""
		out, err := exec.Command("bash", "-c", prog).Output()
		if got := strings.Fields(string(out)); err != nil || strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%q: %v %v, want %v", tt.line, got, err, tt.want)
		}
	}
}
