package imapsrc

import (
	"github.com/emersion/go-imap/v2"

	"github.com/imapmig/imapmig/migrate"
)

// SpoolPath returns the temp file of a body spooled to disk, or "".
func SpoolPath(b migrate.Body) string { return b.(*spoolBody).path }

// Reconnects counts how often s reconnected.
func Reconnects(s migrate.Source) int { return s.(*source).reconnects }

// Caps is the capability set a Source saw after login.
func Caps(s migrate.Source) imap.CapSet { return s.(*source).caps }

// Slots reports a Connector's open connections, current limit and waiting
// Connects for user.
func Slots(c *Connector, user string) (open, limit, waiting int) { return c.limit.openConns(user) }

// SetStatusWindow sets how many STATUS commands Folders keeps in flight
// and returns a func that restores it.
func SetStatusWindow(n int) (restore func()) {
	old := statusWindow
	statusWindow = n
	return func() { statusWindow = old }
}

// ServerName is the name the server gave in its ID answer.
func ServerName(s migrate.Source) string { return s.(*source).serverName }
