package imapsrc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmig/imapmig/migrate"
)

// Connection limits. Hosters cap the connections a user may have open
// (Dovecot's mail_max_userip_connections, Courier's MAXPERIP, Cyrus'
// maxlogins_per_user). A Connector never opens more than
// Config.MaxConnectionsPerUser connections for one login at once, and a
// login refused for too many connections is retried with backoff and with
// fewer connections: it is never an authentication failure.

// LimitError is a login refused because the user (or the client's IP) has
// too many connections open, or because the server is temporarily
// unavailable. It wraps migrate.ErrConnectionLimit; the Connector retries
// it with backoff, and what is left over is retryable with
// migrate.ReasonImapConnectionLimit.
type LimitError struct {
	Host, User string
	Code       string // response code: LIMIT, UNAVAILABLE, INUSE or ""
	Text       string
}

func (e *LimitError) Error() string {
	code := ""
	if e.Code != "" {
		code = "[" + e.Code + "] "
	}
	return fmt.Sprintf("IMAP server %s refused a connection of %q: %s%s", e.Host, e.User, code, e.Text)
}

// Unwrap makes errors.Is(err, migrate.ErrConnectionLimit) true.
func (e *LimitError) Unwrap() error { return migrate.ErrConnectionLimit }

// tooMany reports whether the refusal means "too many connections" (as
// opposed to a server that is only busy): then fewer connections help.
func (e *LimitError) tooMany() bool {
	return e.Code != string(imap.ResponseCodeUnavailable) || limitText(e.Text)
}

// limitPhrases are what servers say when a user has too many connections,
// in lower case (Dovecot, Courier, Cyrus, Exchange, hMailServer, Zimbra).
var limitPhrases = []string{
	"maximum number of connections", "too many simultaneous connections", "too many connections",
	"too many concurrent", "connection limit", "maximum connections", "max connections",
	"too many open connections", "too many sessions", "maximum number of sessions", "mail_max_userip_connections",
}

func limitText(text string) bool {
	t := strings.ToLower(text)
	for _, p := range limitPhrases {
		if strings.Contains(t, p) {
			return true
		}
	}
	return false
}

// asLimit returns err as a *LimitError when it is an IMAP refusal that
// means "too many connections" or "temporarily unavailable": a NO or BYE
// with [LIMIT], [UNAVAILABLE] or [INUSE], or with limit wording.
func (c *Connector) asLimit(err error, user string) (*LimitError, bool) {
	var le *LimitError
	if errors.As(err, &le) {
		return le, true
	}
	var ie *imap.Error
	if !errors.As(err, &ie) {
		return nil, false
	}
	switch ie.Code {
	case imap.ResponseCodeLimit, imap.ResponseCodeUnavailable, imap.ResponseCodeInUse:
	default:
		if !limitText(ie.Text) {
			return nil, false
		}
	}
	return &LimitError{Host: c.cfg.Host, User: user, Code: string(ie.Code), Text: ie.Text}, true
}

// userSlots counts one login's open connections against its limit.
type userSlots struct {
	open    int
	waiting int           // Connects waiting for a slot
	limit   int           // ≤ MaxConnectionsPerUser; lowered after a refusal
	freed   chan struct{} // closed (and replaced) when a connection closes
}

type limiter struct {
	max   int
	mu    sync.Mutex
	users map[string]*userSlots
}

func (l *limiter) get(user string) *userSlots {
	key := strings.ToLower(user)
	u := l.users[key]
	if u == nil {
		u = &userSlots{limit: l.max, freed: make(chan struct{})}
		l.users[key] = u
	}
	return u
}

// acquire waits until user may open one more connection.
func (l *limiter) acquire(ctx context.Context, user string) error {
	for {
		l.mu.Lock()
		u := l.get(user)
		if u.open < u.limit {
			u.open++
			l.mu.Unlock()
			return nil
		}
		freed := u.freed
		u.waiting++
		l.mu.Unlock()
		var err error
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-freed:
		}
		l.mu.Lock()
		u.waiting--
		l.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// release gives a connection slot back.
func (l *limiter) release(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.get(user)
	u.open--
	close(u.freed)
	u.freed = make(chan struct{})
	if u.open == 0 && u.waiting == 0 && u.limit == l.max {
		delete(l.users, strings.ToLower(user))
	}
}

// refused lowers user's limit after the server refused a connection for
// too many: the ones this Connector has open besides the refused one are
// what the server allows (at least 1). It returns the new limit.
func (l *limiter) refused(user string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.get(user)
	u.limit = max(1, min(u.limit, u.open-1))
	return u.limit
}

// openConns reports user's open connections, current limit and waiting
// Connects.
func (l *limiter) openConns(user string) (open, limit, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.get(user)
	return u.open, u.limit, u.waiting
}

// limitBackoff is the first wait after a refused connection; it doubles.
const limitBackoff = 2 * time.Second

// limitTries is how often a refused connection is tried before the
// operation gives up (retryable): waits of 2+4+8+16 s, about half a minute.
const limitTries = 5

// dialLimited dials with the limit rules: a refusal for too many
// connections lowers the user's limit (waiting for one of its other
// connections to close when it holds more than that) and retries after a
// doubling backoff; the caller holds one slot of login's user.
func (s *source) dialLimited(ctx context.Context) error {
	c := s.conn
	wait := c.cfg.LimitBackoff
	var last *LimitError
	for try := 0; try < limitTries; try++ {
		if try > 0 {
			noted := migrate.NoteWait(ctx, migrate.ReasonImapConnectionLimit+": "+last.Error(), time.Now().Add(wait))
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				noted()
				return ctx.Err()
			case <-t.C:
			}
			noted()
			wait *= 2
		}
		err := s.reconnectOnce(ctx)
		le, ok := c.asLimit(err, s.login.UserName)
		if !ok {
			return err
		}
		last = le
		if !le.tooMany() {
			s.log.Warn("IMAP server refused a connection; retrying", "code", le.Code, "text", le.Text, "wait", wait, "try", try+1)
			continue
		}
		n := c.limit.refused(s.login.UserName)
		s.log.Warn("IMAP server refused a connection for too many; retrying with fewer", "code", le.Code, "text", le.Text,
			"limit", n, "wait", wait, "try", try+1)
		if s.holdsSlot {
			open, _, _ := c.limit.openConns(s.login.UserName)
			if open > n {
				// Over the lowered limit: give the slot back and wait for
				// one of the user's other connections to close.
				c.limit.release(s.login.UserName)
				s.holdsSlot = false
				if err := c.limit.acquire(ctx, s.login.UserName); err != nil {
					return err
				}
				s.holdsSlot = true
			}
		}
	}
	return &migrate.Error{Kind: migrate.KindRetryable, Reason: migrate.ReasonImapConnectionLimit, RetryAfter: time.Minute,
		Err: fmt.Errorf("%w (after %d tries)", last, limitTries)}
}
