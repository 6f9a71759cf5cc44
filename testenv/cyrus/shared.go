package cyrus

import (
	"context"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/internal/serverproc"
)

// Shared is one Cyrus per test package and options, started lazily by the
// first test that needs it and stopped by Close in TestMain.
//
// When Cyrus is not unpacked, Get fails the test with the command that
// installs it if $CI is set (to anything but "", "0" or "false": CI must
// never skip it), and skips the test otherwise.
type Shared struct {
	Options Options

	lazy serverproc.Lazy[*Server]
}

// Get returns the shared server, starting it on first use.
func (s *Shared) Get(tb testing.TB) *Server {
	tb.Helper()
	return s.lazy.Get(tb, serverproc.LazySpec[*Server]{
		Start:         func(ctx context.Context) (*Server, error) { return Start(ctx, s.Options) },
		Timeout:       60 * time.Second,
		NotInstalled:  ErrNotInstalled,
		SkipOutsideCI: true,
		Needs:         "Cyrus IMAP",
		Name:          "Cyrus",
	})
}

// Close stops the server if it was started.
func (s *Shared) Close() { s.lazy.Close() }
