package testenv_test

import (
	"os"
	"strings"
	"testing"
)

// The README's test command is what CI runs: .ci/run's last line is the same
// line, and it sets up the real servers first.
func TestCIRunsTheREADMECommand(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(ci)), "\n")
	cmd := lines[len(lines)-1]
	if !strings.Contains(string(readme), "\n    "+cmd+"\n") {
		t.Errorf(".ci/run runs %q, which is not the README's indented test command", cmd)
	}
	if !strings.HasPrefix(cmd, "testenv/install.sh && ") {
		t.Errorf("the test command does not start with testenv/install.sh: %q", cmd)
	}
	if n := strings.Count(cmd, "apt-get update"); n > 0 {
		t.Errorf("the test command runs apt-get update itself (%d times); install.sh does, at most once", n)
	}
	sh, err := os.ReadFile("install.sh")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(sh), "\napt-get update"); n != 1 {
		t.Errorf("install.sh has %d apt-get update lines, want exactly one", n)
	}
}
