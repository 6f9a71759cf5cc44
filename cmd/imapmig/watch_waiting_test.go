package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestWatch_ShowsWhatAPassWaitsFor: a running user whose pass waits (a
// Graph outage) shows WaitingFor and WaitingUntil, on a terminal and in
// the plain lines; a user that does not wait shows no such note.
func TestWatch_ShowsWhatAPassWaitsFor(t *testing.T) {
	v, us := watchFixture(2)
	until := time.Date(2026, 1, 1, 10, 0, 42, 0, time.Local)
	us[0].WaitingFor = "GraphUnavailable: graph: POST /v1.0/users/ann@contoso.com/messages: 503 ServiceUnavailable"
	us[0].WaitingUntil = &until
	frame := renderWatch(v, us, 400, 20, time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	lines := strings.Split(frame, "\n")
	if !strings.Contains(lines[2], "ann@contoso.com") || !strings.Contains(lines[2], "waiting until 10:00:42 for GraphUnavailable: graph: POST") {
		t.Errorf("the waiting user's row %q", lines[2])
	}
	if strings.Contains(lines[3], "waiting") || strings.Contains(lines[4], "waiting") {
		t.Errorf("users that do not wait show a wait:\n%s", frame)
	}
	var out bytes.Buffer
	pl := &plainWatcher{last: map[string]string{}}
	pl.write(&out, v, us, time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	if !strings.Contains(out.String(), "user ann@contoso.com Syncing: 20/40 items, 2.0 MiB, 0 skipped, waiting until 10:00:42 for GraphUnavailable") {
		t.Errorf("plain lines:\n%s", out.String())
	}
	us[0].WaitingUntil = nil
	if n := waitingNote(us[0]); n != "waiting for "+us[0].WaitingFor {
		t.Errorf("a wait without an end: %q", n)
	}
}
