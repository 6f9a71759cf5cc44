// Package imapsrc reads IMAP mailboxes for the migration engine: it
// implements migrate.SourceConnector and migrate.Source on go-imap v2
// (imapclient).
//
// # Basics
//
// New(Config) checks an endpoint (ssl|tls|none, LOGIN or AUTHENTICATE PLAIN,
// an optional SASL master user) and Connect logs a user in. A Source keeps
// the contract of migrate.Source on every IMAP4rev1 server; extensions
// only save round trips:
//
//   - Folders: LIST … RETURN (STATUS … SPECIAL-USE) in one round trip with
//     LIST-STATUS; without it, and on Dovecot (known by its ID answer,
//     which comes with NAMESPACE), STATUS INBOX first, a LIST (RETURN only
//     with LIST-EXTENDED) and one STATUS per other selectable folder, up to
//     64 in flight: Dovecot answers INBOX's status inside LIST-STATUS
//     hundreds of milliseconds more slowly for a large maildir INBOX
//     (status.go, docs/BENCHMARKS.md). Paths are relative to the personal
//     NAMESPACE, or without NAMESPACE to a prefix derived from LIST (INBOX
//     as the only top-level mailbox with children means "INBOX" +
//     delimiter), and to UserRoot. A folder refused STATUS is reported
//     NoSelect for the pass. HighestModSeq is 0 without CONDSTORE and on
//     NOMODSEQ folders.
//   - Metas: UID chunks of FLAGS (without \Recent), INTERNALDATE,
//     RFC822.SIZE, MODSEQ where the folder has mod-sequences, and the raw
//     header, hashed with migrate.HeaderHash.
//   - ChangedSince: CHANGEDSINCE with CONDSTORE on folders with
//     mod-sequences; otherwise a chunked UID FETCH (UID FLAGS) of every
//     message.
//   - UIDs: ESEARCH where offered, else plain UID SEARCH ALL.
//   - Fetch spools bodies: memory up to SpoolMemLimit, a temp file
//     (imapsrc-*.eml, 0600, in a 0700 SpoolDir) above it, removed by
//     Body.Close. Files a crash left behind are swept by New and
//     PrepareSpoolDir; DiscardSpool removes all of them at shutdown.
//
// Neither MOVE nor UIDPLUS is used (the Source only reads). Lost
// connections (BYE, EOF, reset, timeout) are reconnected and the operation
// resumes where it was.
//
// Errors: a refused login is migrate.FailUser(ReasonImapAuthenticationFailed)
// wrapping *AuthError (which wraps migrate.ErrAuthFailed) with the server's
// text; an untrusted certificate is FailUser(ReasonImapTLSFailed) wrapping
// *TLSError naming the host, ca_file, then accept_untrusted_certificates; connection
// problems and timeouts are retryable.
//
// # Caveats
//
//   - Timeouts are silence, not totals (watch.go): while a command runs,
//     the connection is taken as dead once the server has sent nothing for
//     CommandTimeout, then closed and reconnected. go-imap's fixed read
//     deadlines (30 s per response, 5 min per literal) are switched off, so
//     a large literal from a slow server is never cut. go-imap reads ahead:
//     that is why bodies are spooled before anyone uploads them and
//     metadata chunks are buffered before the callback runs.
//   - Connection limits (limit.go): at most MaxConnectionsPerUser
//     connections per login at once; a login refused for too many
//     connections is retried with backoff and fewer connections.
//   - QRESYNC is not used (go-imap beta.8 cannot parse VANISHED); expunges
//     are found by diffing UIDs.
//   - Folder paths keep leading/trailing spaces and "/" inside names; the
//     engine trims and maps them (docs/ARCHITECTURE.md, "The path of one message", step 3).
//
// This package knows nothing of Graph and must not import graphdst or
// state; it must never log, wrap or persist a password.
package imapsrc
