// Package imapwire is a plaintext IMAP proxy for the interop tests: it
// passes every byte between a client and a real server unchanged, and
//
//   - refuses (tagged BAD, never forwarded) a command that uses an IMAP
//     extension the server did not advertise on that connection: ENABLE of
//     an unadvertised capability, SELECT/EXAMINE (CONDSTORE|QRESYNC),
//     STATUS HIGHESTMODSEQ, FETCH MODSEQ or CHANGEDSINCE, STORE
//     UNCHANGEDSINCE, SEARCH RETURN (ESEARCH), MOVE, UID EXPUNGE (UIDPLUS),
//     LIST RETURN (STATUS) or (SPECIAL-USE), ID, NAMESPACE, UNSELECT, IDLE,
//     COMPRESS. Some servers (Dovecot) grant CONDSTORE to a client that asks
//     although it is not advertised; an old server answers BAD. Behind the
//     proxy every server answers as the old one would, so a client that
//     relies on something unadvertised fails here, not at a customer.
//   - records which commands and extensions the client used (Counts) and
//     the server's capability line after login (Capability), so the tests
//     can say what the engine used on each server.
//
// It never records arguments: logins and passwords pass through but are
// never stored. STARTTLS is refused (the proxy must see plaintext).
package imapwire
