// Package state is imapmig's persistent store: one bbolt file, state.db, in
// the data directory. It is the only package that touches bbolt.
//
// # Basics
//
// Buckets (docs/ARCHITECTURE.md, "Where state is written"):
//
//	meta                      schema version
//	endpoints, tenants        what the config declared (no secrets)
//	batches                   batch name → Batch (JSON)
//	users                     lower-case EmailAddress → User (JSON; password sealed)
//	folders/<user>            source folder name → FolderState (JSON)
//	messages/<user>/<folder>  UID (4 bytes, big endian) → MessageRecord (binary)
//	msgindex/<user>/<folder>  0x00 → MessageTotals; source key ‖ UID → "" (the
//	                          records by source key), written with every record
//	skipped/<user>            sequence → SkippedItem (JSON)
//	events/<batch>            sequence → Event (JSON), capped at MaxEventsPerBatch
//
// Passwords are sealed with AES-256-GCM (see Sealer) under a key from
// IMAPMIG_SECRET_KEY or a key file created with mode 0600 in the data
// directory; the user's address is the additional data, so a sealed password
// cannot be moved to another user. The plain text never reaches the file.
//
// # Caveats
//
// Writes go through DB.Batch: the closures passed to it may run more than once
// and are written to be idempotent. No read transaction is held across network
// I/O: every method copies what it returns out of the transaction. bbolt allows
// one process per file (an exclusive lock): a second daemon on the same data
// directory fails to open it after Options.Timeout.
//
// State must never be the only place where "is this message already in the
// target?" is known: the source key on every Graph item is the truth, state
// is a cache of it (docs/ARCHITECTURE.md, "Why a crash at any point is safe").
package state
