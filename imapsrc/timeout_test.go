package imapsrc_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/sourcetest"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// slowProxy sits between a Source and Dovecot. It can pace what the server
// sends (a slow link) and make the connections open at that moment stop
// forwarding after a budget of bytes (a server that stops answering
// mid-response); connections opened later flow normally.
type slowProxy struct {
	ln     net.Listener
	target string
	// chunk bytes per tick from server to client (0: unpaced).
	chunk int
	tick  time.Duration

	mu       sync.Mutex
	open     []*proxied
	accepted atomic.Int64
	// newBudget is the budget of connections opened from now on (< 0:
	// unlimited).
	newBudget atomic.Int64
}

type proxied struct {
	budget  atomic.Int64 // bytes still forwarded; < 0: unlimited
	stalled chan struct{}
	once    sync.Once
}

// startSlowProxy starts a proxy to target; chunk > 0 paces the server's
// bytes to chunk per tick.
func startSlowProxy(t *testing.T, target string, chunk int, tick time.Duration) *slowProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{ln: ln, target: target, chunk: chunk, tick: tick}
	p.newBudget.Store(-1)
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *slowProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *slowProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		pc := &proxied{stalled: make(chan struct{})}
		pc.budget.Store(p.newBudget.Load())
		p.mu.Lock()
		p.open = append(p.open, pc)
		p.mu.Unlock()
		chunk, tick := p.chunk, p.tick // set before serve started
		done := make(chan struct{})
		go func() { io.Copy(s, c); close(done); s.Close(); c.Close() }()
		go p.down(c, s, pc, chunk, tick, done)
	}
}

// down forwards server → client, paced and within the budget.
func (p *slowProxy) down(c, s net.Conn, pc *proxied, chunk int, tick time.Duration, done chan struct{}) {
	defer c.Close()
	var ticker *time.Ticker
	if chunk > 0 {
		ticker = time.NewTicker(tick)
		defer ticker.Stop()
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		for data := buf[:n]; len(data) > 0; {
			k := len(data)
			if chunk > 0 {
				k = min(k, chunk)
				select {
				case <-ticker.C:
				case <-done:
					return
				}
			}
			if b := pc.budget.Load(); b >= 0 {
				k = min(k, int(b))
				pc.budget.Add(-int64(k))
			}
			if k == 0 { // budget spent: stop answering, keep the socket open
				pc.once.Do(func() { close(pc.stalled) })
				<-done
				return
			}
			if _, err := c.Write(data[:k]); err != nil {
				return
			}
			data = data[k:]
		}
		if err != nil {
			return
		}
	}
}

// stallAfter makes the connections open now forward at most n more bytes.
func (p *slowProxy) stallAfter(n int64) []*proxied {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.open {
		pc.budget.Store(n)
	}
	return slices0(p.open)
}

func slices0(s []*proxied) []*proxied { return append([]*proxied(nil), s...) }

func proxiedConfig(srv *dovecot.Server, p *slowProxy, idle time.Duration) imapsrc.Config {
	return imapsrc.Config{Host: "127.0.0.1", Port: p.port(), Security: imapsrc.SecurityNone,
		CommandTimeout: idle, DialTimeout: 10 * time.Second}
}

func pacedMessage(size int) []byte {
	return sourcetest.Message("big "+strconv.Itoa(size), strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?\r\n", size/66))
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

func inboxOf(t *testing.T, src migrate.Source) migrate.Folder {
	t.Helper()
	fs, err := src.Folders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Name == "INBOX" {
			return f
		}
	}
	t.Fatal("no INBOX")
	return migrate.Folder{}
}

// TestTimeout_SlowLiteralIsNotAHang: a 2 MB message from a server that
// sends 8 KB every 10 ms (about 0.8 MB/s, so some 2.5 s in all) is fetched
// on the first connection although the command timeout is 700 ms: the
// deadline is silence, not a total.
func TestTimeout_SlowLiteralIsNotAHang(t *testing.T) {
	srv := dc.Get(t)
	u := newUser(t, srv, dovecot.LayoutSlash)
	raw := pacedMessage(2 << 20)
	uids, err := srv.Append(context.Background(), u.Name, "INBOX", mailgen.Message{Raw: raw, InternalDate: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	p := startSlowProxy(t, srv.Addr(), 8<<10, 10*time.Millisecond)
	src := connect(t, newConnector(t, proxiedConfig(srv, p, 700*time.Millisecond)), migrate.Login{UserName: u.Name, Password: u.Password})
	start := time.Now()
	got := fetchAll(t, src, inboxOf(t, src), uids[0])
	took := time.Since(start)
	if !bytes.Equal(got, raw) {
		t.Fatalf("fetched %d bytes, want the %d raw bytes", len(got), len(raw))
	}
	if n := imapsrc.Reconnects(src); n != 0 || p.accepted.Load() != 1 {
		t.Errorf("%d reconnects, %d connections: a slow but steady literal was taken for a hang", n, p.accepted.Load())
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
	srv := dc.Get(t)
	u := newUser(t, srv, dovecot.LayoutSlash)
	raw := pacedMessage(2 << 20)
	uids, err := srv.Append(context.Background(), u.Name, "INBOX", mailgen.Message{Raw: raw, InternalDate: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	p := startSlowProxy(t, srv.Addr(), 0, 0)
	const idle = 500 * time.Millisecond
	src := connect(t, newConnector(t, proxiedConfig(srv, p, idle)), migrate.Login{UserName: u.Name, Password: u.Password})
	inbox := inboxOf(t, src)
	stalled := p.stallAfter(64 << 10)
	start := time.Now()
	got := fetchAll(t, src, inbox, uids[0])
	took := time.Since(start)
	select {
	case <-stalled[0].stalled:
	default:
		t.Fatal("the proxy never stalled the first connection")
	}
	if !bytes.Equal(got, raw) {
		t.Fatalf("fetched %d bytes, want the %d raw bytes", len(got), len(raw))
	}
	if n := imapsrc.Reconnects(src); n != 1 || p.accepted.Load() != 2 {
		t.Errorf("%d reconnects over %d connections, want 1 over 2", n, p.accepted.Load())
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
	srv := dc.Get(t)
	u := newUser(t, srv, dovecot.LayoutSlash)
	p := startSlowProxy(t, srv.Addr(), 0, 0)
	const idle, dial = 300 * time.Millisecond, time.Second
	cfg := proxiedConfig(srv, p, idle)
	cfg.DialTimeout = dial
	src := connect(t, newConnector(t, cfg), migrate.Login{UserName: u.Name, Password: u.Password})
	inbox := inboxOf(t, src)
	p.newBudget.Store(0) // new connections never even greet
	p.stallAfter(0)      // the open one stops now
	start := time.Now()
	_, err := src.UIDs(context.Background(), inbox)
	took := time.Since(start)
	if err == nil || migrate.KindOf(err) != migrate.KindRetryable {
		t.Fatalf("UIDs against a silent server: %v (kind %v), want a retryable error", err, migrate.KindOf(err))
	}
	if got := p.accepted.Load(); got != 3 {
		t.Errorf("%d connections, want the first and 2 reconnects", got)
	}
	// idle + 2 × (backoff ≤ 1 s + dial), with room for a loaded machine.
	if limit := idle + 2*(time.Second+dial) + 10*time.Second; took > limit {
		t.Errorf("gave up after %v, more than %v", took, limit)
	}
	t.Logf("gave up after %v: %v", took, err)
}
