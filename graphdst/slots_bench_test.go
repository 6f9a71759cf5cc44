package graphdst_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// BenchmarkSlots_OneMailbox migrates one mailbox of ordinary mail (the
// generator's 16 folders, messages of 2–100 KB) through the real path
// against the emulator at 50 ms and 200 ms of service latency, with
// Exchange's limits (not reached here), and reports the requests the
// mailbox had in flight: the emulator's time-weighted average from its
// first admitted request to its last answer, gaps between folders
// included. Exchange allows 4.
func BenchmarkSlots_OneMailbox(b *testing.B) {
	for _, lat := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond} {
		b.Run("latency="+lat.String(), func(b *testing.B) {
			for range b.N {
				mb := mailgen.Generate(mailgen.Options{Seed: 15, Messages: 400})
				w := newBenchWorld(b, mb, graphemu.Options{Latency: lat})
				start := time.Now()
				u := w.migrate(b, 20*time.Minute)
				elapsed := time.Since(start)
				f := w.emu.InFlight(w.addr)
				st := w.emu.Stats()
				timeline(b, w.emu.Admissions(w.addr), lat*4)
				b.ReportMetric(f.Average(), "in-flight")
				b.ReportMetric(float64(f.BusyTime)/float64(f.Last.Sub(f.First)), "busy-fraction")
				b.ReportMetric(float64(f.Requests)/f.Last.Sub(f.First).Seconds(), "req/s")
				b.Logf("%d items in %.1f s; %d requests (%d creates, %d throttled) over %.1f s, in flight %.2f on average (max %d), busy %.0f%% of it",
					u.SyncedItemCount, elapsed.Seconds(), f.Requests, st.Creates, st.Throttled, f.Last.Sub(f.First).Seconds(),
					f.Average(), f.Max, 100*float64(f.BusyTime)/float64(f.Last.Sub(f.First)))
			}
		})
	}
}

// timeline logs the mean in flight per step from the emulator's admissions
// (IMAPMIG_BENCH_TIMELINE=1), to see where slots idle.
func timeline(b *testing.B, adm []graphemu.Admission, step time.Duration) {
	if os.Getenv("IMAPMIG_BENCH_TIMELINE") == "" || len(adm) == 0 {
		return
	}
	t0 := adm[0].At
	var end time.Time
	for _, a := range adm {
		if a.Done.After(end) {
			end = a.Done
		}
	}
	n := int(end.Sub(t0)/step) + 1
	busy := make([]time.Duration, n)
	starts := make([]int, n)
	for _, a := range adm {
		starts[int(a.At.Sub(t0)/step)]++
		for t := a.At; t.Before(a.Done); {
			i := int(t.Sub(t0) / step)
			next := t0.Add(time.Duration(i+1) * step)
			if a.Done.Before(next) {
				next = a.Done
			}
			busy[i] += next.Sub(t)
			t = next
		}
	}
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "%6.1fs %4.2f %3d\n", (time.Duration(i) * step).Seconds(), float64(busy[i])/float64(step), starts[i])
	}
	b.Log("time, mean in flight, requests started:\n" + sb.String())
}
