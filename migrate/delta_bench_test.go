package migrate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
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
// the process's CPU time per delta (rusage: the engine and imapsrc),
// Dovecot's CPU time per delta (another process) and, in the log, where
// the wall time of a delta goes (phaseClock). Allocations are the whole
// process's, as -benchmem counts them.
//
// The changes are made in the maildir behind Dovecot's back, so the
// delta's first command makes Dovecot catch up with them (a rescan of
// the folder's directory); BenchmarkDeltaEngine_OnePercentChangedIMAP100k
// makes the same changes through IMAP.
func BenchmarkDeltaEngine_OnePercentChanged100k(b *testing.B) {
	srv := dc.Get(b)
	benchDeltaEngine(b, dovecotBench{srv}, "bengine", func(b *testing.B, _ benchServer, user string, round int) {
		dir, err := srv.MaildirDir(user, []string{"INBOX"})
		if err != nil {
			b.Fatal(err)
		}
		mutateMaildir(b, srv, user, dir, round)
	})
}

// BenchmarkDeltaEngine_OnePercentChangedIMAP100k is
// BenchmarkDeltaEngine_OnePercentChanged100k with the changes made as
// users' mail clients and a delivery agent make them: through IMAP, by
// another connection (UID STORE, UID EXPUNGE, APPEND), answered by
// Dovecot before the timer starts.
func BenchmarkDeltaEngine_OnePercentChangedIMAP100k(b *testing.B) {
	benchDeltaEngine(b, dovecotBench{dc.Get(b)}, "bimap", mutateIMAP)
}

// BenchmarkDeltaEngine_OnePercentChangedIMAPSettled100k is
// BenchmarkDeltaEngine_OnePercentChangedIMAP100k with the delta started
// only once the folder's maildir has not changed for two seconds, as a
// daily delta finds it. Dovecot trusts a maildir directory's mtime only
// when it is at least a second old; a delta that follows the changes
// within that second makes Dovecot re-read the whole directory at SELECT,
// which the other variant measures (the worst case: a SyncNow right after
// the user's last change).
func BenchmarkDeltaEngine_OnePercentChangedIMAPSettled100k(b *testing.B) {
	srv := dc.Get(b)
	benchDeltaEngine(b, dovecotBench{srv}, "bsettled", func(b *testing.B, bs benchServer, user string, round int) {
		mutateIMAP(b, bs, user, round)
		dir, err := srv.MaildirDir(user, []string{"INBOX"})
		if err != nil {
			b.Fatal(err)
		}
		waitMaildirSettled(b, dir, 2*time.Second)
	})
}

// waitMaildirSettled waits until neither the maildir dir nor its cur and
// new directories changed in the last quiet: the condition is the age of
// their mtimes, so it waits for the time until the youngest is old enough
// and looks again.
func waitMaildirSettled(b *testing.B, dir string, quiet time.Duration) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var last time.Time
		for _, d := range []string{dir, filepath.Join(dir, "cur"), filepath.Join(dir, "new")} {
			fi, err := os.Stat(d)
			if err != nil {
				b.Fatal(err)
			}
			if fi.ModTime().After(last) {
				last = fi.ModTime()
			}
		}
		age := time.Since(last)
		if age >= quiet {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("maildir %s still changing after a minute", dir)
		}
		<-time.After(quiet - age)
	}
}

// BenchmarkDeltaEngine_NoChange100k is BenchmarkDelta_NoChange100k
// measured as BenchmarkDeltaEngine_OnePercentChanged100k measures: the
// pass's end through the Observer (not the harness's 5 ms polling of the
// user's state), the engine's and Dovecot's CPU per delta, and the
// phases of the pass in the log.
func BenchmarkDeltaEngine_NoChange100k(b *testing.B) {
	benchDeltaEngine(b, dovecotBench{dc.Get(b)}, "bnochange", noChange)
}

// BenchmarkDeltaEngine_CyrusOnePercentChangedIMAP100k is
// BenchmarkDeltaEngine_OnePercentChangedIMAP100k against Cyrus, whose
// folder is an mmap'd index (cyrus.index) that a session brings up to
// date from its own records, never by re-reading the spool directory:
// what a 1% delta costs where the server is not the bottleneck. The
// folder is seeded by MULTIAPPEND (the seeding time is logged).
func BenchmarkDeltaEngine_CyrusOnePercentChangedIMAP100k(b *testing.B) {
	benchDeltaEngine(b, cyrusBench{cy.Get(b)}, "cimap", mutateIMAP)
}

// BenchmarkDeltaEngine_CyrusNoChange100k is
// BenchmarkDeltaEngine_NoChange100k against Cyrus.
func BenchmarkDeltaEngine_CyrusNoChange100k(b *testing.B) {
	benchDeltaEngine(b, cyrusBench{cy.Get(b)}, "cnochange", noChange)
}

func noChange(*testing.B, benchServer, string, int) {}

