package migrate

import (
	"testing"
	"time"
)

// TestScanPace_BurstOfTwoThenOneAGap: after a quiet spell two scans may run
// back to back (the daemon's first scan, then a batch started at once);
// further wake-ups wait, so scans stay MinScanGap apart on average.
func TestScanPace_BurstOfTwoThenOneAGap(t *testing.T) {
	gap := 500 * time.Millisecond
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	var due time.Time
	if w := scanPace(&due, t0, gap); w != 0 {
		t.Fatalf("first scan waits %v", w)
	}
	if w := scanPace(&due, t0.Add(100*time.Millisecond), gap); w != 0 {
		t.Fatalf("a wake-up 100 ms after the first scan waits %v, want 0 (burst of two)", w)
	}
	at := t0.Add(150 * time.Millisecond)
	w := scanPace(&due, at, gap)
	if w != 350*time.Millisecond {
		t.Fatalf("third scan in a burst waits %v, want 350ms", w)
	}
	at = at.Add(w)
	if w := scanPace(&due, at, gap); w != 0 {
		t.Fatalf("after its wait the third scan waits again %v", w)
	}
	// Steady wake-ups: one scan per gap.
	for i := 0; i < 5; i++ {
		w := scanPace(&due, at, gap)
		if w != gap {
			t.Fatalf("steady scan %d waits %v, want %v", i, w, gap)
		}
		at = at.Add(w)
		if w := scanPace(&due, at, gap); w != 0 {
			t.Fatalf("steady scan %d waits again %v", i, w)
		}
	}
	// A quiet spell of two gaps refills the burst.
	at = at.Add(2 * gap)
	for i := 0; i < 2; i++ {
		if w := scanPace(&due, at, gap); w != 0 {
			t.Fatalf("scan %d after a quiet spell waits %v", i, w)
		}
	}
	if w := scanPace(&due, at, gap); w != gap {
		t.Fatalf("third scan after a quiet spell waits %v, want %v", w, gap)
	}
}
