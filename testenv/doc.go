// Package testenv holds the real parts imapmig is tested against, and that
// `imapmig demo` runs: no mocks of IMAP or Graph.
//
//   - testenv/dovecot starts a real Dovecot on loopback with a throwaway
//     config, users and a master user.
//   - testenv/imapseed changes mailboxes on any IMAP server through IMAP
//     (append, flags, expunge, move with or without MOVE, folders), for the
//     harnesses and the interop tests.
//   - testenv/cyrus starts a real Cyrus IMAP 3.6 (unpacked privately by
//     testenv/install.sh) in either namespace layout.
//   - testenv/internal holds what the two server harnesses share:
//     serverproc (the server process under a watchdog shell that dies with
//     the test, free ports, log tails, the lazily started Shared server,
//     client dialing), testcert (self-signed certificates) and imaptest
//     (fixtures of the harnesses' own tests).
//   - testenv/imapwire is a plaintext IMAP proxy that refuses commands using
//     unadvertised extensions and records what a client used.
//   - testenv/interop is the interop matrix (tests only): the same
//     conformance suite and end-to-end scenario on every server above.
//   - testenv/mailgen generates deterministic, realistic mailboxes.
//   - testenv/graphemu is an HTTPS emulator of the Microsoft Graph mail
//     surface and the Entra token endpoint that behaves as Exchange Online
//     is documented to (docs/HOW-MAIL-IS-COPIED.md, "Writing to Exchange Online"): drafts, 4 MB bodies, upload sessions,
//     ErrorFolderExists, immutable ids, throttling with 429.
//
// Nothing in the product imports testenv except `imapmig demo` and
// `imapmig emulator`.
package testenv
