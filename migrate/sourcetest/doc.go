// Package sourcetest is the conformance suite every migrate.Source must pass
// (in the style of rclone's fstests): Run seeds a real IMAP server through
// an admin IMAP session and checks what the Source reports.
//
// The suite asserts the contract documented on migrate.Source, the one the
// engine relies on, with and without each capability: it runs against
// imapsrc on real servers (full Dovecot, bare IMAP4rev1 servers) and
// against the engine's own fake source, so the two cannot disagree.
// Compare runs one scripted session against two Sources and requires the
// same answers.
//
// It must not depend on any particular Source implementation, and it never
// mocks the server: the caller provides a real one (Dovecot, imapmemserver)
// through IMAPBackend, or the fake itself as a Backend.
package sourcetest
