package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// BenchmarkE2E_Corpus migrates the end-to-end corpus (20 users of generated
// mail with large messages) with the real daemon against Dovecot and the
// Graph emulator (throttling on, 60x time scale), and reports the daemon
// process's throughput, peak RSS and CPU time per GB copied.
func BenchmarkE2E_Corpus(b *testing.B) {
	for i := 0; i < b.N; i++ {
		e := newE2E(b, "bench", 20, mailgen.Options{Messages: 40, Large: 2}, graphemu.Options{TimeScale: 60})
		e.start()
		start := time.Now()
		e.newBatch("corpus", "--autostart")
		v := e.waitSynced("corpus", 30*time.Minute)
		elapsed := time.Since(start).Seconds()
		if v.Status != "Synced" {
			b.Fatalf("batch: %+v", v)
		}
		stopServe(b, e.daemon)
		ru := e.daemon.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		gb := float64(v.SyncedBytes) / 1e9
		b.ReportMetric(float64(v.SyncedItemCount)/elapsed, "msgs/s")
		b.ReportMetric(float64(v.SyncedBytes)/1e6/elapsed, "MB/s")
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
		b.ReportMetric(cpu/gb, "CPU-s/GB")
		b.Logf("%d messages, %.1f MB in %.1f s; daemon CPU %.1f s; 429s from the emulator: %d", v.SyncedItemCount,
			float64(v.SyncedBytes)/1e6, elapsed, cpu, e.emu.Stats().Throttled)
	}
}
