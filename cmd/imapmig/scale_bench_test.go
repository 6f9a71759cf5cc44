package main

// The scale bench (issue 15, items 1 and 3): the real daemon against Dovecot
// and the Graph emulator with N mailboxes migrating at once, reporting each
// process's CPU seconds side by side, the engine's CPU per GB, its peak RSS
// and the SyncNow pickup time while the batch runs. docs/BENCHMARKS.md has
// the commands and the numbers.

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// scalePeaks remembers each run's peak RSS by mailbox count, so that the
// largest run of one invocation can report RSS per extra mailbox.
var scalePeaks = map[int]float64{}

// BenchmarkScale migrates N mailboxes of ordinary mail at once (40
// messages of up to 100 KB, the special kinds, and one of 1–10 MB each) (Exchange's
// limits as they are, windows time-scaled 60×, 50 ms of service latency).
// IMAPMIG_BENCH_SCALE picks the counts (default "1,20,200");
// IMAPMIG_BENCH_PPROF=DIR saves CPU, heap and goroutine profiles of the daemon there
// (and the heap's text form, which ends with runtime.MemStats); with
// GODEBUG=gctrace=1 also the daemon's collections.
func BenchmarkScale(b *testing.B) {
	counts := []int{1, 20, 200}
	if s := os.Getenv("IMAPMIG_BENCH_SCALE"); s != "" {
		counts = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("IMAPMIG_BENCH_SCALE=%q", s)
			}
			counts = append(counts, n)
		}
	}
	for _, n := range counts {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r := runScale(b, "sc", n, mailgen.Options{Messages: 40, Large: 1})
				scalePeaks[n] = r.peakRSS
				if one, ok := scalePeaks[1]; ok && n > 1 {
					b.ReportMetric((r.peakRSS-one)/float64(n-1), "RSS-MB/extra-mailbox")
				}
			}
		})
	}
}

// BenchmarkScale_Large is 20 mailboxes each migrating a message just under
// 35 MB (and skipping one just over), for the peak RSS with large mail.
func BenchmarkScale_Large(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runScale(b, "sl", 20, mailgen.Options{Messages: 10, NearLimit: true})
	}
}

type scaleResult struct{ peakRSS float64 }