// benchDeltaEngine syncs a user of srv with benchMessages(100000)
// messages once, then times b.N deltas, each after mutate changed the
// user's INBOX outside the timer. It reports the engine's CPU (rusage of
// this process) and the server's ("<name>-cpu-ms/op") per delta, and
// where a delta's wall time goes in the log (phaseClock).
func benchDeltaEngine(b *testing.B, srv benchServer, prefix string, mutate func(b *testing.B, srv benchServer, user string, round int)) {
	n := benchMessages(100000)
	user, password := srv.newUser(b, prefix)
	srv.seed(b, user, n)
	watch := passWatch{done: make(chan string, 16)}
	clock := newPhaseClock()
	h, tgt, addr := newIMAPWorld(b, srv.connector(b), user, password, worldOptions{
		wrap: func(c *imapsrc.Connector) migrate.SourceConnector { return timedConnector{c, clock} },
		engine: func(o *migrate.Options) {
			o.Observer = watch
			o.ScanInterval = time.Hour // SyncNowUser wakes the scheduler itself
		}})
	start := time.Now()
	if got := <-watch.done; got != "initial ok" {
		b.Fatalf("initial pass: %s", got)
	}
	h.waitUserFor(addr, 30*time.Minute, model.UserSynced)
	b.Logf("initial sync of %d messages: %s", n, time.Since(start))
	box := tgt.Box(addr)
	var writes int
	var cpu time.Duration
	var srvCPU float64
	*clock = *newPhaseClock()
	allocProfile(b, "before")
	defer allocProfile(b, "after")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		mutate(b, srv, user, i)
		before := box.Counts()
		h.waitUserFor(addr, time.Minute, model.UserSynced) // the last pass's run is gone
		waitSessionsGone(b, srv)
		c0 := cpuTime()
		d0, _ := srv.cpuSeconds()
		clock.begin()
		b.StartTimer()
		if err := h.eng.SyncNowUser(context.Background(), addr); err != nil {
			b.Fatal(err)
		}
		got := <-watch.done
		b.StopTimer()
		clock.end()
		cpu += cpuTime() - c0
		d1, _ := srv.cpuSeconds()
		srvCPU += d1 - d0
		if !strings.HasSuffix(got, " ok") {
			b.Fatalf("delta %d: %s", i, got)
		}
		writes += targetWrites(before, box.Counts())
		b.StartTimer()
	}
	reportDeltaWrites(b, box, writes)
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(srvCPU*1000/float64(b.N), srv.name()+"-cpu-ms/op")
	clock.report(b, b.N)
}

// waitSessionsGone waits until the server runs no IMAP session: Dovecot's
// mutating session's and the last pass's processes go on after their
// LOGOUT while Dovecot writes the folder's indexes on close (up to a
// second of CPU for a 100,000-message folder after 1,000 changes). Timed
// with the delta, that work was counted in dovecot-cpu-ms/op and took a
// core from the delta.
func waitSessionsGone(b *testing.B, srv benchServer) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := srv.sessions()
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d %s IMAP sessions still running after a minute", n, srv.name())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mutateIMAP makes mutateMaildir's changes through IMAP, by another
// connection: \Flagged toggled on 500 messages (UID STORE), 250 expunged
// (UID STORE \Deleted, UID EXPUNGE), 250 new ones APPENDed.
func mutateIMAP(b *testing.B, srv benchServer, user string, round int) {
	b.Helper()
	ctx := context.Background()
	c, err := srv.client(ctx, user)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	d, err := c.UIDSearch(&imap.SearchCriteria{}, &imap.SearchOptions{ReturnAll: true}).Wait()
	if err != nil {
		b.Fatal(err)
	}
	all, _ := d.All.(imap.UIDSet)
	var uids []imap.UID
	for _, r := range all {
		for u := r.Start; u <= r.Stop; u++ {
			uids = append(uids, u)
		}
	}
	off := (round * 1000) % (len(uids) - 1000)
	msgs, err := c.Fetch(imap.UIDSetNum(uids[off:off+500]...), &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		b.Fatal(err)
	}
	var on, off2 imap.UIDSet
	for _, m := range msgs {
		if slices.Contains(m.Flags, imap.FlagFlagged) {
			off2.AddNum(m.UID)
		} else {
			on.AddNum(m.UID)
		}
	}
	for set, op := range map[*imap.UIDSet]imap.StoreFlagsOp{&on: imap.StoreFlagsAdd, &off2: imap.StoreFlagsDel} {
		if len(*set) == 0 {
			continue
		}
		if err := c.Store(*set, &imap.StoreFlags{Op: op, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
			b.Fatal(err)
		}
	}
	gone := imap.UIDSetNum(uids[off+500 : off+750]...)
	if err := c.Store(gone, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		b.Fatal(err)
	}
	if err := c.UIDExpunge(gone).Close(); err != nil {
		b.Fatal(err)
	}
	for j := 0; j < 250; j++ {
		raw := fmt.Sprintf("From: a@b.c\r\nSubject: new %d-%d\r\nMessage-ID: <n%d.%d@bench>\r\n\r\nx\r\n", round, j, round, j)
		a := c.Append("INBOX", int64(len(raw)), nil)
		if _, err := a.Write([]byte(raw)); err != nil {
			b.Fatal(err)
		}
		if err := a.Close(); err != nil {
			b.Fatal(err)
		}
		if _, err := a.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.Noop().Wait(); err != nil {
		b.Fatal(err)
	}
	if err := c.Logout().Wait(); err != nil {
		b.Fatal(err)
	}
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
