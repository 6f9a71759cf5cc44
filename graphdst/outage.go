package graphdst

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// A Graph outage: every request answered 5xx (503 with or without
// Retry-After) or not answered at all, for minutes. A request that fails
// so is retried MaxAttempts times as before; past that it goes on being
// retried as long as Graph as a whole answers nothing (no request of this
// Target got an answer below 500 since the request's previous failure)
// and the request has not waited OutageLimit. A request that fails while
// others succeed (a message Exchange cannot take) still ends after
// MaxAttempts. While it waits, the pass shows why and until when
// (migrate.NoteWait → UserView.WaitingFor/WaitingUntil).

// DefaultOutageLimit is how long one request rides out a Graph outage.
const DefaultOutageLimit = 30 * time.Minute

// answered records that Graph answered (anything but a 5xx).
func (t *Target) answered() { t.lastAnswer.Store(time.Now().UnixNano()) }

// keepTrying says whether a request that failed attempt+1 times, first
// at first and last at last, is tried again.
func (t *Target) keepTrying(attempt int, first, last time.Time) bool {
	if attempt+1 < t.budget.MaxAttempts {
		return true
	}
	down := t.lastAnswer.Load() < last.UnixNano() // nothing answered since this request last failed
	if !down {
		return false
	}
	return time.Since(first) < t.outageLimit
}

// outageBackoff is the wait before the next attempt: the budget's
// exponential backoff, at least a 5xx's Retry-After, at most a 30th of
// the outage limit (so the end of an outage is seen soon) and never past
// the limit.
func (t *Target) outageBackoff(attempt int, retryAfter time.Duration, first time.Time) time.Duration {
	d := t.budget.MinBackoff << min(attempt, 6)
	d += time.Duration(rand.Int64N(int64(d)/2 + 1))
	d = min(d, max(t.outageLimit/30, t.budget.MinBackoff))
	d = max(d, retryAfter)
	if left := t.outageLimit - time.Since(first); left > 0 && attempt+1 >= t.budget.MaxAttempts {
		d = min(d, left)
	}
	return d
}

// pause waits d (or until ctx ends or the engine stops waits), shown on
// the pass as waiting for reason.
func (t *Target) pause(ctx context.Context, d time.Duration, reason string) error {
	until := time.Now().Add(d)
	done := migrate.NoteWait(ctx, reason, until)
	defer done()
	return wait(ctx, d)
}

// unavailable is the error of a request given up on after an outage: the
// engine does not retry it again within the pass (it waited already).
func unavailable(err error, first time.Time) error {
	d := time.Since(first)
	if d >= time.Second {
		d = d.Round(time.Second)
	} else {
		d = d.Round(time.Millisecond)
	}
	return &migrate.Error{Kind: migrate.KindRetryable, Reason: migrate.ReasonGraphUnavailable,
		Err: fmt.Errorf("Graph unavailable for %s: %w", d, err)}
}
