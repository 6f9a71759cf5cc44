package main

// Crash points, not sleeps: the Graph emulator holds a chosen request after
// it took effect and before it answers (graphemu.Server.Hold); the test
// waits for it, SIGKILLs the daemon while it is held, releases it and
// starts the daemon again. Each dangerous moment is hit exactly, on any
// machine, however slow.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/faultseed"
	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// crashSeed is the seed of the fault positions (testenv/faultseed).
func crashSeed(t *testing.T) *rand.Rand { return faultseed.Rand(t) }

// crashPoint is one armed gate.
type crashPoint struct {
	name string
	gate *graphemu.Gate
	hit  bool
}

// nth matches the n-th request (from 1) that match matches.
func nth(n int, match func(graphemu.HeldRequest) bool) func(graphemu.HeldRequest) bool {
	seen := 0
	return func(r graphemu.HeldRequest) bool {
		if !match(r) {
			return false
		}
		seen++
		return seen == n
	}
}

// killAtEach waits for any of the points to hold a request, SIGKILLs the
// daemon, releases the request and starts the daemon again (then calls
// after, if set), until every point was hit.
func (e *e2e) killAtEach(points []*crashPoint, limit time.Duration, after func()) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		left := 0
		for _, p := range points {
			if p.hit {
				continue
			}
			left++
			held, ok := p.gate.Held()
			if !ok {
				continue
			}
			killServe(e.daemon)
			p.gate.Release()
			p.hit = true
			left--
			e.t.Logf("SIGKILL at %s: %s %s %s answered %d, held until the daemon was dead (%d creates so far)", p.name, held.Method, held.Path, held.ContentRange, held.Status, e.emu.Stats().Creates)
			e.start()
			if after != nil {
				after()
			}
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			var miss []string
			for _, p := range points {
				if !p.hit {
					miss = append(miss, p.name)
				}
			}
			e.t.Fatalf("crash points never reached within %v: %v", limit, miss)
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

func isPost(r graphemu.HeldRequest, suffix string) bool {
	return r.Method == "POST" && strings.HasSuffix(r.Path, suffix) && r.Status/100 == 2
}

// TestE2E_CrashPointsNeverLoseOrDuplicate kills the daemon at each
// dangerous moment of a migration: a folder created but not recorded, a
// message created but not recorded, an upload session after chunk k of a
// 34 MB message, the report mail sent, and in an incremental pass a
// $batch of flag updates, a move and a delete applied. Afterwards the
// target equals the source exactly, the emulator created each message
// once (plus the one interrupted upload, removed for good), and the state
// file passes its invariant check.
func TestE2E_CrashPointsNeverLoseOrDuplicate(t *testing.T) {
	ctx := context.Background()
	r := crashSeed(t)
	e := newE2E(t, "crash", 1, mailgen.Options{Messages: 40}, graphemu.Options{TimeScale: 60})
	e.withReportSender()
	u := &e.users[0]
	// The near-limit message (about 34 MB, uploaded in 4 MB chunks) and
	// seven messages of our own whose UIDs we know, for the incremental
	// changes.
	e.addNearLimit(ctx, u)
	var own []mailgen.Message
	for i := range 7 {
		own = append(own, mailgen.Message{Subject: fmt.Sprintf("crash own %d", i), InternalDate: time.Date(2025, 3, 1, i, 0, 0, 0, time.UTC),
			Raw: []byte(fmt.Sprintf("From: a@example.org\r\nTo: b@example.org\r\nSubject: crash own %d\r\nMessage-ID: <crash-own-%d@example.org>\r\n\r\nbody %d\r\n", i, i, i))})
	}
	uids, err := e.dc.Append(ctx, u.login, "INBOX", own...)
	if err != nil {
		t.Fatal(err)
	}
	u.mb.Folders[0].Messages = append(u.mb.Folders[0].Messages, own...)
	want, _ := expectations(u.mb)
	initial := len(want)

	createAt, chunkAt := 2+r.IntN(10), 1+r.IntN(6)
	t.Logf("kills: at the folder create, message create %d, upload chunk %d, the report mail; then at a flags $batch, a move, a delete", createAt, chunkAt)
	points := []*crashPoint{
		{name: "folder created, not recorded", gate: e.emu.Hold(func(r graphemu.HeldRequest) bool {
			return isPost(r, "/mailFolders") || isPost(r, "/childFolders")
		})},
		{name: fmt.Sprintf("message create %d done, not recorded", createAt), gate: e.emu.Hold(nth(createAt, func(r graphemu.HeldRequest) bool {
			return isPost(r, "/messages")
		}))},
		{name: fmt.Sprintf("upload session after chunk %d", chunkAt), gate: e.emu.Hold(nth(chunkAt, func(r graphemu.HeldRequest) bool {
			return r.Method == "PUT" && strings.HasPrefix(r.Path, "/upload/") && r.Status == 200
		}))},
		{name: "report mail sent", gate: e.emu.Hold(func(r graphemu.HeldRequest) bool { return isPost(r, "/sendMail") })},
	}
	for _, p := range points {
		defer p.gate.Release()
	}
	e.start()
	e.newBatch("crash", reportedDaily...)
	e.killAtEach(points, 10*time.Minute, nil)
	v := e.waitSynced("crash", 10*time.Minute)
	if v.Status != "Synced" {
		t.Fatalf("after the initial sync's kills: %+v", v)
	}
	e.verify()
	t.Logf("initial sync done: %d creates for %d messages", e.emu.Stats().Creates, initial)

	// Incremental changes: flags on three, two moved, two expunged.
	proj := dovecot.FolderName(dovecot.LayoutSlash, []string{"Projekte"})
	if err := e.dc.SetFlags(ctx, u.login, "INBOX", uids[0:3], []string{`\Seen`, `\Flagged`}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dc.Move(ctx, u.login, "INBOX", proj, uids[3:5]...); err != nil {
		t.Fatal(err)
	}
	if err := e.dc.Expunge(ctx, u.login, "INBOX", uids[5:7]...); err != nil {
		t.Fatal(err)
	}
	inbox := u.mb.Folders[0].Messages
	for i := range 3 {
		inbox[len(inbox)-7+i].Flags = []string{`\Seen`, `\Flagged`}
	}
	moved := append([]mailgen.Message(nil), inbox[len(inbox)-4:len(inbox)-2]...)
	u.mb.Folders[0].Messages = inbox[:len(inbox)-4]
	for i := range u.mb.Folders {
		if strings.Join(u.mb.Folders[i].Path, "/") == "Projekte" {
			u.mb.Folders[i].Messages = append(u.mb.Folders[i].Messages, moved...)
		}
	}
	incr := []*crashPoint{
		{name: "flags $batch applied", gate: e.emu.Hold(func(r graphemu.HeldRequest) bool {
			return isPost(r, "/$batch") && strings.Contains(string(r.Body), `"PATCH"`)
		})},
		{name: "move applied", gate: e.emu.Hold(func(r graphemu.HeldRequest) bool { return isPost(r, "/move") })},
		{name: "delete applied", gate: e.emu.Hold(func(r graphemu.HeldRequest) bool {
			return r.Status/100 == 2 && (r.Method == "DELETE" || isPost(r, "/permanentDelete") ||
				isPost(r, "/$batch") && (strings.Contains(string(r.Body), `"DELETE"`) || strings.Contains(string(r.Body), `/permanentDelete"`)))
		})},
	}
	for _, p := range incr {
		defer p.gate.Release()
	}
	syncNow := func() { runCLI(t, e.env, "user", "syncnow", u.email) } // refused while a pass runs: fine
	syncNow()
	e.killAtEach(incr, 10*time.Minute, syncNow)
	// The last pass after the last kill: wait for a pass that began after
	// it to finish.
	e.waitIncrementalAfter(u.email, time.Now(), 10*time.Minute, syncNow)
	n := e.verify()

	// Creates in the user's mailbox: the emulator also counts the report
	// mail's copy in the sender's Sent Items.
	st := e.emu.Stats()
	sent := e.emu.Sent()
	creates := int(st.Creates)
	for _, m := range sent {
		if m.SaveToSentItems {
			creates--
		}
	}
	d, _ := e.emu.Dump(u.email)
	// Each message once; an extra create is only an incomplete large
	// item (the interrupted upload) that was removed for good. The two
	// messages expunged at the source are removed for good too
	// (graphdst mirrors an expunge with permanentDelete).
	const expunged = 2
	if extra := creates - initial; extra < 0 || extra > 2 || d.Purged != extra+expunged {
		t.Errorf("%d creates for %d messages, %d purged: each message must be created once, plus only incomplete items that were permanently deleted",
			creates, initial, d.Purged)
	}
	if len(sent) != 1 {
		t.Errorf("%d report mails, want exactly 1", len(sent))
	}
	t.Logf("after 7 kills: %d messages checked, %d creates for %d messages, %d purged, %d report mail; emulator %+v", n, creates, initial, d.Purged, len(sent), st)
	stopServe(t, e.daemon)
	checkState(t, filepath.Join(e.dir, "data"))
}

// waitIncrementalAfter waits until the user's last successful sync is
// after since and no pass runs, asking for one with kick while it is not.
func (e *e2e) waitIncrementalAfter(email string, since time.Time, limit time.Duration, kick func()) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		u := e.user(email)
		if u.LastSuccessfulSyncTime != nil && u.LastSuccessfulSyncTime.After(since) && u.Status == "Synced" {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: no sync finished after %v: %+v", email, since, u)
		}
		if u.Status == "Synced" {
			kick()
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
}

// checkState opens the daemon's state file after the kills and runs the
// store's invariant check.
func checkState(t *testing.T, dataDir string) {
	t.Helper()
	key, err := state.LoadKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(dataDir, key, nil)
	if err != nil {
		t.Fatalf("reopening the state after the kills: %v", err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		t.Errorf("state invariants after the kills: %v", err)
	}
}
