package main

import (
	"strings"
	"testing"

	"github.com/imapmig/imapmig/testenv/logbuf"
)

// TestWatchFollow_SurvivesADaemonRestart runs `batch watch --follow` (the
// real binary, plain output) while the daemon is stopped and started
// again: it says it is waiting for the daemon, then goes on.
func TestWatchFollow_SurvivesADaemonRestart(t *testing.T) {
	dd := newDaemonDir(t, oldAndContoso)
	cfg, addr, env := dd.cfg, dd.addr, dd.env
	d := startServe(t, cfg, addr)
	csv := dd.file(t, "one.csv", csvRows(2))
	if out, errOut, code := runCLI(t, env, "batch", "new", "wave1", "--endpoint", "old", "--tenant", "contoso", "--csv", csv); code != 0 {
		t.Fatalf("batch new: %d %s %s", code, out, errOut)
	}
	out, errOut := &logbuf.Buffer{}, &logbuf.Buffer{}
	w := startCLI(t, env, out, errOut, "batch", "watch", "wave1", "--follow", "--interval", "20ms")
	alive := func() bool {
		select {
		case <-w.exited:
			t.Fatalf("watch ended: %v\nstdout:\n%s\nstderr:\n%s", w.err, out.String(), errOut.String())
		default:
		}
		return true
	}
	poll(t, "the first frame", func() bool { return alive() && strings.Contains(out.String(), "batch wave1 Created") })
	stopServe(t, d)
	poll(t, "the waiting line", func() bool { return alive() && strings.Contains(out.String(), "waiting for the daemon") })
	startServe(t, cfg, addr)
	poll(t, "the watch going on", func() bool {
		s := out.String()
		i := strings.Index(s, "the daemon answers again")
		return alive() && i >= 0 && strings.Contains(s[i:], "batch wave1 Created")
	})
	if n := strings.Count(out.String(), "waiting for the daemon"); n != 1 {
		t.Errorf("%d waiting lines, want 1:\n%s", n, out.String())
	}
}
