package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
)

// flagSet is a command's flags, in named groups so -h lists them group by
// group, with checks run after parsing.
type flagSet struct {
	*flag.FlagSet
	groups []flagGroup
	checks []func() error
}

type flagGroup struct {
	title string
	names []string
}

// group defines the flags add defines under title.
func (fs *flagSet) group(title string, add func()) {
	before := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { before[f.Name] = true })
	add()
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if !before[f.Name] {
			names = append(names, f.Name)
		}
	})
	if len(names) == 0 {
		return
	}
	for i := range fs.groups {
		if fs.groups[i].title == title {
			fs.groups[i].names = append(fs.groups[i].names, names...)
			return
		}
	}
	fs.groups = append(fs.groups, flagGroup{title: title, names: names})
}

// check adds a check of the parsed flags; its error is a usage error.
func (fs *flagSet) check(c func() error) { fs.checks = append(fs.checks, c) }

// validate runs the checks, in the order they were added.
func (fs *flagSet) validate() error {
	for _, c := range fs.checks {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

func (fs *flagSet) hasFlags() bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// writeFlags lists the flags group by group; flags outside any group come
// first, under "flags".
func (fs *flagSet) writeFlags(b *strings.Builder) {
	grouped := map[string]bool{}
	for _, g := range fs.groups {
		for _, n := range g.names {
			grouped[n] = true
		}
	}
	var own []string
	fs.VisitAll(func(f *flag.Flag) {
		if !grouped[f.Name] {
			own = append(own, f.Name)
		}
	})
	groups := fs.groups
	if len(own) > 0 {
		groups = append([]flagGroup{{title: "flags", names: own}}, groups...)
	}
	for _, g := range groups {
		fmt.Fprintf(b, "\n%s:\n", capitalize(g.title))
		names := slices.Clone(g.names)
		slices.Sort(names)
		for _, n := range names {
			writeFlag(b, fs.Lookup(n))
		}
	}
}

// writeFlag writes "  --name VALUE  usage (default ...)".
func writeFlag(b *strings.Builder, f *flag.Flag) {
	name, usage := flag.UnquoteUsage(f)
	dash := "--"
	if len(f.Name) == 1 {
		dash = "-"
	}
	left := "  " + dash + f.Name
	if name != "" {
		left += " " + name
	}
	if def := defaultText(f); def != "" {
		usage += " (default " + def + ")"
	}
	if len(left) > 30 {
		fmt.Fprintf(b, "%s\n  %-30s%s\n", left, "", usage)
		return
	}
	fmt.Fprintf(b, "%-32s%s\n", left, usage)
}

// defaultText is a flag's default, "" when it is the zero value.
func defaultText(f *flag.Flag) string {
	switch f.DefValue {
	case "", "false", "0", "[]":
		return ""
	}
	if _, ok := f.Value.(*listFlag); ok {
		return ""
	}
	return f.DefValue
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// choiceFlag is a string flag that takes one of a few values.
type choiceFlag struct {
	value   string
	choices []string
}

func (c *choiceFlag) String() string { return c.value }
func (c *choiceFlag) Set(v string) error {
	if !slices.Contains(c.choices, v) {
		return fmt.Errorf("want %s", strings.Join(c.choices, " or "))
	}
	c.value = v
	return nil
}

// choice defines a choiceFlag; the first choice is the default unless def
// says otherwise.
func (fs *flagSet) choice(name, def, usage string, choices ...string) *choiceFlag {
	c := &choiceFlag{value: def, choices: choices}
	fs.Var(c, name, usage+": "+strings.Join(choices, ", "))
	return c
}

// output defines -o, json or text, defaulting to def.
func (fs *flagSet) output(def string) *choiceFlag {
	var c *choiceFlag
	fs.group("output", func() {
		c = fs.choice("o", def, "output `FORMAT`", "json", "text")
	})
	return c
}