func runScale(b *testing.B, prefix string, n int, gen mailgen.Options) scaleResult {
	b.Helper()
	e := newE2E(b, prefix, n, gen, graphemu.Options{TimeScale: 60, Latency: 50 * time.Millisecond})
	// Every mailbox at once: the endpoint's default is 20.
	cfg, err := os.ReadFile(e.cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	limit := max(n, 20)
	cfg = []byte(strings.Replace(string(cfg), "    ca_file: dovecot.pem\n", fmt.Sprintf(
		"    ca_file: dovecot.pem\n    max_concurrent_migrations: %d\n    max_concurrent_incremental_syncs: %d\n", limit, limit), 1))
	writeFile(b, e.cfgPath, string(cfg))
	env := []string{"E2E_CLIENT_SECRET=e2e-secret-value"}
	var prof *profiler
	if dir := os.Getenv("IMAPMIG_BENCH_PPROF"); dir != "" {
		prof = &profiler{dir: dir, name: fmt.Sprintf("%s%d", prefix, n), addr: freePort(b), stop: make(chan struct{})}
		env = append(env, profileListenEnv+"="+prof.addr) // the daemon's only, not the CLI's
	}
	e.daemon, e.logs = startServeLogs(b, e.cfgPath, e.addr, env)
	mem := watchMemory(e.daemon.Process.Pid)
	b.ResetTimer()

	dovecot0 := dovecotCPU(b, e.dc)
	self0 := selfCPU()
	req0 := e.emu.Stats().Requests
	if prof != nil {
		prof.start(b)
	}
	start := time.Now()
	e.cli("batch", "new", "scale", "--endpoint", "dovecot", "--tenant", "contoso", "--csv", filepath.Join(e.dir, "users.csv"), "--autostart")
	var pickup time.Duration
	pickupDuring := false
	if n > 1 {
		pickup, pickupDuring = e.syncNowDuringBatch("scale")
	}
	v := e.waitSynced("scale", time.Hour)
	elapsed := time.Since(start).Seconds()
	if prof != nil {
		prof.finish(b)
		prof.saveGCTrace(e.logs.String())
	}
	dovecotCPUs := dovecotCPU(b, e.dc) - dovecot0
	emuCPU := selfCPU() - self0
	requests := e.emu.Stats().Requests - req0
	b.StopTimer()
	if v.Status != "Synced" || v.SyncedCount != n {
		b.Fatalf("batch: %s, %d of %d users synced: %+v", v.Status, v.SyncedCount, n, v)
	}
	checked := e.verify()
	mem.stop()
	stopServe(b, e.daemon)
	ru := e.daemon.ProcessState.SysUsage().(*syscall.Rusage)
	engineCPU := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	gb := float64(v.SyncedBytes) / 1e9
	peak := mem.hwm / 1024
	b.ReportMetric(peak, "peak-RSS-MB")
	b.ReportMetric(engineCPU/gb, "engine-CPU-s/GB")
	b.ReportMetric(engineCPU, "engine-CPU-s")
	b.ReportMetric(engineCPU/float64(v.SyncedItemCount)*1e3, "engine-CPU-ms/msg")
	b.ReportMetric(dovecotCPUs, "dovecot-CPU-s")
	b.ReportMetric(emuCPU, "emulator-CPU-s")
	b.ReportMetric(float64(v.SyncedBytes)/1e6, "MB")
	b.ReportMetric(float64(requests)/float64(v.SyncedItemCount), "graph-requests/msg")
	if n > 1 {
		b.ReportMetric(pickup.Seconds(), "syncnow-pickup-s")
	}
	b.ReportMetric(mem.anon/1024, "peak-RssAnon-MB")
	b.ReportMetric(mem.file/1024, "peak-RssFile-MB")
	b.Logf("%d users synced (%d messages checked in the target), %d messages, %.1f MB in %.1f s wall; CPU s: engine %.1f, dovecot %.1f, emulator+harness %.1f; engine peak RSS %.0f MB (sampled peaks: anonymous %.0f MB, file-backed %.0f MB); SyncNow pickup %s (batch still running: %v); 429s: %d",
		v.SyncedCount, checked, v.SyncedItemCount, float64(v.SyncedBytes)/1e6, elapsed, engineCPU, dovecotCPUs, emuCPU, peak, mem.anon/1024, mem.file/1024, pickup, pickupDuring, e.emu.Stats().Throttled)
	return scaleResult{peakRSS: peak}
}

// syncNowDuringBatch waits for the first user of the batch to finish its
// initial sync, asks for a SyncNow of it and returns how long the daemon
// took to start that pass, and whether other users were still migrating
// when it was asked.
func (e *e2e) syncNowDuringBatch(batch string) (time.Duration, bool) {
	e.t.Helper()
	deadline := time.Now().Add(time.Hour)
	for time.Now().Before(deadline) {
		v := e.batch(batch)
		if v.SyncedCount > 0 {
			for _, u := range e.users {
				if e.user(u.email).Status == "Synced" {
					running := e.batch(batch).SyncedCount < v.TotalCount
					return e.syncNowPickup(u.email), running
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatal("no user synced within an hour")
	return 0, false
}

// syncNowPickup asks for a delta of one user and returns how long the
// daemon took to start it (the pass itself is not waited for): from just
// before `imapmig user syncnow` runs to the time of the daemon's own "pass
// started" log line, so the polling that notices it does not count.
func (e *e2e) syncNowPickup(email string) time.Duration {
	e.t.Helper()
	before := e.user(email)
	asked := time.Now()
	e.cli("user", "syncnow", email)
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		u := e.user(email)
		if u.Status == "IncrementalSyncing" || lastSync(u).After(lastSync(before)) {
			if t, ok := passStartLogged(e.logs.String(), email, asked); ok {
				return t.Sub(asked)
			}
			e.t.Logf("no \"pass started\" line for %s in the log: pickup as polled", email)
			return time.Since(asked)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("SyncNow of %s not started after 10 minutes", email)
	return 0
}

// passStartLogged finds the time of the first incremental "pass started"
// line of email at or after since in the daemon's text log.
func passStartLogged(log, email string, since time.Time) (time.Time, bool) {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `msg="pass started"`) || !strings.Contains(line, " user="+email+" ") || !strings.Contains(line, "pass=incremental") {
			continue
		}
		ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil && !t.Before(since.Truncate(time.Millisecond)) {
			return t, true
		}
	}
	return time.Time{}, false
}

// memWatch samples a process's RssAnon and RssFile (/proc/PID/status) every
// 10 ms and keeps their peaks (KB): the kernel's peak RSS mark does not say
// whether heap or mapped spool files made it.
//
// The peak itself is VmHWM, read before the process ends: rusage's ru_maxrss
// of a child is useless here, because Go starts children with vfork
// semantics and exec records the parent's (this test process's) high-water
// mark as the child's.
type memWatch struct {
	pid             int
	anon, file, hwm float64
	done            chan struct{}
	wg              sync.WaitGroup
}

func watchMemory(pid int) *memWatch {
	w := &memWatch{pid: pid, done: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
			}
			w.sample()
		}
	}()
	return w
}

func (w *memWatch) sample() {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.pid))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "RssAnon:":
			w.anon = max(w.anon, v)
		case "RssFile:":
			w.file = max(w.file, v)
		case "VmHWM:":
			w.hwm = max(w.hwm, v)
		}
	}
}

