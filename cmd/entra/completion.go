package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

const completionAbout = `Prints a completion script for the shell, made from the command table:
commands, flags, and the values of flags that take a few (-o, --source,
--authority-type) or a file. Load it with, for example:
  bash:  source <(entra completion bash)
  zsh:   source <(entra completion zsh)
  fish:  entra completion fish | source
`

// completionShells are the shells a script is written for.
var completionShells = []string{"bash", "fish", "zsh"}

// completionWriter writes shell's script; nil for a shell without one.
func completionWriter(shell string) func(io.Writer, []completionCommand) error {
	switch shell {
	case "bash":
		return writeBash
	case "zsh":
		return writeZsh
	case "fish":
		return writeFish
	}
	return nil
}

func setupCompletion(_ *flagSet, e env) runFunc {
	return func(_ context.Context, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("%w: name one shell: bash, zsh or fish", errUsage)
		}
		write := completionWriter(args[0])
		if write == nil {
			return fmt.Errorf("%w: no completion for %q (want bash, zsh or fish)", errUsage, args[0])
		}
		return write(e.stdout, completionTable(e))
	}
}

// completionCommand is one command of the table as completion sees it.
type completionCommand struct {
	name, summary string
	flags         []completionFlag
	args          []string // positional values to offer
}

type completionFlag struct {
	name, usage string
	choices     []string // values to offer
	file        bool     // the value is a path
}

// option is the flag as typed: -o, --name.
func (f completionFlag) option() string {
	if len(f.name) == 1 {
		return "-" + f.name
	}
	return "--" + f.name
}

// completionTable reads every command's flags from its flag set.
func completionTable(e env) []completionCommand {
	var out []completionCommand
	for i := range commands {
		c := &commands[i]
		fs, _ := c.newFlagSet(e)
		cc := completionCommand{name: c.name, summary: c.summary}
		if c.name == "completion" {
			cc.args = completionShells
		}
		fs.VisitAll(func(f *flag.Flag) { cc.flags = append(cc.flags, completionFlagOf(f)) })
		out = append(out, cc)
	}
	return out
}

func completionFlagOf(f *flag.Flag) completionFlag {
	valueName, usage := flag.UnquoteUsage(f)
	cf := completionFlag{name: f.Name, usage: usage}
	if c, ok := f.Value.(*choiceFlag); ok {
		cf.choices = c.choices
	}
	switch {
	case f.Name == "source":
		cf.choices = append([]string{"auto"}, sortedSources()...)
	case valueName == "FILE" || valueName == "DIR":
		cf.file = true
	}
	return cf
}

func sortedSources() []string {
	var out []string
	for name := range miSources {
		if name != "auto" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// topWords are the first words: single commands and groups, in table order.
func topWords(cmds []completionCommand) []string {
	var out []string
	for _, c := range cmds {
		w, _, _ := strings.Cut(c.name, " ")
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

func options(c completionCommand) string {
	var out []string
	for _, f := range c.flags {
		out = append(out, f.option())
	}
	return strings.Join(out, " ")
}

func writeBash(w io.Writer, cmds []completionCommand) error {
	var b strings.Builder
	b.WriteString(`# bash completion for entra, written by "entra completion bash"
_entra() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} key
  if (( COMP_CWORD == 1 )); then
    COMPREPLY=($(compgen -W "` + strings.Join(topWords(cmds), " ") + `" -- "$cur"))
    return
  fi
  case ${COMP_WORDS[1]} in
`)
	for _, group := range slices.Sorted(maps.Keys(groupSummaries)) {
		fmt.Fprintf(&b, "    %s)\n      if (( COMP_CWORD == 2 )); then\n        COMPREPLY=($(compgen -W %q -- \"$cur\"))\n        return\n      fi\n      key=\"${COMP_WORDS[1]} ${COMP_WORDS[2]}\";;\n",
			group, strings.Join(subcommands(group), " "))
	}
	b.WriteString("    *) key=${COMP_WORDS[1]};;\n  esac\n  case \"$key $prev\" in\n")
	for _, c := range cmds {
		for _, f := range c.flags {
			switch {
			case f.choices != nil:
				fmt.Fprintf(&b, "    %q) COMPREPLY=($(compgen -W %q -- \"$cur\")); return;;\n", c.name+" "+f.option(), strings.Join(f.choices, " "))
			case f.file:
				fmt.Fprintf(&b, "    %q) COMPREPLY=($(compgen -f -- \"$cur\")); return;;\n", c.name+" "+f.option())
			}
		}
	}
	b.WriteString("  esac\n  case $key in\n")
	for _, c := range cmds {
		words := options(c)
		if c.args != nil {
			words += " " + strings.Join(c.args, " ")
		}
		fmt.Fprintf(&b, "    %q) COMPREPLY=($(compgen -W %q -- \"$cur\"));;\n", c.name, strings.TrimSpace(words))
	}
	b.WriteString("  esac\n}\ncomplete -o default -F _entra entra\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeZsh loads the bash function through zsh's bash completion layer.
func writeZsh(w io.Writer, cmds []completionCommand) error {
	if _, err := io.WriteString(w, "#compdef entra\n# zsh completion for entra, written by \"entra completion zsh\"\nautoload -U +X bashcompinit && bashcompinit\n"); err != nil {
		return err
	}
	return writeBash(w, cmds)
}

func writeFish(w io.Writer, cmds []completionCommand) error {
	var b strings.Builder
	b.WriteString("# fish completion for entra, written by \"entra completion fish\"\ncomplete -c entra -f\n")
	for _, word := range topWords(cmds) {
		summary := groupSummaries[word]
		for _, c := range cmds {
			if c.name == word {
				summary = c.summary
			}
		}
		fmt.Fprintf(&b, "complete -c entra -n __fish_use_subcommand -a %s -d %s\n", word, fishQuote(summary))
	}
	for _, c := range cmds {
		group, sub, grouped := strings.Cut(c.name, " ")
		cond := "__fish_seen_subcommand_from " + c.name
		if grouped {
			fmt.Fprintf(&b, "complete -c entra -n %s -a %s -d %s\n",
				fishQuote("__fish_seen_subcommand_from "+group+"; and not __fish_seen_subcommand_from "+strings.Join(subcommands(group), " ")),
				sub, fishQuote(c.summary))
			cond = "__fish_seen_subcommand_from " + group + "; and __fish_seen_subcommand_from " + sub
		}
		if c.args != nil {
			fmt.Fprintf(&b, "complete -c entra -n %s -a %s\n", fishQuote(cond), fishQuote(strings.Join(c.args, " ")))
		}
		for _, f := range c.flags {
			opt := "-l " + f.name
			if len(f.name) == 1 {
				opt = "-o " + f.name
			}
			switch {
			case f.choices != nil:
				opt += " -x -a " + fishQuote(strings.Join(f.choices, " "))
			case f.file:
				opt += " -r -F"
			}
			fmt.Fprintf(&b, "complete -c entra -n %s %s -d %s\n", fishQuote(cond), opt, fishQuote(f.usage))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fishQuote single-quotes s for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(oneLine(s)) + "'"
}
