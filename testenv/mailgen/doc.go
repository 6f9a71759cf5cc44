// Package mailgen generates deterministic, realistic mailboxes for tests and
// `imapmig demo`: special-use, localized, nested and non-ASCII folders, and
// messages of every kind a migration meets (plain, HTML, attachments, inline
// images, RFC 2047 and 8-bit headers, no Message-ID, exact duplicates,
// S/MIME, malformed, large, near and above 35 MB), with flags, keywords and
// INTERNALDATEs spread over years. Each message records its Kind so tests
// can assert exactly which items are skipped.
//
// # Basics
//
// Generate(Options{Seed: n}) returns a Mailbox in a neutral form (folder
// paths + raw bytes, flags, dates). Seed Dovecot with testenv/dovecot's Seed
// (maildir files) or SeedAppend, and go-imap's in-memory server with
// SeedMemServer. The default is small (about 50 messages, mostly 2–100 KB).
//
// # Caveats
//
// Maildir++ cannot hold '/' in a folder name; the "Ein/Aus" folder is only
// generated with SlashInNames on a server whose delimiter is not '/'.
//
// This package only builds data: it must not talk to servers except through
// the seeding helpers, and nothing in the product but `imapmig demo` may
// import it.
package mailgen
