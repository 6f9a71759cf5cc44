package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commandTable renders the README's command table from the command tree:
// one row per runnable command with its usage line, what it does and its
// flags. A test keeps the README's copy equal to it.
func commandTable(root *cobra.Command) string {
	root.InitDefaultCompletionCmd()
	var b strings.Builder
	b.WriteString("| command | what it does | flags |\n| --- | --- | --- |\n")
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		if c.Runnable() && !c.HasAvailableSubCommands() || c.Name() == "completion" {
			use := c.CommandPath() + strings.TrimPrefix(c.Use, c.Name())
			if c.Name() == "completion" {
				use += " bash|zsh|fish|powershell"
			}
			var flags []string
			c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
				if f.Hidden || f.Name == "help" || (isAPICommand(c) && (f.Name == "config" || f.Name == "api")) {
					return
				}
				s := "`--" + f.Name
				if f.Shorthand != "" {
					s = "`-" + f.Shorthand + ", --" + f.Name
				}
				if t := f.Value.Type(); t != "bool" {
					s += " " + t
				}
				s += "`"
				if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
					s += " (" + f.DefValue + ")"
				}
				flags = append(flags, s+" "+f.Usage)
			})
			what := c.Short
			if c.Long != "" && c.HasParent() {
				what = strings.Join(strings.Fields(c.Long), " ")
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", mdEscape(use), mdEscape(what), mdEscape(strings.Join(flags, "; ")))
		}
		if c.Name() == "completion" {
			return
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return b.String()
}

// isAPICommand: the command talks to the daemon (it has --api).
func isAPICommand(c *cobra.Command) bool { return c.Flags().Lookup("api") != nil }

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
