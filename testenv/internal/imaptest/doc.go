// Package imaptest holds the fixtures and checks the tests of the IMAP
// server harnesses (testenv/dovecot, testenv/cyrus) share.
package imaptest
