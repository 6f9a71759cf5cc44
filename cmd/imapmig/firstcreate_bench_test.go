package main

// Time to the first create of a huge mailbox (issue 15, item 4): the real
// daemon against Dovecot and the Graph emulator (Exchange's limits as they
// are, windows time-scaled 60×, 50 ms of service latency). docs/BENCHMARKS.md
// has the commands and the numbers.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// BenchmarkFirstCreate_HugeFolder migrates a mailbox whose INBOX holds
// IMAPMIG_BENCH_HUGE messages (default 100,000) on top of the 7 of a small
// generated mailbox (499993 makes the 500,000-item mailbox, at the
// item limit), written as maildir files and indexed by Dovecot once, as a
// real server has them. It reports the time from the batch's creation to
// the first message created in the emulator, and stops the batch there.
func BenchmarkFirstCreate_HugeFolder(b *testing.B) {
	n := 100_000
	if s := os.Getenv("IMAPMIG_BENCH_HUGE"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("IMAPMIG_BENCH_HUGE=%q", s)
		}
		n = v
	}
	for i := 0; i < b.N; i++ {
		runFirstCreate(b, n)
	}
}

func runFirstCreate(b *testing.B, n int) {
	b.Helper()
	b.StopTimer()
	e := newE2E(b, "fc", 1, mailgen.Options{Messages: 1}, graphemu.Options{TimeScale: 60, Latency: 50 * time.Millisecond})
	login := e.users[0].login
	seedStart := time.Now()
	base := time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 50_000
	msgs := make([]mailgen.Message, 0, batch)
	for i := 0; i < n; i++ {
		raw := fmt.Appendf(nil, "From: a%d@example.org\r\nTo: b@example.org\r\nSubject: message %d\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <%d@huge.example.org>\r\n\r\nbody %d\r\n", i%97, i, i, i)
		msgs = append(msgs, mailgen.Message{Raw: raw, Flags: []string{`\Seen`}, InternalDate: base.Add(time.Duration(i) * time.Minute)})
		if len(msgs) == batch || i == n-1 {
			if err := e.dc.WriteMaildir(login, []string{"INBOX"}, msgs); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	// Let Dovecot index the folder once, as a real server has.
	c, err := e.dc.Client(context.Background(), login)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	c.Close()
	b.Logf("%d messages written and indexed in %.1f s", n, time.Since(seedStart).Seconds())

	e.daemon, e.logs = startServeLogs(b, e.cfgPath, e.addr, []string{"E2E_CLIENT_SECRET=e2e-secret-value"})
	dovecot0 := dovecotCPU(b, e.dc)
	b.StartTimer()
	start := time.Now()
	e.cli("batch", "new", "huge", "--endpoint", "dovecot", "--tenant", "contoso", "--csv", filepath.Join(e.dir, "users.csv"), "--autostart")
	deadline := start.Add(30 * time.Minute)
	for e.emu.Stats().Creates == 0 {
		if time.Now().After(deadline) {
			b.Fatalf("no create after 30 minutes: %+v", e.user(e.users[0].email))
		}
		time.Sleep(20 * time.Millisecond)
	}
	first := time.Since(start)
	b.StopTimer()
	dovecotCPUs := dovecotCPU(b, e.dc) - dovecot0
	e.cli("batch", "stop", "huge")
	stopServe(b, e.daemon)
	ru := e.daemon.ProcessState.SysUsage().(*syscall.Rusage)
	engineCPU := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	b.ReportMetric(first.Seconds(), "first-create-s")
	b.ReportMetric(dovecotCPUs, "dovecot-CPU-s")
	b.ReportMetric(engineCPU, "engine-CPU-s(whole-run)")
	b.Logf("%d messages: first create %.1f s after the batch was created; Dovecot CPU %.1f s until then; engine CPU %.1f s over its whole run",
		n, first.Seconds(), dovecotCPUs, engineCPU)
}
