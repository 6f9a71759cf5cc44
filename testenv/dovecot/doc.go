// Package dovecot starts a real Dovecot 2.3 on 127.0.0.1 for tests and for
// `imapmig demo`: a self-contained config in a temp dir (no !include, nothing
// read from /etc/dovecot), random ports for plain+STARTTLS and implicit TLS,
// a self-signed certificate (CAPEM/CertPool/TLSConfig let clients verify it),
// passwd-file users added at runtime (one file per user, so Dovecot sees a
// new user at once), a master user (`user*admin` or SASL authzid), maildir
// storage and special-use folders (Sent, Drafts, Junk, Trash, Archive).
//
// # Basics
//
// Use one instance per test package through Shared and TestMain; stopping
// Dovecot takes ~3 s. Dovecot runs in the foreground (-F) under a shell that
// stops it when the test process dies, so a timed-out test leaves no
// server behind (only its temp dir). Seed mailboxes with Seed/WriteMaildir (maildir files
// written directly: fastest, for big folders) or Append (IMAP APPEND with
// mail_fsync = never), and change them with SetFlags, AddFlags,
// RemoveFlags, Expunge, Move, RenameFolder, DeleteFolder, ResetFolder (new
// UIDVALIDITY) and RecreateFolder: these go through testenv/imapseed (the
// same code seeds every server of the interop tests; Seeder returns it). Kick disconnects a
// user server-side. Users get LayoutSlash (no prefix, "/") or
// LayoutINBOXDot (prefix "INBOX.", separator ".").
//
// # Profiles
//
// Options.Profile ProfileFull (the default) is Dovecot as it comes.
// ProfileOldHoster imitates an old hosting provider: the capability line
// OldHosterCapability (no CONDSTORE, QRESYNC, ESEARCH, MOVE, LIST-STATUS or
// SPECIAL-USE), every user under "INBOX." with separator ".", no special-use
// attributes, the German folders Gesendet, Entwürfe, Papierkorb and Spam
// created for every user, and mail_max_userip_connections = 3 (the fourth
// login of a user from one IP gets NO [LIMIT]). Dovecot still grants
// CONDSTORE to a client that asks for it without it being advertised, which
// an old server would refuse: put testenv/imapwire in front to get that
// refusal (the interop tests do).
//
// # Caveats
//
//   - Failed logins get an escalating per-IP delay from Dovecot's anvil
//     (auth_failure_delay = 0 does not remove it): keep negative auth tests
//     few or dial from different 127.0.0.x addresses.
//   - Maildir++ cannot store '.' in a folder component under LayoutSlash;
//     Dovecot 2.3 refuses '/' inside a name under LayoutINBOXDot
//     ("Name must not have '/' characters").
//   - As root the mail processes run as 65534 and seeded files are chowned
//     to it; as non-root everything runs as the current user.
//
// This package must not be imported by product code other than
// `imapmig demo`, and must never touch a system-wide Dovecot.
package dovecot
