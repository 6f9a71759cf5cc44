// Package hosttool finds the programs some tests drive (chromium,
// systemd-analyze, promtool) that testenv/install.sh installs from Debian:
// without one a test is skipped, except in CI ($CI set to anything but "",
// "0" or "false"), where it must be there and the test fails.
package hosttool

import (
	"os/exec"
	"testing"

	"github.com/imapmig/imapmig/testenv/internal/serverproc"
)

// Need returns the path of the first of names found ($PATH, or a path
// that exists); pkg is the Debian package that brings it.
func Need(tb testing.TB, pkg string, names ...string) string {
	tb.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if serverproc.InCI() {
		tb.Fatalf("%s is missing (testenv/install.sh installs Debian's %s)", names[0], pkg)
	}
	tb.Skipf("%s not installed (Debian package %s; testenv/install.sh installs it)", names[0], pkg)
	return ""
}
