// Package serverproc is what the real-IMAP-server harnesses in testenv
// (testenv/dovecot, testenv/cyrus) share: a server process supervised by a
// shell that stops it when the test process dies, free loopback ports,
// waiting until ports accept connections, log tails for failure messages,
// the lazily started per-package server (Lazy) and dialing an IMAP client.
package serverproc
