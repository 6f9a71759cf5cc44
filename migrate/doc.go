// Package migrate is the engine of imapmig: the scheduler and worker pools,
// the per-user sync (validate, map folders, plan, apply), status and
// statistics.
//
// It owns the Source and Target interfaces (source.go, target.go) and the
// error classification (errors.go) that the adapters implement. It never
// imports imapsrc or graphdst: those import it, as rclone's backends import
// fs. Everything the engine knows about IMAP or Graph comes through those
// interfaces, so its unit tests run against in-memory fakes in seconds, and
// its integration tests run the real adapters from an external test package.
//
// The engine persists through package state only.
package migrate
