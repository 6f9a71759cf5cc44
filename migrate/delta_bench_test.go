package migrate_test

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/testenv/dovecot"
)

// passWatch is an Observer that hands each finished pass's outcome to the
// benchmark: it waits on the pass, not by polling the state (a poll every
// few milliseconds would add its own allocations to the delta's).
type passWatch struct{ done chan string }

func (passWatch) ItemCopied(int64)   {}
func (passWatch) ItemSkipped(string) {}
func (w passWatch) PassFinished(kind, outcome string, _ time.Duration) {
	w.done <- kind + " " + outcome
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDeltaEngine_OnePercentChanged100k is
// BenchmarkDelta_OnePercentChanged100k measured on the engine alone: the
// benchmark waits for the pass through the Observer instead of polling
// the user's state, the scheduler looks only when told, and it reports
// the process's CPU time per delta (rusage: the engine and imapsrc;
// Dovecot is another process). Allocations are the whole process's, as
// -benchmem counts them.
func BenchmarkDeltaEngine_OnePercentChanged100k(b *testing.B) {
	n := benchMessages(100000)
	srv := dc.Get(b)
	u, err := srv.NewUser("bengine", dovecot.LayoutSlash)
	if err != nil {
		b.Fatal(err)
	}
	seedBig(b, srv, u.Name, n)
	watch := passWatch{done: make(chan string, 16)}
	w, addr := newDovecotWorld(b, srv, u, worldOptions{engine: func(o *migrate.Options) {
		o.Observer = watch
		o.ScanInterval = time.Hour // SyncNowUser wakes the scheduler itself
	}})
	h, tgt := w.h, w.tgt
	start := time.Now()
	if got := <-watch.done; got != "initial ok" {
		b.Fatalf("initial pass: %s", got)
	}
	h.waitUserFor(addr, 30*time.Minute, model.UserSynced)
	b.Logf("initial sync of %d messages: %s", n, time.Since(start))
	dir, err := srv.MaildirDir(u.Name, []string{"INBOX"})
	if err != nil {
		b.Fatal(err)
	}
	box := tgt.Box(addr)
	var writes int
	var cpu time.Duration
	allocProfile(b, "before")
	defer allocProfile(b, "after")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		mutateMaildir(b, srv, u.Name, dir, i)
		before := box.Counts()
		h.waitUserFor(addr, time.Minute, model.UserSynced) // the last pass's run is gone
		c0 := cpuTime()
		b.StartTimer()
		if err := h.eng.SyncNowUser(context.Background(), addr); err != nil {
			b.Fatal(err)
		}
		got := <-watch.done
		b.StopTimer()
		cpu += cpuTime() - c0
		if !strings.HasSuffix(got, " ok") {
			b.Fatalf("delta %d: %s", i, got)
		}
		writes += targetWrites(before, box.Counts())
		b.StartTimer()
	}
	reportDeltaWrites(b, box, writes)
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// allocProfile writes the cumulative allocation profile to
// $IMAPMIG_BENCH_ALLOCPROF.<name> when that is set, so the deltas' own
// allocations are the difference of two profiles:
// go tool pprof -sample_index=alloc_space -diff_base P.before P.after
func allocProfile(b *testing.B, name string) {
	prefix := os.Getenv("IMAPMIG_BENCH_ALLOCPROF")
	if prefix == "" {
		return
	}
	runtime.GC()
	f, err := os.Create(prefix + "." + name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
