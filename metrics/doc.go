// Package metrics is the daemon's Prometheus exposition (`/metrics`).
//
// Gauges are read from the engine's own views at scrape time (users by
// status per batch, queue depth, last successful sync per batch), so there
// is no second bookkeeping that could drift from `batch get`. Counters and
// histograms are fed by small hooks where things happen: the engine's
// migrate.Observer (items copied and skipped, pass durations), a
// SourceConnector wrapper (IMAP errors by kind), an http.RoundTripper
// around the Graph client (requests by method and status code) and
// graphdst's governor observer (throttling and budget waits).
//
// Names follow Prometheus conventions: the imapmig_ prefix, base units
// (seconds, bytes), _total for counters, and no user address as a label
// (50,000 users would be 50,000 series): batch names, statuses, reasons
// and kinds only. docs/grafana-dashboard.json uses exactly these names
// (TestDashboard_UsesOnlyExportedMetrics).
package metrics
