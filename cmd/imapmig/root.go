package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newRoot builds the whole command tree. Help, usage lines, shell completion
// and the README's command table are all generated from it.
func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "imapmig",
		Short: "Migrate IMAP mailboxes into Exchange Online (Microsoft Graph)",
		Long: `imapmig migrates IMAP mailboxes into Exchange Online through Microsoft Graph
and keeps them in sync until cutover.

'imapmig serve' runs the daemon; the batch, user, endpoint and stats commands
talk to it over its API. They find it with --config (the daemon's config file;
default $IMAPMIG_CONFIG, else ./imapmig.yaml when present) or --api (default
$IMAPMIG_API_URL, else the config's listen address, else http://127.0.0.1:8470).
The API token comes from $IMAPMIG_API_TOKEN, else the api.token file in the
config's data_dir.`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE:          usageOrUnknown,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%s: %w (see '%s --help')", c.CommandPath(), err, c.CommandPath())
	})
	root.AddCommand(
		serveCmd(),
		batchCmd(),
		userCmd(),
		endpointCmd(),
		statsCmd(),
		csvCmd(),
		cutoverCmd(),
		demoCmd(),
		emulatorCmd(),
		versionCmd(),
	)
	return root
}

// group is a command that only holds sub-commands (see usageOrUnknown).
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE:  usageOrUnknown,
	}
	c.AddCommand(subs...)
	return c
}

// usageOrUnknown runs a command that only holds sub-commands (the root, a
// group): without one it prints its usage and exits 2; an unknown one is
// an error.
func usageOrUnknown(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath())
	}
	fmt.Fprint(c.ErrOrStderr(), c.UsageString())
	return exitError{2}
}

// exactArgs wants n positional arguments, described by what.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s: want %s, got %q", c.CommandPath(), what, strings.Join(args, " "))
		}
		return nil
	}
}

// normalizeArgs keeps the command lines of the earlier flag-package CLI
// working: a long flag with one dash (-config FILE) becomes --config, and a
// one-letter flag with two dashes (--o json) becomes -o.
func normalizeArgs(root *cobra.Command, args []string) []string {
	long, short := map[string]bool{"help": true, "version": true}, map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) {
			long[f.Name] = true
			if f.Shorthand != "" {
				short[f.Shorthand] = true
			}
		}
		c.LocalFlags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case strings.HasPrefix(a, "--") && len(name) == 1 && short[name] && !long[name]:
			a = a[1:]
		case len(a) > 2 && a[0] == '-' && a[1] != '-' && len(name) > 1 && long[name]:
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}

// version is stamped by release builds: go build -ldflags "-X
// main.version=1.4.0" (see deploy/build.sh); it wins over the module
// version of debug.ReadBuildInfo.
var version string

// buildVersion is the stamped version, else the module version, else
// "(devel)".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// versionString is the version and VCS revision the binary was built from
// (debug.ReadBuildInfo).
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "imapmig (no build information)"
	}
	v := buildVersion()
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	out := fmt.Sprintf("imapmig %s", v)
	if rev != "" {
		out += fmt.Sprintf(" commit %s%s", rev, modified)
	}
	if at != "" {
		out += " " + at
	}
	return out + " " + bi.GoVersion
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the module version and VCS commit the binary was built from",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintln(c.OutOrStdout(), versionString())
			return nil
		},
	}
}
