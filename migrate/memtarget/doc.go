// Package memtarget is an in-memory migrate.Target: Exchange mailboxes as
// maps, with counters of what was written. It is for unit tests of the
// engine's logic and for benchmarks that measure the IMAP side alone; the
// real destination (graphdst) is tested against the Graph emulator.
package memtarget
