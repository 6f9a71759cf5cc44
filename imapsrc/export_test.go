package imapsrc

import "github.com/imapmig/imapmig/migrate"

// SpoolPath returns the temp file of a body spooled to disk, or "".
func SpoolPath(b migrate.Body) string { return b.(*spoolBody).path }

// Reconnects counts how often s reconnected.
func Reconnects(s migrate.Source) int { return s.(*source).reconnects }
