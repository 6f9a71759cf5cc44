package dovecot

import "github.com/imapmig/imapmig/testenv/internal/serverproc"

// Shared is one Dovecot per test package, started lazily by the first test
// that needs it and stopped by Close in TestMain (stopping costs ~3 s, so
// never per test):
//
//	var dc dovecot.Shared
//	func TestMain(m *testing.M) { code := m.Run(); dc.Close(); os.Exit(code) }
//	func TestX(t *testing.T) { srv := dc.Get(t); … }
//
// When Dovecot is not installed, Get fails the test with the command that
// installs it: such tests are never silently skipped.
type Shared = serverproc.Shared[Options, *Server]
