package serverproc

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Stopper is a started server.
type Stopper interface{ Stop() error }

// LazySpec says how Lazy starts a server and words its failures.
type LazySpec[S Stopper] struct {
	// Start starts the server.
	Start func(context.Context) (S, error)
	// Timeout bounds Start.
	Timeout time.Duration
	// NotInstalled is the error (errors.Is) Start returns when the server
	// software is missing.
	NotInstalled error
	// SkipOutsideCI skips, rather than fails, a test when the software is
	// missing and $CI is unset, "", "0" or "false".
	SkipOutsideCI bool
	// Needs completes "this test needs …" (e.g. "a real Dovecot").
	Needs string
	// Name completes "starting …" (e.g. "Dovecot").
	Name string
}

// Lazy is one server per test package, started by the first Get and stopped
// by Close (in TestMain).
type Lazy[S Stopper] struct {
	once    sync.Once
	srv     S
	err     error
	started bool
}

// Get returns the server, starting it on first use; it fails (or skips)
// tb when the server cannot start.
func (l *Lazy[S]) Get(tb testing.TB, spec LazySpec[S]) S {
	tb.Helper()
	l.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), spec.Timeout)
		defer cancel()
		l.srv, l.err = spec.Start(ctx)
		l.started = l.err == nil
	})
	if l.err != nil {
		if errors.Is(l.err, spec.NotInstalled) {
			if spec.SkipOutsideCI && !InCI() {
				tb.Skipf("this test needs %s (skipped because CI is not set): %v", spec.Needs, l.err)
			}
			tb.Fatalf("this test needs %s: %v", spec.Needs, l.err)
		}
		tb.Fatalf("starting %s: %v", spec.Name, l.err)
	}
	return l.srv
}

// Close stops the server if it was started.
func (l *Lazy[S]) Close() {
	if l.started {
		l.srv.Stop()
	}
}

// Starter is a server package's options: they say how Shared starts the
// server they describe.
type Starter[S Stopper] interface {
	SharedSpec() LazySpec[S]
}

// Shared is one server per test package and options, started lazily by the
// first test that needs it and stopped by Close in TestMain. The server
// packages name it (dovecot.Shared, cyrus.Shared); its zero value starts
// the server with zero Options.
type Shared[O Starter[S], S Stopper] struct {
	Options O

	lazy Lazy[S]
}

// Get returns the shared server, starting it on first use.
func (s *Shared[O, S]) Get(tb testing.TB) S {
	tb.Helper()
	return s.lazy.Get(tb, s.Options.SharedSpec())
}

// Close stops the server if it was started.
func (s *Shared[O, S]) Close() { s.lazy.Close() }

// InCI reports whether $CI is set to anything but "", "0" or "false".
func InCI() bool {
	ci := os.Getenv("CI")
	return !(ci == "" || ci == "0" || strings.EqualFold(ci, "false"))
}
