// Package imapsrc reads IMAP mailboxes for the migration engine: it
// implements migrate.SourceConnector and migrate.Source on go-imap v2
// (imapclient).
//
// # Basics
//
// New(Config) checks an endpoint (ssl|tls|none, LOGIN or AUTHENTICATE PLAIN,
// an optional SASL master user) and Connect logs a user in. A Source lists
// folders with special-use attributes and status in one LIST … RETURN
// (STATUS … SPECIAL-USE) where the server has LIST-STATUS (else STATUS per
// folder), with paths made relative to the personal NAMESPACE and UserRoot;
// reads metadata in UID chunks (FLAGS without \Recent, INTERNALDATE,
// RFC822.SIZE, MODSEQ and the raw header, hashed with migrate.HeaderHash);
// reports changes since a MODSEQ (CONDSTORE; migrate.ErrNoCondStore
// without); returns the current UID set (ESEARCH where offered); and spools
// bodies: memory up to SpoolMemLimit, a temp file above it, removed by
// Body.Close. Lost connections (BYE, EOF, reset, timeout) are reconnected and
// the operation resumes where it was.
//
// Errors: a refused login is migrate.FailUser(ReasonImapAuthenticationFailed)
// wrapping *AuthError (which wraps migrate.ErrAuthFailed) with the server's
// text; an untrusted certificate is FailUser(ReasonImapTLSFailed) wrapping
// *TLSError naming the host and accept_untrusted_certificates; connection
// problems and timeouts are retryable.
//
// # Caveats
//
//   - go-imap has fixed timeouts (30 s per response, 5 min per literal) and
//     reads ahead; that is why bodies are spooled before anyone uploads them
//     and metadata chunks are buffered before the callback runs.
//   - QRESYNC is not used (go-imap beta.8 cannot parse VANISHED); expunges
//     are found by diffing UIDs.
//   - Folder paths keep leading/trailing spaces and "/" inside names; the
//     engine trims and maps them (DESIGN §2).
//
// This package knows nothing of Graph and must not import graphdst or
// state; it must never log, wrap or persist a password.
package imapsrc
