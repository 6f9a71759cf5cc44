// Package webui is imapmig's web console: HTML pages served by the daemon
// under /ui/ on the API's listener, for administrators who watch a
// migration of thousands of users for weeks.
//
// Pages are rendered on the server with html/template from files embedded
// in the binary; a small script (static/console.js, no framework, no build
// step) refreshes the figures every few seconds from JSON endpoints under
// /ui/live/ and asks nothing else of the browser. The users table of a
// batch is paged, sorted and filtered on the server, so a batch of 50,000
// users costs the browser one page of rows. A batch's view and users are
// kept for ten times as long as reading them took (1–30 s), so the next
// page, sort or filter, and other browsers' refreshes, do not read the
// engine again; actions drop what they touch.
//
// Security: an administrator signs in once with the API token and gets a
// session cookie (HttpOnly, SameSite=Strict, Secure over TLS). Sessions
// live in memory (a daemon restart signs everyone out). Every POST needs
// the session's CSRF token in a hidden field and passes Go's cross-origin
// check; sign-in itself is protected by a one-time cookie and field pair.
// The Content-Security-Policy allows scripts and styles from the console's
// own static files only (no inline script or style). The token is never
// put in a URL, a page or a log line.
//
// Throughput: Sampler keeps a bounded ring of each batch's copied items
// and bytes, read from the engine's batch views by a ticker (Run), from
// which the batch pages draw items/s and MB/s charts as inline SVG.
//
// The package uses the engine's public query and action methods only (the
// same ones the JSON API uses), never the state store.
package webui
