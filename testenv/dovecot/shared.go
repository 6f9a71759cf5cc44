package dovecot

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
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

	once sync.Once
	srv  *Server
	err  error
}

// Get returns the shared server, starting it on first use.
func (s *Shared) Get(tb testing.TB) *Server {
	tb.Helper()
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.srv, s.err = Start(ctx, s.Options)
	})
	if s.err != nil {
		if errors.Is(s.err, ErrNotInstalled) {
			tb.Fatalf("this test needs a real Dovecot: %v", s.err)
		}
		tb.Fatalf("starting Dovecot: %v", s.err)
	}
	return s.srv
}

// Close stops the server if it was started.
func (s *Shared) Close() {
	if s.srv != nil {
		s.srv.Stop()
	}
}