// stop ends the sampling; call it while the process still runs.
func (w *memWatch) stop() {
	close(w.done)
	w.wg.Wait()
	w.sample()
}

// selfCPU is this process's CPU seconds so far: the emulator runs here.
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// dovecotCPU is the CPU seconds of Dovecot's master and every process under
// it, living or exited (dovecot.Server.CPUSeconds, from /proc).
func dovecotCPU(tb testing.TB, srv *dovecot.Server) float64 {
	tb.Helper()
	secs, err := srv.CPUSeconds()
	if err != nil {
		tb.Fatal(err)
	}
	return secs
}

// profiler saves back-to-back 10-second CPU profiles of the daemon while the
// batch runs, a heap profile after each (the heap at the last GC: the one
// of the largest in-use size is nearest the peak), and one at the end;
// `go tool pprof` merges the CPU files.
type profiler struct {
	dir, name, addr string
	stop            chan struct{}
	wg              sync.WaitGroup
}

func (p *profiler) start(b *testing.B) {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		b.Fatal(err)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for k := 0; ; k++ {
			select {
			case <-p.stop:
				return
			default:
			}
			p.save("/debug/pprof/profile?seconds=10", fmt.Sprintf("%s-cpu-%02d.pb.gz", p.name, k))
			p.save("/debug/pprof/heap", fmt.Sprintf("%s-heap-%02d.pb.gz", p.name, k))
			p.save("/debug/pprof/heap?debug=1", fmt.Sprintf("%s-heap-%02d.txt", p.name, k)) // ends with runtime.MemStats: stacks, heap in use, idle
			p.save("/debug/pprof/goroutine", fmt.Sprintf("%s-goroutine-%02d.pb.gz", p.name, k))
		}
	}()
}

func (p *profiler) save(path, file string) { p.saveSignalled(path, file, nil) }

// saveSignalled is save that closes sent (when not nil) as soon as the
// request is written, or has failed: a caller waits on it to start what a
// CPU profile should cover.
func (p *profiler) saveSignalled(path, file string, sent chan<- struct{}) {
	var once sync.Once
	signal := func() {
		if sent != nil {
			once.Do(func() { close(sent) })
		}
	}
	defer signal()
	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+path, nil)
	if err != nil {
		return
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { signal() },
	}))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(filepath.Join(p.dir, file))
	if err != nil {
		return
	}
	defer f.Close()
	io.Copy(f, resp.Body)
}

// saveGCTrace keeps the lines GODEBUG=gctrace=1 made the daemon write
// (heap sizes at every collection), when there are any.
func (p *profiler) saveGCTrace(log string) {
	var lines []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "gc ") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 0 {
		_ = os.WriteFile(filepath.Join(p.dir, p.name+"-gctrace.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	}
}

func (p *profiler) finish(b *testing.B) {
	p.save("/debug/pprof/heap", p.name+"-heap-end.pb.gz")
	close(p.stop)
	p.wg.Wait()
}
