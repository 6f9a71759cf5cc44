package main

// The side-by-side figure against the C reference (issue 15, item 6): the
// same corpus pulled by mbsync (isync) into maildirs and migrated by imapmig
// into the Graph emulator without throttling, on the same Dovecot, one after
// the other in each run (the order alternates), several runs, medians.

import (
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/logbuf"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// BenchmarkMbsync compares imapmig with mbsync on a 3-user corpus of about
// 140 MB. IMAPMIG_BENCH_RUNS sets the number of runs (default 5); each
// run reports its figures in the log and the benchmark reports the medians.
func BenchmarkMbsync(b *testing.B) {
	mbsync, err := exec.LookPath("mbsync")
	if err != nil {
		b.Skip("mbsync (Debian isync) is not installed")
	}
	runs := 5
	if s := os.Getenv("IMAPMIG_BENCH_RUNS"); s != "" {
		if runs, err = strconv.Atoi(s); err != nil || runs < 1 {
			b.Fatalf("IMAPMIG_BENCH_RUNS=%q", s)
		}
	}
	for i := 0; i < b.N; i++ {
		e := newE2E(b, "mb", 3, mailgen.Options{Messages: 200, Large: 6}, graphemu.Options{DisableThrottling: true})
		logins := csvLogins(b, filepath.Join(e.dir, "users.csv"))
		var ratios, cpuPerGB, rss, mbWall, imWall []float64
		for r := 0; r < runs; r++ {
			var m mbsyncRun
			var im imapmigRun
			if r%2 == 0 {
				m = runMbsync(b, mbsync, e, logins, r)
				im = runImapmigOnce(b, e, r)
			} else {
				im = runImapmigOnce(b, e, r)
				m = runMbsync(b, mbsync, e, logins, r)
			}
			ratios = append(ratios, im.wall/m.wall)
			cpuPerGB = append(cpuPerGB, im.cpu/(float64(im.bytes)/1e9))
			rss = append(rss, im.peakRSS)
			mbWall = append(mbWall, m.wall)
			imWall = append(imWall, im.wall)
			b.Logf("run %d: mbsync %.2f s wall, %.2f CPU s, %d files, %.1f MB (Dovecot %.2f CPU s, harness %.2f); imapmig %.2f s wall, %.2f CPU s, %d messages, %.1f MB, peak RSS %.0f MB (Dovecot %.2f CPU s, emulator+harness %.2f, CLI %.2f; daemon ready in %.2f s); ratio %.2f",
				r+1, m.wall, m.cpu, m.files, float64(m.bytes)/1e6, m.dovecot, m.harness,
				im.wall, im.cpu, im.items, float64(im.bytes)/1e6, im.peakRSS, im.dovecot, im.harness, im.cli, im.ready, im.wall/m.wall)
		}
		b.ReportMetric(median(ratios), "wall-ratio-imapmig/mbsync")
		b.ReportMetric(median(cpuPerGB), "imapmig-CPU-s/GB")
		b.ReportMetric(median(rss), "imapmig-peak-RSS-MB")
		b.ReportMetric(median(mbWall), "mbsync-wall-s")
		b.ReportMetric(median(imWall), "imapmig-wall-s")
		b.Logf("over %d runs: ratio %.2f–%.2f, CPU s/GB %.1f–%.1f, peak RSS %.0f–%.0f MB", runs,
			slices.Min(ratios), slices.Max(ratios), slices.Min(cpuPerGB), slices.Max(cpuPerGB), slices.Min(rss), slices.Max(rss))
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// csvLogins reads the users' IMAP logins and passwords from the batch CSV.
func csvLogins(tb testing.TB, path string) [][2]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var out [][2]string
	for _, r := range rows[1:] {
		out = append(out, [2]string{r[1], r[2]})
	}
	return out
}

type mbsyncRun struct {
	wall, cpu float64
	files     int
	bytes     int64
	// Other processes' CPU seconds while mbsync ran: Dovecot and this
	// process (the harness; the emulator is idle).
	dovecot, harness float64
}

// runMbsync pulls every user into a fresh maildir, one mbsync process per
// user at once (imapmig migrates the users at once too).
func runMbsync(tb testing.TB, bin string, e *e2e, logins [][2]string, run int) mbsyncRun {
	tb.Helper()
	dir := filepath.Join(e.dir, fmt.Sprintf("mbsync-%d", run))
	var cmds []*exec.Cmd
	for i, l := range logins {
		md := filepath.Join(dir, l[0])
		if err := os.MkdirAll(md, 0o700); err != nil {
			tb.Fatal(err)
		}
		rc := writeFile(tb, filepath.Join(dir, fmt.Sprintf("mbsyncrc-%d", i)), fmt.Sprintf(`IMAPAccount a
Host localhost
Port %d
User %s
Pass %s
SSLType IMAPS
CertificateFile %s

IMAPStore far
Account a

MaildirStore near
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel c
Far :far:
Near :near:
Patterns *
Create Near
Sync Pull
SyncState *
`, e.dc.TLSPort, l[0], l[1], filepath.Join(e.dir, "dovecot.pem"), md, md))
		cmd := exec.Command(bin, "-q", "-c", rc, "-a")
		cmd.Stderr = &logbuf.Buffer{}
		cmds = append(cmds, cmd)
	}
	dovecot0, self0 := dovecotCPU(tb, e.dc), selfCPU()
	start := time.Now()
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			tb.Fatal(err)
		}
	}
	var cpu float64
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			tb.Fatalf("mbsync: %v: %s", err, c.Stderr)
		}
		ru := c.ProcessState.SysUsage().(*syscall.Rusage)
		cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	res := mbsyncRun{wall: time.Since(start).Seconds(), cpu: cpu,
		dovecot: dovecotCPU(tb, e.dc) - dovecot0, harness: selfCPU() - self0}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if d := filepath.Base(filepath.Dir(p)); err == nil && fi.Mode().IsRegular() && (d == "cur" || d == "new") {
			res.files++
			res.bytes += fi.Size()
		}
		return nil
	})
	os.RemoveAll(dir)
	return res
}

