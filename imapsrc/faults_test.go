package imapsrc_test

// Whole migrations through a misbehaving network: the engine over imapsrc
// against a real Dovecot, with an imapfault proxy between them, into a
// memtarget. Every scenario ends with the target holding exactly the
// source's messages (each complete: sizes compared), once.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/faultseed"
	"github.com/imapmig/imapmig/testenv/imapfault"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// faultSeed is the seed of the fault positions (testenv/faultseed).
func faultSeed(t *testing.T) *rand.Rand { return faultseed.Rand(t) }

// bigSize is the large message of the fault mailbox: a literal to cut in
// the middle.
const bigSize = 20 << 20

// faultBox is a source mailbox: subject → size, and subject → folder.
type faultBox struct {
	size   map[string]int64
	folder map[string]string
}

// seedFaultBox gives u n messages of 1–60 KB over INBOX, Archive and
// Projekte, and with big a 20 MB message in Archive.
func seedFaultBox(t *testing.T, srv *dovecot.Server, u *dovecot.User, r *rand.Rand, n int, big bool) faultBox {
	t.Helper()
	ctx := context.Background()
	box := faultBox{size: map[string]int64{}, folder: map[string]string{}}
	folders := []string{"INBOX", "Archive", "Projekte"}
	for _, f := range folders[1:] {
		if err := srv.CreateFolder(ctx, u.Name, dovecot.FolderName(dovecot.LayoutSlash, []string{f})); err != nil {
			t.Fatal(err)
		}
	}
	add := func(folder, subject string, size int) {
		raw := bigMessage(subject, size)
		name := folder
		if folder != "INBOX" {
			name = dovecot.FolderName(dovecot.LayoutSlash, []string{folder})
		}
		if _, err := srv.Append(ctx, u.Name, name, mailgen.Message{Raw: raw, InternalDate: time.Date(2024, 5, 1, 0, 0, len(box.size), 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		box.size[subject] = int64(len(raw))
		box.folder[subject] = folder
	}
	for i := range n {
		add(folders[i%3], fmt.Sprintf("msg %s %d", u.Name, i), 1<<10+r.IntN(60<<10))
	}
	if big {
		add("Archive", "big "+u.Name, bigSize)
	}
	return box
}

// faultUser is a new user of srv with a fault mailbox (seedFaultBox) and a
// proxy to srv.
func faultUser(t *testing.T, srv *dovecot.Server, r *rand.Rand, n int, big bool) (*dovecot.User, faultBox, *imapfault.Proxy) {
	t.Helper()
	u := newUser(t, srv, dovecot.LayoutSlash)
	box := seedFaultBox(t, srv, u, r, n, big)
	return u, box, startProxy(t, srv)
}

// faultWorld is an engine migrating one Dovecot user through a proxy.
type faultWorld struct {
	t    *testing.T
	eng  *migrate.Engine
	st   *state.Store
	tgt  *memtarget.Target
	p    *imapfault.Proxy
	addr string
	stop func()
}

func newFaultWorld(t *testing.T, srv *dovecot.Server, u *dovecot.User, p *imapfault.Proxy, tweak func(*migrate.Options, *imapsrc.Config)) *faultWorld {
	t.Helper()
	cfg := imapsrc.Config{Host: "127.0.0.1", Port: p.Port(), Security: imapsrc.SecurityNone,
		CommandTimeout: time.Second, DialTimeout: 5 * time.Second, LimitBackoff: 50 * time.Millisecond, SpoolDir: t.TempDir()}
	st := statetest.MustOpen(t)
	statetest.PutEndpoint(t, st, "127.0.0.1", 2)
	addr := u.Name + "@contoso.example"
	tgt := memtarget.New(addr)
	opts := migrate.Options{
		Store:            st,
		Targets:          func(context.Context, state.Tenant) (migrate.Target, error) { return tgt, nil },
		RetryBackoff:     20 * time.Millisecond,
		UserRetryBackoff: 50 * time.Millisecond,
		ScanInterval:     20 * time.Millisecond,
		MinScanGap:       time.Millisecond,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if tweak != nil {
		tweak(&opts, &cfg)
	}
	conn := newConnector(t, cfg)
	opts.Sources = func(context.Context, state.Endpoint) (migrate.SourceConnector, error) { return conn, nil }
	eng := migrate.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	w := &faultWorld{t: t, eng: eng, st: st, tgt: tgt, p: p, addr: addr}
	w.stop = func() {
		if cancel != nil {
			cancel()
			<-done
			cancel = nil
		}
	}
	t.Cleanup(w.stop)
	csv := fmt.Sprintf("EmailAddress,UserName,Password\n%s,%s,%s\n", addr, u.Name, u.Password)
	if _, err := eng.CreateBatch(context.Background(), migrate.BatchSpec{Name: "faults", Endpoint: "ep", Tenant: "tn", Autostart: true,
		CSV: []byte(csv), Options: state.BatchOptions{SyncInterval: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	return w
}

// until polls cond (every 5 ms, the poll interval of a condition with a
// deadline) until it holds.
func (w *faultWorld) until(what string, limit time.Duration, cond func(migrate.UserView) bool) migrate.UserView {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		v, err := w.eng.User(w.addr)
		if err != nil {
			w.t.Fatal(err)
		}
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: not within %v; user is %s (%s: %s); proxy events %v", what, limit, v.Status, v.ErrorReason, v.LastError, w.p.Events())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settled waits for one of the statuses with no pass running.
func (w *faultWorld) settled(limit time.Duration, want ...state.UserStatus) migrate.UserView {
	w.t.Helper()
	return w.until(fmt.Sprintf("user %v", want), limit, func(v migrate.UserView) bool {
		for _, s := range want {
			if v.Status == s && !w.eng.Running(w.addr) {
				return true
			}
		}
		return false
	})
}

// assertCopied checks that the target holds exactly box: every subject
// once, complete, the messages of one source folder in one target folder
// and different source folders apart; and that it took one create each.
func (w *faultWorld) assertCopied(box faultBox) {
	w.t.Helper()
	mb := w.tgt.Box(w.addr)
	items := mb.Items()
	seen := map[string]int{}
	folderOf := map[string]string{} // source folder → target folder id
	for _, it := range items {
		subj := headerValue(it.Headers, "Subject")
		seen[subj]++
		want, ok := box.size[subj]
		switch {
		case !ok:
			w.t.Errorf("target holds %q, not in the source", subj)
			continue
		case it.Size != want:
			w.t.Errorf("%q: %d bytes in the target, %d in the source", subj, it.Size, want)
		}
		src := box.folder[subj]
		if f, ok := folderOf[src]; ok && f != it.Folder {
			w.t.Errorf("%q from %s is in target folder %s, its folder mates in %s", subj, src, it.Folder, f)
		}
		folderOf[src] = it.Folder
	}
	for subj := range box.size {
		if seen[subj] != 1 {
			w.t.Errorf("%q is in the target %d times, want once", subj, seen[subj])
		}
	}
	targets := map[string]bool{}
	for _, f := range folderOf {
		targets[f] = true
	}
	if len(targets) != len(folderOf) {
		w.t.Errorf("source folders %v share target folders", folderOf)
	}
	if c := mb.Counts(); c.Creates != len(box.size) || mb.Duplicates() != 0 {
		w.t.Errorf("%d creates and %d duplicates for %d messages", c.Creates, mb.Duplicates(), len(box.size))
	}
}

func headerValue(h, name string) string {
	for _, l := range strings.Split(h, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestFaults_MigrationThroughABadNetwork: each scenario scripts the
// proxy's connections (positions from the logged seed) and migrates a
// mailbox through it; the user ends Synced with target == source.
func TestFaults_MigrationThroughABadNetwork(t *testing.T) {
	srv := dc.Get(t)
	// A script sets the proxy's faults: at draws a position from the seed.
	type script func(t *testing.T, p *imapfault.Proxy, at func(lo, hi int64) int64)
	// two queues a fault early on the first connection and one in the
	// middle of the 20 MB literal on the next; later connections pass. A
	// connection that ends before its fault fires (the engine's own
	// command timeout on a loaded machine) hands it on, so both fire.
	two := func(a imapfault.Action) script {
		return func(t *testing.T, p *imapfault.Proxy, at func(lo, hi int64) int64) {
			early, mid := at(2<<10, 150<<10), at(1<<20, bigSize-(1<<20))
			t.Logf("%s: first after %d bytes, second after %d bytes of the 20 MB literal", a, early, mid)
			p.Queue(imapfault.Fault{Action: a, After: early}, imapfault.Fault{Action: a, After: mid, InLiteralOver: bigSize / 2})
		}
	}
	const rate = 100 << 10
	cases := []struct {
		name   string
		msgs   int
		big    bool
		script script
		// conns is how many connections the migration takes.
		conns int
		fired map[string]int
	}{
		{name: "cut", msgs: 30, big: true, conns: 3, fired: map[string]int{"cut": 2}, script: two(imapfault.Cut)},
		// The stalls outlast the 1 s read timeout (CommandTimeout).
		{name: "stall", msgs: 30, big: true, conns: 3, fired: map[string]int{"stall": 2}, script: two(imapfault.Stall)},
		// The second BYE comes at the first response after the literal.
		{name: "bye", msgs: 30, big: true, conns: 3, fired: map[string]int{"bye": 2}, script: two(imapfault.Bye)},
		{name: "login-refused", msgs: 30, conns: 3, fired: map[string]int{"login": 2}, script: func(_ *testing.T, p *imapfault.Proxy, _ func(lo, hi int64) int64) {
			p.Queue(imapfault.Fault{LoginReply: "NO [UNAVAILABLE] Maintenance, try again later"},
				imapfault.Fault{LoginReply: "NO [LIMIT] Maximum number of connections from user+IP exceeded"})
		}},
		// 100 KB/s with a 1 s read timeout: slow, never taken for a hang
		// (one connection).
		{name: "throttled", msgs: 10, conns: 1, fired: map[string]int{}, script: func(_ *testing.T, p *imapfault.Proxy, _ func(lo, hi int64) int64) {
			p.SetScript(func(int) imapfault.Fault { return imapfault.Fault{Rate: rate} })
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := faultSeed(t)
			u, box, p := faultUser(t, srv, r, tc.msgs, tc.big)
			tc.script(t, p, func(lo, hi int64) int64 { return lo + r.Int64N(hi-lo) })
			start := time.Now()
			w := newFaultWorld(t, srv, u, p, nil)
			v := w.settled(3*time.Minute, model.UserSynced)
			took := time.Since(start)
			w.assertCopied(box)
			for what, n := range tc.fired {
				if got := p.Fired(what); got != n {
					t.Errorf("%d %s faults fired, want %d: %v", got, what, n, p.Events())
				}
			}
			if len(tc.fired) == 0 && len(p.Events()) != 0 {
				t.Errorf("faults fired: %v", p.Events())
			}
			// One connection per fault plus the one that completes; more
			// only when the engine's own command timeout also fired (a
			// loaded machine), never fewer.
			if p.Accepted() < tc.conns {
				t.Errorf("%d connections, want at least %d", p.Accepted(), tc.conns)
			} else if p.Accepted() > tc.conns {
				t.Logf("%d connections, %d more than the faults made: the engine's command timeout fired too", p.Accepted(), p.Accepted()-tc.conns)
			}
			var total int64
			for _, n := range box.size {
				total += n
			}
			if tc.name == "throttled" && took < time.Duration(total/rate)*time.Second {
				t.Errorf("%d bytes in %v: faster than %d B/s, the throttle did not hold", total, took, rate)
			}
			if v.WaitingFor != "" {
				t.Errorf("a Synced user still shows WaitingFor %q", v.WaitingFor)
			}
			t.Logf("%s: Synced in %v over %d connections, %d messages (%d bytes), faults %v; score %s",
				tc.name, took.Round(time.Millisecond), p.Accepted(), len(box.size), total, p.Events(), v.DataConsistencyScore)
		})
	}
}

// TestFaults_RefusedForAWhile: the server resets every connection for a
// while. The user's status says what it waits for (within a pass
// WaitingFor, between passes ErrorReason and NextSyncTime), and once
// connections are accepted again the migration completes.
func TestFaults_RefusedForAWhile(t *testing.T) {
	srv := dc.Get(t)
	u, box, p := faultUser(t, srv, faultSeed(t), 20, false)
	p.Reject(true)
	w := newFaultWorld(t, srv, u, p, func(o *migrate.Options, _ *imapsrc.Config) {
		o.RetryBackoff = 300 * time.Millisecond
		o.UserRetries = 1000 // this test is about waiting, not failing
	})
	inPass := w.until("a pass waiting for the server", time.Minute, func(v migrate.UserView) bool {
		return strings.HasPrefix(v.WaitingFor, migrate.ReasonImapConnectionFailed+":") && v.WaitingUntil != nil
	})
	t.Logf("within a pass: %s, WaitingFor %q until %v", inPass.Status, inPass.WaitingFor, inPass.WaitingUntil.Format(time.StampMilli))
	between := w.until("a failed pass, queued for a retry", time.Minute, func(v migrate.UserView) bool {
		return v.Status == model.UserQueued && v.ErrorReason == migrate.ReasonImapConnectionFailed && v.NextSyncTime != nil
	})
	t.Logf("between passes: %s, %s (%s), next try %v", between.Status, between.ErrorReason, between.LastError, between.NextSyncTime.Format(time.StampMilli))
	if !strings.Contains(between.LastError, p.Addr) {
		t.Errorf("LastError %q does not name the server %s", between.LastError, p.Addr)
	}
	rejected := p.Rejected()
	p.Reject(false)
	start := time.Now()
	v := w.settled(2*time.Minute, model.UserSynced)
	w.assertCopied(box)
	if v.ErrorReason != "" || v.LastError != "" || v.WaitingFor != "" {
		t.Errorf("after the good pass: ErrorReason %q, LastError %q, WaitingFor %q", v.ErrorReason, v.LastError, v.WaitingFor)
	}
	t.Logf("%d connections reset; Synced %v after the server came back, over %d connections", rejected, time.Since(start).Round(time.Millisecond), p.Accepted())
}

// TestFaults_UnreachableFailsThenBatchStartResumes: a server that refuses
// every connection makes the user Failed with ImapConnectionFailed after
// failed_pass_limit passes (a bounded time: the engine's retries within a
// pass and the doubling wait between passes), and nothing is retried after
// that; `batch start` resumes it once the server is back.
func TestFaults_UnreachableFailsThenBatchStartResumes(t *testing.T) {
	srv := dc.Get(t)
	u, box, p := faultUser(t, srv, faultSeed(t), 20, false)
	p.Down()
	const attempts, backoff, userBackoff, passes = 2, 50 * time.Millisecond, 100 * time.Millisecond, 3
	start := time.Now()
	w := newFaultWorld(t, srv, u, p, func(o *migrate.Options, _ *imapsrc.Config) {
		o.RetryAttempts, o.RetryBackoff, o.UserRetryBackoff, o.UserRetries = attempts, backoff, userBackoff, passes
	})
	v := w.settled(time.Minute, model.UserFailed)
	took := time.Since(start)
	if v.ErrorReason != migrate.ReasonImapConnectionFailed || !strings.Contains(v.LastError, "connection refused") {
		t.Fatalf("Failed with %q (%s), want %s and the refusal", v.ErrorReason, v.LastError, migrate.ReasonImapConnectionFailed)
	}
	// The bound: per pass (attempts-1) backoffs, between passes 1×, 2×
	// the user backoff; refused connects cost nothing. Plus room for the
	// scheduler on a loaded machine.
	bound := passes*(attempts-1)*backoff + 3*userBackoff
	if took > bound+20*time.Second {
		t.Errorf("Failed after %v, the retries add up to %v", took, bound)
	}
	su, err := w.st.User(w.addr)
	if err != nil {
		t.Fatal(err)
	}
	if su.Failures != passes || v.NextSyncTime != nil {
		t.Errorf("%d failed passes, next sync %v: want %d and none scheduled", su.Failures, v.NextSyncTime, passes)
	}
	t.Logf("Failed after %v (%d failed passes; the retries add up to %v): %s", took.Round(time.Millisecond), su.Failures, bound, v.LastError)

	if err := p.Up(); err != nil {
		t.Fatal(err)
	}
	if err := w.eng.StartBatch(context.Background(), "faults"); err != nil {
		t.Fatal(err)
	}
	v = w.settled(2*time.Minute, model.UserSynced)
	w.assertCopied(box)
	if v.ErrorReason != "" {
		t.Errorf("resumed user still shows %q", v.ErrorReason)
	}
	if p.Accepted() != 1 {
		t.Errorf("%d connections after the resume, want 1", p.Accepted())
	}
}
