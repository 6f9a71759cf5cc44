package imapsrc_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/imapfault"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// startProxy starts an imapfault proxy to Dovecot's plaintext port for
// the test.
func startProxy(t *testing.T, srv *dovecot.Server) *imapfault.Proxy {
	t.Helper()
	p, err := imapfault.Start(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func proxiedConfig(p *imapfault.Proxy, idle time.Duration) imapsrc.Config {
	return imapsrc.Config{Host: "127.0.0.1", Port: p.Port(), Security: imapsrc.SecurityNone,
		CommandTimeout: idle, DialTimeout: 10 * time.Second}
}

func fetchAll(t *testing.T, src migrate.Source, f migrate.Folder, uid uint32) []byte {
	t.Helper()
	b, err := src.Fetch(context.Background(), f, uid)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	defer b.Close()
	r, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// bigMessageBehindProxy gives a new user of the shared Dovecot a 2 MB
// message in INBOX and starts a fault proxy to the server.
func bigMessageBehindProxy(t *testing.T) (*dovecot.User, []byte, []uint32, *imapfault.Proxy) {
	t.Helper()
	srv, u := dovecotUser(t)
	raw := bigMessage("big", 2<<20)
	uids, err := srv.Append(context.Background(), u.Name, "INBOX", mailgen.Message{Raw: raw, InternalDate: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return u, raw, uids, startProxy(t, srv)
}

// TestTimeout_SlowLiteralIsNotAHang: a 2 MB message from a server that
// sends 8 KB every 10 ms (about 0.8 MB/s, so some 2.5 s in all) is fetched
// on the first connection although the command timeout is 700 ms: the
// deadline is silence, not a total.
func TestTimeout_SlowLiteralIsNotAHang(t *testing.T) {
	u, raw, uids, p := bigMessageBehindProxy(t)
	p.SetScript(func(int) imapfault.Fault { return imapfault.Fault{Rate: 800 << 10} })
	src := connectUser(t, newConnector(t, proxiedConfig(p, 700*time.Millisecond)), u)
	start := time.Now()
	got := fetchAll(t, src, folderOf(t, src, "INBOX"), uids[0])
	took := time.Since(start)
	if !bytes.Equal(got, raw) {
		t.Fatalf("fetched %d bytes, want the %d raw bytes", len(got), len(raw))
	}
	if n := imapsrc.Reconnects(src); n != 0 || p.Accepted() != 1 {
		t.Errorf("%d reconnects, %d connections: a slow but steady literal was taken for a hang", n, p.Accepted())
	}
	if took < 700*time.Millisecond {
		t.Logf("the transfer took only %v: the pacing did not hold", took)
	}
	t.Logf("2 MB at a paced rate in %v on one connection", took)
}

// TestTimeout_ServerStopsAnsweringMidLiteral: the server stops sending
// 64 KB into a 2 MB literal, the socket stays open. The Source notices the
// silence after the command timeout, reconnects and returns the whole
// message, within a bounded time.
func TestTimeout_ServerStopsAnsweringMidLiteral(t *testing.T) {
	u, raw, uids, p := bigMessageBehindProxy(t)
	const idle = time.Second
	src := connectUser(t, newConnector(t, proxiedConfig(p, idle)), u)
	inbox := folderOf(t, src, "INBOX")
	// On a loaded machine a set-up command may itself outlast the command
	// timeout and reconnect: the connection open now is the one to stall.
	open, reconnects := p.Accepted(), imapsrc.Reconnects(src)
	if n := p.Apply(imapfault.Fault{Action: imapfault.Stall, After: 64 << 10}); n != 1 {
		t.Fatalf("%d connections open, want 1", n)
	}
	start := time.Now()
	got := fetchAll(t, src, inbox, uids[0])
	took := time.Since(start)
	if ev := p.Events(); len(ev) != 1 || ev[0].Conn != open || ev[0].What != "stall" {
		t.Fatalf("faults fired: %v, want connection %d stalled", ev, open)
	}
	if !bytes.Equal(got, raw) {
		t.Fatalf("fetched %d bytes, want the %d raw bytes", len(got), len(raw))
	}
	if n, c := imapsrc.Reconnects(src)-reconnects, p.Accepted()-open; n != 1 || c != 1 {
		t.Errorf("%d reconnects over %d new connections after the stall, want 1 over 1", n, c)
	}
	// Bounded: the silence, plus a reconnect and the refetch on loopback.
	if limit := idle + 20*time.Second; took > limit {
		t.Errorf("recovery took %v, more than %v", took, limit)
	}
	t.Logf("stall detected and the message refetched in %v (command timeout %v)", took, idle)
}

// TestTimeout_ServerStopsAnsweringEveryTime: when the server stops
// answering and every reconnect meets silence too, the operation fails,
// retryable, within a bounded time: the command timeout once, then each
// reconnect's dial timeout. Never a hang.
func TestTimeout_ServerStopsAnsweringEveryTime(t *testing.T) {
	srv, u := dovecotUser(t)
	p := startProxy(t, srv)
	// The dial timeout covers the greeting and LOGIN of the first connect
	// too: generous for a loaded machine.
	const idle, dial = 300 * time.Millisecond, 5 * time.Second
	cfg := proxiedConfig(p, idle)
	cfg.DialTimeout = dial
	src := connectUser(t, newConnector(t, cfg), u)
	inbox := folderOf(t, src, "INBOX")
	// On a loaded machine a command of the set-up may itself outlast the
	// 300 ms command timeout and reconnect: count from here.
	before := p.Accepted()
	// New connections never even greet; the open one stops now.
	p.SetScript(func(int) imapfault.Fault { return imapfault.Fault{Action: imapfault.Stall} })
	p.Apply(imapfault.Fault{Action: imapfault.Stall})
	start := time.Now()
	_, err := src.UIDs(context.Background(), inbox)
	took := time.Since(start)
	if err == nil || migrate.KindOf(err) != migrate.KindRetryable {
		t.Fatalf("UIDs against a silent server: %v (kind %v), want a retryable error", err, migrate.KindOf(err))
	}
	if got := p.Accepted() - before; got != 2 {
		t.Errorf("%d new connections after the server went silent, want 2 reconnects", got)
	}
	// idle + 2 × (backoff ≤ 1 s + dial), with room for a loaded machine.
	if limit := idle + 2*(time.Second+dial) + 10*time.Second; took > limit {
		t.Errorf("gave up after %v, more than %v", took, limit)
	}
	t.Logf("gave up after %v: %v", took, err)
}
