// Command imapmig migrates IMAP mailboxes into Exchange Online through
// Microsoft Graph and keeps them in sync until cutover.
//
// One binary: `imapmig serve` runs the daemon (HTTP API, scheduler); the
// other verbs are the operator's CLI and talk to the daemon's API, except
// `csv validate` (offline), `demo`, `emulator`, `version` and `completion`.
// The command tree is built with cobra (root.go); every command's help and
// the README's command table come from it.
package main
