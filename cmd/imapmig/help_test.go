package main

import (
	"bytes"
	"debug/buildinfo"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// allCommands walks the command tree (with cobra's generated help and
// completion commands) and returns every command's path without the root.
func allCommands(t *testing.T) []*cobra.Command {
	t.Helper()
	root := newRoot(nil, &bytes.Buffer{}, &bytes.Buffer{})
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var out []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		out = append(out, c)
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return out
}

// TestHelp_EveryCommandExitsZeroAndNamesEveryFlag runs the real binary with
// --help (and -h) on every command and checks exit 0, the usage line, and
// that each of the command's flags is named.
func TestHelp_EveryCommandExitsZeroAndNamesEveryFlag(t *testing.T) {
	cmds := allCommands(t)
	if len(cmds) < 30 {
		t.Fatalf("only %d commands in the tree", len(cmds))
	}
	for _, c := range cmds {
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(strings.Join(append([]string{"imapmig"}, path...), "_"), func(t *testing.T) {
			for _, h := range []string{"--help", "-h"} {
				// No daemon, no config and no token: help must not need them.
				out, errOut, code := runCLI(t, []string{"IMAPMIG_CONFIG=", "IMAPMIG_API_TOKEN="}, append(path, h)...)
				if code != 0 {
					t.Fatalf("%v %s: exit %d\n%s%s", path, h, code, out, errOut)
				}
				if !strings.Contains(out, "Usage:") || !strings.Contains(out, c.CommandPath()) {
					t.Fatalf("%v %s: no usage:\n%s", path, h, out)
				}
				c.Flags().VisitAll(func(f *pflag.Flag) {
					if !strings.Contains(out, "--"+f.Name) {
						t.Errorf("%v %s does not name --%s:\n%s", path, h, f.Name, out)
					}
				})
				c.InheritedFlags().VisitAll(func(f *pflag.Flag) {
					if !strings.Contains(out, "--"+f.Name) {
						t.Errorf("%v %s does not name inherited --%s", path, h, f.Name)
					}
				})
			}
		})
	}
	// `help VERB` is the same.
	out, _, code := runCLI(t, nil, "help", "batch", "new")
	if code != 0 || !strings.Contains(out, "--endpoint") {
		t.Fatalf("help batch new: %d %s", code, out)
	}
}

func TestCLI_UsageErrorsAndCompatibleFlagSpellings(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Available Commands"},
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"batch"}, 2, "Available Commands"},
		{[]string{"batch", "bogus"}, 2, `unknown command "bogus" for "imapmig batch"`},
		{[]string{"endpoint", "--bogus"}, 1, "unknown flag: --bogus"},
		{[]string{"user", "list", "-o", "xml"}, 1, `-o wants table, json, yaml, csv, got "xml"`},
		{[]string{"batch", "get", "x", "-o", "csv"}, 1, `-o wants table, json, yaml, got "csv"`},
		// The flag-package spellings of the earlier CLI still parse: a long
		// flag with one dash, a short one with two.
		{[]string{"batch", "get", "x", "-config", "/nonexistent/imapmig.yaml"}, 1, "/nonexistent/imapmig.yaml"},
		{[]string{"batch", "get", "x", "--o", "csv"}, 1, `-o wants table, json, yaml, got "csv"`},
	} {
		out, errOut, code := runCLI(t, []string{"IMAPMIG_CONFIG=", "IMAPMIG_API_TOKEN="}, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%q: exit %d, want %d with %q\nstdout: %s\nstderr: %s", tc.args, code, tc.code, tc.want, out, errOut)
		}
	}
}

func TestCLI_VersionAndCompletion(t *testing.T) {
	out, errOut, code := runCLI(t, nil, "version")
	if code != 0 {
		t.Fatalf("version: %d %s", code, errOut)
	}
	// What the binary's build information says must be what it prints.
	// (debug/buildinfo reads the file as `go version -m` does.)
	info, err := buildinfo.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Main.Path != "github.com/imapmig/imapmig" || info.Main.Version == "" || !strings.Contains(out, info.Main.Version) {
		t.Errorf("version %q does not name the module version from:\n%s", out, info)
	}
	for _, set := range info.Settings {
		if set.Key == "vcs.revision" && !strings.Contains(out, set.Value) {
			t.Errorf("version %q does not name the commit %s", out, set.Value)
		}
	}
	if !strings.HasPrefix(info.GoVersion, "go1.") || !strings.Contains(out, info.GoVersion) {
		t.Errorf("version %q does not name the Go version %s", out, info.GoVersion)
	}
	if v, _, _ := runCLI(t, nil, "--version"); v != out {
		t.Errorf("--version %q differs from version %q", v, out)
	}
	for sh, want := range map[string]string{"bash": "complete -o default", "zsh": "#compdef imapmig", "fish": "complete -c imapmig"} {
		out, errOut, code := runCLI(t, nil, "completion", sh)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, lacks %q: %s", sh, code, want, errOut)
		}
	}
	// Completion knows the verbs and flags.
	out, _, _ = runCLI(t, nil, "__complete", "batch", "n")
	if !strings.Contains(out, "new") {
		t.Errorf("completion of 'batch n': %s", out)
	}
	out, _, _ = runCLI(t, nil, "__complete", "batch", "new", "--sync")
	if !strings.Contains(out, "--sync-interval") {
		t.Errorf("completion of 'batch new --sync': %s", out)
	}
}

// TestREADME_CommandTableMatchesCLI keeps the README's command table equal to
// the one generated from the command tree. IMAPMIG_UPDATE_README=1 rewrites it.
func TestREADME_CommandTableMatchesCLI(t *testing.T) {
	const begin, end = "<!-- commands:begin (generated from the CLI; IMAPMIG_UPDATE_README=1 go test ./cmd/imapmig -run TestREADME) -->\n", "<!-- commands:end -->"
	path := filepath.Join("..", "..", "README.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers %q … %q", begin, end)
	}
	want := commandTable(newRoot(nil, &bytes.Buffer{}, &bytes.Buffer{}))
	got := readme[i+len(begin) : j]
	if got == want {
		return
	}
	if os.Getenv("IMAPMIG_UPDATE_README") == "1" {
		if err := os.WriteFile(path, []byte(readme[:i+len(begin)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's command table differs from the CLI; run IMAPMIG_UPDATE_README=1 go test ./cmd/imapmig -run TestREADME\nwant:\n%s", want)
}