type imapmigRun struct {
	wall, cpu, peakRSS float64
	items, bytes       int64
	// Other processes' CPU seconds from batch new to the last pass done:
	// Dovecot, this process (the emulator and the harness) and the CLI
	// runs (batch new).
	dovecot, harness, cli float64
	ready                 float64 // daemon start to healthy, s (not in wall)
}

// runImapmigOnce migrates every user with a fresh daemon (its own data
// directory) into a fresh emulator without throttling. The wall time runs
// from just before `imapmig batch new --autostart` to the time of the
// daemon's own "pass done" log line of the last user (passesDone), so the
// polling that notices the end does not count in it.
func runImapmigOnce(tb testing.TB, e *e2e, run int) imapmigRun {
	tb.Helper()
	var boxes []string
	for _, u := range e.users {
		boxes = append(boxes, u.email)
	}
	emu, err := graphemu.New(graphemu.Options{Mailboxes: boxes, DisableThrottling: true})
	if err != nil {
		tb.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		tb.Fatal(err)
	}
	defer emu.Close()
	base, err := os.ReadFile(e.cfgPath)
	if err != nil {
		tb.Fatal(err)
	}
	rd := filepath.Join(e.dir, fmt.Sprintf("imapmig-%d", run))
	if err := os.MkdirAll(rd, 0o700); err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(rd)
	cfg := string(base)
	cfg = strings.Replace(cfg, "data_dir: data", "data_dir: "+filepath.Join(rd, "data"), 1)
	cfg = strings.Replace(cfg, e.emu.AuthorityHost(), emu.AuthorityHost(), 1)
	cfg = strings.Replace(cfg, e.emu.GraphURL(), emu.GraphURL(), 1)
	cfg = strings.Replace(cfg, "ca_file: graph.pem", "ca_file: "+writeFile(tb, filepath.Join(rd, "graph.pem"), string(emu.CertPEM())), 1)
	cfg = strings.Replace(cfg, "ca_file: dovecot.pem", "ca_file: "+filepath.Join(e.dir, "dovecot.pem"), 1)
	addr := freePort(tb)
	cfg = strings.Replace(cfg, "listen: "+e.addr, "listen: "+addr, 1)
	r := &e2e{t: tb, dir: rd, cfgPath: writeFile(tb, filepath.Join(rd, "imapmig.yaml"), cfg), addr: addr, dc: e.dc, emu: emu, users: e.users}
	r.env = []string{"IMAPMIG_CONFIG=" + r.cfgPath}
	booted := time.Now()
	env := []string{"E2E_CLIENT_SECRET=e2e-secret-value"}
	profDir := os.Getenv("IMAPMIG_BENCH_PPROF")
	var profAddr string
	if profDir != "" {
		profAddr = freePort(tb)
		env = append(env, profileListenEnv+"="+profAddr) // the daemon's only
	}
	r.daemon, r.logs = startServeLogs(tb, r.cfgPath, r.addr, env)
	ready := time.Since(booted).Seconds()
	mem := watchMemory(r.daemon.Process.Pid)
	var profiled chan struct{}
	if profDir != "" {
		// One CPU profile of the daemon from before batch new until well
		// after the passes (the idle rest adds no samples).
		profiled = make(chan struct{})
		sent := make(chan struct{})
		p := &profiler{dir: profDir, addr: profAddr}
		go func() {
			defer close(profiled)
			p.saveSignalled("/debug/pprof/profile?seconds=20", fmt.Sprintf("mbsync-imapmig-run%d-cpu.pb.gz", run+1), sent)
		}()
		<-sent // the profile request is on the wire before batch new
	}
	dovecot0, self0, kids0 := dovecotCPU(tb, e.dc), selfCPU(), childrenCPU()
	start := time.Now()
	r.cli("batch", "new", "cmp", "--endpoint", "dovecot", "--tenant", "contoso", "--csv", filepath.Join(e.dir, "users.csv"), "--autostart")
	end := r.passesDone(boxes, start, 30*time.Minute)
	dovecotCPUs, harness := dovecotCPU(tb, e.dc)-dovecot0, selfCPU()-self0
	cli := childrenCPU() - kids0
	wall := end.Sub(start).Seconds()
	v := r.waitSynced("cmp", 30*time.Minute)
	if v.Status != "Synced" {
		tb.Fatalf("batch: %+v", v)
	}
	mem.stop()
	if dir := os.Getenv("IMAPMIG_BENCH_LOGDIR"); dir != "" {
		writeFile(tb, filepath.Join(dir, fmt.Sprintf("mbsync-imapmig-run%d.log", run+1)), r.logs.String())
	}
	if profiled != nil {
		<-profiled
	}
	stopServe(tb, r.daemon)
	ru := r.daemon.ProcessState.SysUsage().(*syscall.Rusage)
	return imapmigRun{wall: wall, cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(),
		peakRSS: mem.hwm / 1024, items: v.SyncedItemCount, bytes: v.SyncedBytes,
		dovecot: dovecotCPUs, harness: harness, cli: cli, ready: ready}
}

