// Package interop holds only tests: the interop matrix. The same
// conformance suite (migrate/sourcetest over imapsrc) and the same
// end-to-end scenario (the engine over imapsrc into the Graph emulator
// through graphdst) run against every IMAP server the tests can start on
// loopback: Dovecot with full capabilities, Dovecot as an old hoster, Cyrus
// IMAP 3.6 in both namespace layouts, and go-imap's in-memory server.
//
// Every connection of imapsrc goes through testenv/imapwire, which refuses
// a command that uses an unadvertised extension and records what was used;
// the scenario writes each server's capability line and what the engine
// used on it into docs/INTEROP.md (TestMatrix fails when the file is stale;
// IMAPMIG_UPDATE_INTEROP=1 rewrites it).
package interop
