package migrate

import (
	"testing"
	"time"
)

// TestProgress_RateDecaysWhileIdle: the rate is over the window ending now,
// so a pass that stops moving (waiting for Graph's budget) shows a falling
// rate and then none, not its last speed.
func TestProgress_RateDecaysWhileIdle(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	p := newProgress(func() time.Time { return now }, 0, 0)
	p.setEstimate(1000, 1000<<10)
	for range 20 {
		now = now.Add(500 * time.Millisecond)
		p.copied(1 << 10)
	}
	busy := p.snapshot()
	if busy.ItemsPerSec < 1.5 || busy.ItemsPerSec > 2.5 || busy.SecondsLeft == nil {
		t.Fatalf("while copying: %.2f items/s, eta %v", busy.ItemsPerSec, busy.SecondsLeft)
	}
	now = now.Add(30 * time.Second)
	idle := p.snapshot()
	if idle.ItemsPerSec >= busy.ItemsPerSec/2 || idle.ItemsPerSec <= 0 || *idle.SecondsLeft <= *busy.SecondsLeft {
		t.Errorf("30 s idle: %.2f items/s (was %.2f), eta %.0f s (was %.0f s)", idle.ItemsPerSec, busy.ItemsPerSec, *idle.SecondsLeft, *busy.SecondsLeft)
	}
	now = now.Add(2 * rateWindow)
	if s := p.snapshot(); s.ItemsPerSec != 0 || s.BytesPerSec != 0 || s.SecondsLeft != nil {
		t.Errorf("after a window without progress: %.2f items/s, %.0f B/s, eta %v", s.ItemsPerSec, s.BytesPerSec, s.SecondsLeft)
	}
}
