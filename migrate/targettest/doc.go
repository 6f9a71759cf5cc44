// Package targettest is the conformance suite every migrate.Target must
// pass, in the style of rclone's fstests: one function, Run, that a
// backend's tests call with a live target (for graphdst: the Graph emulator
// over HTTPS with real azidentity tokens).
//
// It checks the contract of migrate.Target and migrate.Mailbox as the engine
// relies on it: typed errors, idempotent folders, source keys that survive
// everything, no duplicates under concurrency, and — through the optional
// Inspect hook — that what was stored is what was sent.
//
// It must not know any implementation: no Graph, no IMAP, only the migrate
// interfaces, plus the sample messages it builds itself.
package targettest
