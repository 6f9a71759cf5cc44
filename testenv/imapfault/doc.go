// Package imapfault is a TCP proxy between an IMAP client and a real
// server that misbehaves on purpose, scripted per connection: the tests of
// imapsrc and the engine put it between imapmig and Dovecot.
//
// A Script gives each new connection (numbered from 1 in accept order) a
// Fault:
//
//   - Cut: close both sides after After bytes from the server (counted
//     from the connection's start, or with InLiteralOver from the first
//     byte of the first literal larger than that: the middle of a 20 MB
//     message).
//   - Stall: after After bytes forward nothing more and keep both sockets
//     open (a server that stops answering, for the client's read timeout).
//   - Bye: at the first response boundary after After bytes, send
//     "* BYE" and close (never inside a literal or a continued line).
//   - Rate: pace the server's bytes to Rate bytes per second (a slow link).
//   - LoginReply: answer LOGIN and AUTHENTICATE with "<tag> LoginReply"
//     (e.g. `NO [UNAVAILABLE] ...`) instead of forwarding them.
//
// Apply gives the connections open now a new Fault (After counted from
// now). Reject makes the proxy accept and reset new connections (counted,
// so a test can wait for the client's retries); Down closes the listener
// (connection refused) and Up opens it again on the same port.
//
// Every fault that fires is an Event; Await waits on a condition over the
// proxy's counters without sleeping. The proxy never looks at arguments:
// logins and passwords pass through and are never stored.
package imapfault
