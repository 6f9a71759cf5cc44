// Package imapseed changes mailboxes on any real IMAP server through IMAP
// itself, for tests: create, rename, delete and recreate folders, append
// messages with flags and dates, set and clear flags, expunge and move.
// testenv/dovecot and testenv/cyrus use it, so that one test scenario
// drives every server the same way.
//
// A Seeder needs only a way to open a logged-in session on a user's
// mailbox (an admin or master login). It uses only what the server
// advertises: MOVE when offered, otherwise COPY, STORE \Deleted and
// UID EXPUNGE (or EXPUNGE without UIDPLUS), as a client of an old server
// does.
//
// ResetFolder gives a folder a new UIDVALIDITY by deleting and recreating
// it until the server reports a different one (Dovecot derives UIDVALIDITY
// from the clock in seconds), without sleeping.
package imapseed