// passesDone waits until the daemon has logged "pass done" for the initial
// pass of every user in emails and returns the time of the last of those
// lines (the daemon's own clock, this machine's).
func (e *e2e) passesDone(emails []string, since time.Time, limit time.Duration) time.Time {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var last time.Time
		all := true
		changed := e.logs.Changed() // before String: no line slips between
		log := e.logs.String()
		for _, email := range emails {
			t, ok := passDoneLogged(log, email, since)
			if !ok {
				all = false
				break
			}
			if t.After(last) {
				last = t
			}
		}
		if all {
			return last
		}
		if time.Now().After(deadline) || e.daemon.ProcessState != nil {
			e.t.Fatalf("not every initial pass done after %s:\n%s", limit, log)
		}
		select { // the daemon's next log line, or the deadline
		case <-changed:
		case <-time.After(time.Until(deadline)):
		}
	}
}

// passDoneLogged finds the time of the first initial "pass done" line of
// email at or after since in the daemon's text log.
func passDoneLogged(log, email string, since time.Time) (time.Time, bool) {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `msg="pass done"`) || !strings.Contains(line, " user="+email+" ") || !strings.Contains(line, "pass=initial") {
			continue
		}
		ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil && !t.Before(since.Truncate(time.Millisecond)) {
			return t, true
		}
	}
	return time.Time{}, false
}

// childrenCPU is the CPU seconds of this process's children that have
// ended and been waited for (the CLI runs, mbsync, a stopped daemon).
func childrenCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
