package dovecot

import (
	"context"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/internal/serverproc"
)

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
type Shared struct {
	Options Options

	lazy serverproc.Lazy[*Server]
}

// Get returns the shared server, starting it on first use.
func (s *Shared) Get(tb testing.TB) *Server {
	tb.Helper()
	return s.lazy.Get(tb, serverproc.LazySpec[*Server]{
		Start:        func(ctx context.Context) (*Server, error) { return Start(ctx, s.Options) },
		Timeout:      30 * time.Second,
		NotInstalled: ErrNotInstalled,
		Needs:        "a real Dovecot",
		Name:         "Dovecot",
	})
}

// Close stops the server if it was started.
func (s *Shared) Close() { s.lazy.Close() }
