package imapsrc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/migrate"
)

// maxAttempts is how often one operation is tried across reconnects.
const maxAttempts = 3

// source is one user's open mailbox. Not safe for concurrent use.
type source struct {
	conn  *Connector
	login migrate.Login
	log   *slog.Logger

	c    *imapclient.Client
	wc   *watchConn // c's raw connection
	caps imap.CapSet
	ns   namespace
	// serverName is the name the server gave in its ID answer ("" when
	// it has no ID or gave none); Folders lists differently on Dovecot.
	serverName string

	selected     string // mailbox currently selected ("" = none)
	selCondStore bool
	selData      *imap.SelectData

	reconnects int
	closed     bool
	holdsSlot  bool // one of the user's connection slots (Connector.limit)
}

func (s *source) releaseSlot() {
	if s.holdsSlot {
		s.holdsSlot = false
		s.conn.limit.release(s.login.UserName)
	}
}

var _ migrate.Source = (*source)(nil)

// reconnect opens a fresh connection, waiting out connection-limit
// refusals (see dialLimited).
func (s *source) reconnect(ctx context.Context) error { return s.dialLimited(ctx) }

func (s *source) reconnectOnce(ctx context.Context) error {
	s.drop()
	cl, wc, err := s.conn.dial(ctx, s.login, &imapclient.Options{})
	if err != nil {
		return err
	}
	s.c, s.wc = cl, wc
	// The first commands are watched like every other.
	defer watchdog(wc, s.conn.cfg.CommandTimeout, func() { cl.Close() })()
	// Most servers (Dovecot, Cyrus) list the capabilities in the login's
	// answer: then they cost no round trip. Caps asks for them otherwise
	// and gives nil when that fails; the explicit command then says why.
	caps := cl.Caps()
	if caps == nil {
		var err error
		if caps, err = cl.Capability().Wait(); err != nil {
			s.drop()
			return migrate.Retryable(fmt.Errorf("IMAP CAPABILITY: %w", err))
		}
	}
	s.caps = caps
	// ID (RFC 2971) travels with NAMESPACE: no round trip of its own.
	var id *imapclient.IDCommand
	if caps.Has(imap.CapID) {
		id = cl.ID(&imap.IDData{Name: "imapmig"})
	}
	ns, err := s.namespace(ctx)
	if err != nil {
		s.drop()
		return migrate.Retryable(err)
	}
	s.ns = ns
	s.serverName = ""
	if id != nil {
		// A server that refuses ID is only not known by name.
		if d, err := id.Wait(); err == nil && d != nil {
			s.serverName = d.Name
		}
	}
	return nil
}

// drop forgets the current connection without a LOGOUT.
func (s *source) drop() {
	if s.c != nil {
		s.c.Close()
	}
	s.c, s.wc = nil, nil
	s.selected = ""
	s.selData = nil
}

func (s *source) has(c imap.Cap) bool { return s.caps.Has(c) }

func (s *source) condStore() bool { return s.has(imap.CapCondStore) }

// do runs op with a command timeout and reconnects and retries it when the
// connection is lost. op must be resumable: it is called again on a fresh
// connection (nothing selected).
func (s *source) do(ctx context.Context, what string, op func(ctx context.Context, c *imapclient.Client) error) error {
	if s.closed {
		return fmt.Errorf("imapsrc: %s on closed source", what)
	}
	var last error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if attempt > 0 {
			s.reconnects++
			s.log.Warn("IMAP connection lost, reconnecting", "op", what, "attempt", attempt+1, "err", last)
			wait := time.Duration(attempt*attempt) * 250 * time.Millisecond
			noted := migrate.NoteWait(ctx, fmt.Sprintf("%s: IMAP connection lost during %s, reconnecting: %v", migrate.ReasonImapConnectionFailed, what, last), time.Now().Add(wait))
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				noted()
				return ctx.Err()
			case <-t.C:
			}
			noted()
		}
		if s.c == nil {
			if err := s.reconnect(ctx); err != nil {
				if migrate.KindOf(err) != migrate.KindRetryable || errors.Is(err, migrate.ErrConnectionLimit) {
					return err // a connection limit was already waited out
				}
				last = err
				continue
			}
		}
		err := s.run(ctx, op)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			s.drop()
			return ctx.Err()
		}
		var cb *callbackError
		if errors.As(err, &cb) || migrate.KindOf(err) != migrate.KindRetryable {
			return err
		}
		if !connLost(s.c, err) && !errors.Is(err, errCmdTimeout) {
			return err
		}
		s.drop()
		last = err
	}
	return migrate.Retryable(fmt.Errorf("IMAP %s for %s on %s: %w", what, s.login.UserName, s.conn.cfg.Host, last))
}

var errCmdTimeout = errors.New("IMAP server stopped answering")

// run calls op; if ctx ends, or the server sends nothing for
// CommandTimeout while op runs (see watch.go), the connection is closed so
// go-imap's blocking calls return.
func (s *source) run(ctx context.Context, op func(ctx context.Context, c *imapclient.Client) error) error {
	c := s.c
	var timedOut atomic.Bool
	stopWatch := watchdog(s.wc, s.conn.cfg.CommandTimeout, func() {
		timedOut.Store(true)
		c.Close()
	})
	stop := context.AfterFunc(ctx, func() { c.Close() })
	err := op(ctx, c)
	stopWatch()
	cancelled := !stop()
	switch {
	case cancelled && ctx.Err() != nil:
		return ctx.Err()
	case timedOut.Load():
		return fmt.Errorf("%w: nothing received for %v: %v", errCmdTimeout, s.conn.cfg.CommandTimeout, err)
	}
	return err
}

// progress counts as activity between round trips (a callback ran).
func (s *source) progress() {
	if s.wc != nil {
		s.wc.touch()
	}
}

// Close logs out and closes the connection. It is idempotent.
func (s *source) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	defer s.releaseSlot()
	if s.c == nil {
		return nil
	}
	c := s.c
	s.c = nil
	done := make(chan error, 1)
	go func() { done <- c.Logout().Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	c.Close()
	return nil
}

// selectFolder SELECTs (read-only, with CONDSTORE where offered) folder
// unless it is already selected and !fresh, and checks its UIDVALIDITY.
func (s *source) selectFolder(c *imapclient.Client, f migrate.Folder, fresh bool) (*imap.SelectData, error) {
	if !fresh && s.selected == f.Name && s.selData != nil {
		return s.selData, nil
	}
	s.selected, s.selData = "", nil
	opts := &imap.SelectOptions{ReadOnly: true, CondStore: s.condStore()}
	d, err := c.Select(f.Name, opts).Wait()
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return nil, fmt.Errorf("IMAP SELECT %q for %s: %w: %v", f.Name, s.login.UserName, migrate.ErrFolderGone, ie.Text)
		}
		return nil, err
	}
	if f.UIDValidity != 0 && d.UIDValidity != f.UIDValidity {
		return nil, fmt.Errorf("IMAP folder %q of %s: %w (listed %d, now %d)", f.Name, s.login.UserName, ErrUIDValidityChanged, f.UIDValidity, d.UIDValidity)
	}
	s.selected, s.selData = f.Name, d
	return d, nil
}
