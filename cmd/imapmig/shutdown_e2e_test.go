package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// TestE2E_SIGTERMDuringUploadStopsWithin5s: SIGTERM while a chunk of a
// 34 MB upload is on the wire and its answer never comes (the emulator
// holds it). The daemon exits cleanly within 5 s: the pass stops, the
// create on the wire gets its grace and is cut. After a restart the
// mailbox holds exactly the source, the incomplete item was removed for
// good, the spool is empty and the state passes its invariant check.
func TestE2E_SIGTERMDuringUploadStopsWithin5s(t *testing.T) {
	ctx := context.Background()
	e := newE2E(t, "term", 1, mailgen.Options{Messages: 10}, graphemu.Options{TimeScale: 60})
	u := &e.users[0]
	e.addNearLimit(ctx, u)
	want, _ := expectations(u.mb)
	gate := e.emu.Hold(nth(2, func(r graphemu.HeldRequest) bool {
		return r.Method == "PUT" && strings.HasPrefix(r.Path, "/upload/") && r.Status == 200
	}))
	defer gate.Release()
	e.start()
	e.newBatch("term", "--autostart")
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	held, err := gate.Wait(wctx)
	if err != nil {
		t.Fatalf("the upload never reached its second chunk: %v", err)
	}
	start := time.Now()
	e.daemon.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- e.daemon.Wait() }()
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(2 * time.Minute):
		t.Fatal("the daemon did not stop on SIGTERM")
	}
	took := time.Since(start)
	gate.Release()
	if exitErr != nil {
		t.Errorf("daemon exit: %v", exitErr)
	}
	if took > 5*time.Second {
		t.Errorf("SIGTERM with a chunk on the wire took %v, more than 5 s", took)
	}
	if strings.Contains(e.logs.String(), "did not stop in time") {
		t.Errorf("the engine did not stop in time:\n%s", e.logs.String())
	}
	t.Logf("SIGTERM with %s %s on the wire: stopped in %v", held.Method, held.ContentRange, took.Round(time.Millisecond))
	if files, _ := filepath.Glob(filepath.Join(e.dir, "data", "spool", "imapsrc-*.eml")); len(files) != 0 {
		t.Errorf("spool files left after the shutdown: %v", files)
	}

	e.start()
	v := e.waitSynced("term", 10*time.Minute)
	if v.Status != "Synced" {
		t.Fatalf("after the restart: %+v", v)
	}
	e.verify()
	d, _ := e.emu.Dump(u.email)
	if extra := int(e.emu.Stats().Creates) - len(want); extra != d.Purged || extra > 1 {
		t.Errorf("%d creates for %d messages, %d purged: want each once, plus the cut upload's item removed for good", e.emu.Stats().Creates, len(want), d.Purged)
	}
	stopServe(t, e.daemon)
	checkState(t, filepath.Join(e.dir, "data"))
	if _, err := os.Stat(filepath.Join(e.dir, "data", "state.db")); err != nil {
		t.Fatal(err)
	}
}
