package cyrus

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Shared is one Cyrus per test package and options, started lazily by the
// first test that needs it and stopped by Close in TestMain.
//
// When Cyrus is not unpacked, Get fails the test with the command that
// installs it if $CI is set (to anything but "", "0" or "false": CI must
// never skip it), and skips the test otherwise.
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
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		s.srv, s.err = Start(ctx, s.Options)
	})
	if s.err != nil {
		if errors.Is(s.err, ErrNotInstalled) {
			if ci := os.Getenv("CI"); ci == "" || ci == "0" || strings.EqualFold(ci, "false") {
				tb.Skipf("this test needs Cyrus IMAP (skipped because CI is not set): %v", s.err)
			}
			tb.Fatalf("this test needs Cyrus IMAP: %v", s.err)
		}
		tb.Fatalf("starting Cyrus: %v", s.err)
	}
	return s.srv
}

// Close stops the server if it was started.
func (s *Shared) Close() {
	if s.srv != nil {
		s.srv.Stop()
	}
}
