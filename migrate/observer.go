package migrate

import (
	"context"
	"errors"
	"time"
)

// Observer is told what passes do, as it happens: the daemon's Prometheus
// counters and histograms (package metrics) are fed from it. Figures that
// the state already holds (users by status, queue depth, last sync) are
// read from the engine's views at scrape time instead. Calls come from
// many passes at once and must not block. Options.Observer; nil is none.
type Observer interface {
	// ItemCopied: one message was created in the target.
	ItemCopied(bytes int64)
	// ItemSkipped: a message was recorded as skipped for the first time.
	ItemSkipped(reason string)
	// PassFinished: a pass of kind "initial", "incremental" or "final"
	// ended after d with outcome "ok", "stopped" or "failed".
	PassFinished(kind, outcome string, d time.Duration)
}

type noObserver struct{}

func (noObserver) ItemCopied(int64)                           {}
func (noObserver) ItemSkipped(string)                         {}
func (noObserver) PassFinished(string, string, time.Duration) {}

// observe returns the engine's observer, never nil.
func (e *Engine) observe() Observer {
	if e.opts.Observer == nil {
		return noObserver{}
	}
	return e.opts.Observer
}

// passOutcome names how a pass ended for PassFinished.
func passOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.Canceled):
		return "stopped"
	}
	return "failed"
}
