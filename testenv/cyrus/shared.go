package cyrus

import "github.com/imapmig/imapmig/testenv/internal/serverproc"

// Shared is one Cyrus per test package and options, started lazily by the
// first test that needs it and stopped by Close in TestMain.
//
// When Cyrus is not unpacked, Get fails the test with the command that
// installs it if $CI is set (to anything but "", "0" or "false": CI must
// never skip it), and skips the test otherwise.
type Shared = serverproc.Shared[Options, *Server]
