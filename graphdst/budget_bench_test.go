package graphdst_test

import (
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// Budget efficiency of one mailbox (issue 15, item 2): the share of
// Exchange's per-mailbox budget a migration uses over two full windows,
// counted by the emulator from the mailbox's first admitted request. The
// windows are time-scaled (the emulator and graphdst's governor alike);
// the budgets are Exchange's own (10,000 requests per 10 minutes, 150 MB
// of upload per 5 minutes), never raised.

// BenchmarkBudget_SmallMessages: a mailbox of small messages (2–4 KB),
// whose migration is bound by the request budget. 10-minute windows at
// 1/3 (200 s), 25 ms of service latency (4 slots could send 160 requests
// a second; the budget allows 50).
func BenchmarkBudget_SmallMessages(b *testing.B) {
	const scale = 3
	for range b.N {
		mb := mailgen.Generate(mailgen.Options{Seed: 152, Messages: 22000, MaxSize: 4 << 10})
		w := newBenchWorld(b, mb, graphemu.Options{TimeScale: scale, Latency: 25 * time.Millisecond})
		win := 10 * time.Minute / scale
		used, ups, thr := w.budgetWindows(b, win)
		eff := float64(used[0]+used[1]) / (2 * 10000)
		b.ReportMetric(100*eff, "%-request-budget")
		b.Logf("requests admitted per %v window: %d, %d (of 10,000); upload %.1f, %.1f MB; %d throttled", win, used[0], used[1],
			float64(ups[0])/1e6, float64(ups[1])/1e6, thr)
	}
}

// BenchmarkBudget_LargeMessages: a mailbox of large messages (1–10 MB
// attachments), bound by the upload budget. 5-minute windows at 1/5
// (60 s: 2.5 MiB/s, which a loaded 2-core machine still carries), 50 ms of
// service latency.
func BenchmarkBudget_LargeMessages(b *testing.B) {
	const scale = 5
	for range b.N {
		mb := mailgen.Generate(mailgen.Options{Seed: 153, Messages: 4, Large: 150})
		w := newBenchWorld(b, mb, graphemu.Options{TimeScale: scale, Latency: 50 * time.Millisecond})
		win := 5 * time.Minute / scale
		used, ups, thr := w.budgetWindows(b, win)
		eff := float64(ups[0]+ups[1]) / (2 * 150 << 20)
		b.ReportMetric(100*eff, "%-upload-budget")
		b.Logf("upload admitted per %v window: %.1f, %.1f MiB (of 150); requests %d, %d; %d throttled", win,
			float64(ups[0])/(1<<20), float64(ups[1])/(1<<20), used[0], used[1], thr)
	}
}

// budgetWindows starts the migration, waits until two windows have passed
// since the mailbox's first admitted request, and returns the admitted
// requests and upload bytes in each, and the 429s so far. The mailbox must
// hold more than two windows' worth of work; the benchmark fails if the
// migration ends earlier.
func (w *benchWorld) budgetWindows(b *testing.B, win time.Duration) (reqs [2]int64, ups [2]int64, throttled int64) {
	b.Helper()
	w.start(b)
	deadline := time.Now().Add(2*win + 10*time.Minute)
	for {
		adm := w.emu.Admissions(w.addr)
		if len(adm) > 0 && time.Since(adm[0].At) > 2*win {
			break
		}
		if w.synced(b) || time.Now().After(deadline) {
			b.Fatalf("the migration ended (or stalled) before two windows had passed: %d requests", len(adm))
		}
		time.Sleep(100 * time.Millisecond)
	}
	adm := w.emu.Admissions(w.addr)
	t0 := adm[0].At
	for _, a := range adm {
		i := int(a.At.Sub(t0) / win)
		if i > 1 {
			break
		}
		reqs[i]++
		ups[i] += a.Upload
	}
	return reqs, ups, w.emu.Stats().Throttled
}
