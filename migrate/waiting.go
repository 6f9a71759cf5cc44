package migrate

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/imapmig/imapmig/state"
)

// What a running pass waits for. A pass that is not copying because it
// waits (a retry backoff after a lost IMAP connection, a server refusing
// logins, a Graph outage) shows why and until when in its UserView
// (WaitingFor, WaitingUntil), so the operator sees more than "Syncing".
// The engine notes its own retry waits; a Source or Target notes the waits
// it does inside one call with NoteWait.

type waitKey struct{}

// waitBoard is a pass's current wait.
type waitBoard struct {
	mu     sync.Mutex
	reason string
	until  time.Time
}

func withWaitBoard(ctx context.Context, b *waitBoard) context.Context {
	return context.WithValue(ctx, waitKey{}, b)
}

// NoteWait records on ctx's pass that it waits until until because of
// reason (an operator-facing line, e.g. "ImapConnectionFailed: connecting
// to IMAP server imap.example.org:993: connection refused"). The returned
// func clears it; call it when the wait ends. Outside a pass it does
// nothing.
func NoteWait(ctx context.Context, reason string, until time.Time) (done func()) {
	b, _ := ctx.Value(waitKey{}).(*waitBoard)
	if b == nil {
		return func() {}
	}
	b.mu.Lock()
	b.reason, b.until = reason, until
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		if b.reason == reason && b.until.Equal(until) {
			b.reason, b.until = "", time.Time{}
		}
		b.mu.Unlock()
	}
}

// waitReason is an error as a wait's reason: its Reason, if classified,
// and its text.
func waitReason(err error) string {
	s := err.Error()
	if r := ReasonOf(err); r != "" && !strings.Contains(s, r) {
		return r + ": " + s
	}
	return s
}

// waiting returns what a running pass of email waits for now.
func (e *Engine) waiting(email string) (string, time.Time, bool) {
	r := e.reg()
	r.mu.Lock()
	run := r.runs[state.UserKey(email)]
	r.mu.Unlock()
	if run == nil || run.wait == nil {
		return "", time.Time{}, false
	}
	b := run.wait
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reason, b.until, b.reason != ""
}
