// Package memimap starts go-imap's in-memory IMAP server (imapmemserver) on
// loopback for tests, with a chosen capability line. It has no CONDSTORE,
// no special-use attributes and no authzid; started with only IMAP4rev1 it
// is a bare server (no ESEARCH, MOVE, UIDPLUS, NAMESPACE, LIST-EXTENDED,
// LIST-STATUS or SPECIAL-USE). It serves migrate/sourcetest as a Server.
package memimap
