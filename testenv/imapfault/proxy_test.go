package imapfault_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/imapfault"
	"github.com/imapmig/imapmig/testenv/memimap"
)

func start(t *testing.T, s imapfault.Script) *imapfault.Proxy {
	t.Helper()
	up := memimap.Start(t, memimap.Options{})
	p, err := imapfault.Start(up.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	p.SetScript(s)
	return p
}

func dial(t *testing.T, p *imapfault.Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second)) // a hang fails, never blocks the suite
	return c, bufio.NewReader(c)
}

func line(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %q, %v", l, err)
	}
	return l
}

func TestCut_AfterExactlyNBytes(t *testing.T) {
	p := start(t, func(int) imapfault.Fault { return imapfault.Fault{Action: imapfault.Cut, After: 10} })
	_, r := dial(t, p)
	got, err := io.ReadAll(r)
	if len(got) != 10 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
		t.Fatalf("read %q (%d bytes), %v; want 10 bytes of the greeting, then the end", got, len(got), err)
	}
	if ev := p.Events(); len(ev) != 1 || ev[0].What != "cut" || ev[0].At != 10 || ev[0].Conn != 1 {
		t.Fatalf("events %v", ev)
	}
}

func TestBye_AtAResponseBoundary(t *testing.T) {
	p := start(t, func(int) imapfault.Fault { return imapfault.Fault{Action: imapfault.Bye, After: 1} })
	c, r := dial(t, p)
	if g := line(t, r); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("greeting %q", g)
	}
	io.WriteString(c, "a1 CAPABILITY\r\n")
	if g := line(t, r); !strings.HasPrefix(g, "* BYE ") {
		t.Fatalf("after the greeting: %q, want the injected BYE", g)
	}
	if rest, _ := io.ReadAll(r); len(rest) != 0 {
		t.Fatalf("after the BYE: %q", rest)
	}
}

func TestLoginReply_AnswersInsteadOfTheServer(t *testing.T) {
	p := start(t, func(n int) imapfault.Fault {
		if n == 1 {
			return imapfault.Fault{LoginReply: "NO [UNAVAILABLE] later"}
		}
		return imapfault.Fault{}
	})
	c, r := dial(t, p)
	line(t, r)
	io.WriteString(c, "a1 LOGIN someone secret\r\n")
	if g := line(t, r); g != "a1 NO [UNAVAILABLE] later\r\n" {
		t.Fatalf("LOGIN answered %q", g)
	}
	io.WriteString(c, "a2 NOOP\r\n")
	if g := line(t, r); !strings.HasPrefix(g, "a2 OK") {
		t.Fatalf("NOOP after the refusal: %q (the connection must go on)", g)
	}
	for _, e := range p.Events() {
		if strings.Contains(e.String(), "secret") {
			t.Fatalf("an event holds the password: %v", e)
		}
	}
	c2, r2 := dial(t, p)
	line(t, r2)
	io.WriteString(c2, "b1 LOGIN nobody wrong\r\n")
	if g := line(t, r2); !strings.HasPrefix(g, "b1 NO") || strings.Contains(g, "UNAVAILABLE") {
		t.Fatalf("second connection's LOGIN answered %q, want the server's own NO", g)
	}
}

func TestStall_KeepsTheSocketOpen(t *testing.T) {
	p := start(t, func(int) imapfault.Fault { return imapfault.Fault{Action: imapfault.Stall, After: 5} })
	c, r := dial(t, p)
	buf := make([]byte, 5)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Await(ctx, func() bool { return p.Fired("stall") == 1 }); err != nil {
		t.Fatal(err)
	}
	// Stalled: the rest of the greeting never comes, and the socket is
	// still open (the proxy holds it until the client goes).
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := r.Read(buf); n != 0 || !errors.Is(err, errTimeout(err)) {
		t.Fatalf("after the stall: %d bytes, %v; want a read timeout", n, err)
	}
	if p.Open() != 1 {
		t.Fatalf("%d open connections, want the stalled one", p.Open())
	}
	c.Close()
	if err := p.Await(ctx, func() bool { return p.Open() == 0 }); err != nil {
		t.Fatal(err)
	}
}

// errTimeout returns err when it is a timeout, so errors.Is holds.
func errTimeout(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return errors.New("not a timeout")
}

func TestReject_DownAndUp(t *testing.T) {
	p := start(t, nil)
	p.Reject(true)
	// The reset may already come with the dial, or with the first read.
	if c, err := net.Dial("tcp", p.Addr); err == nil {
		got, _ := io.ReadAll(c)
		c.Close()
		if len(got) != 0 {
			t.Fatalf("a rejected connection got %q", got)
		}
	} else if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("dial while rejecting: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Await(ctx, func() bool { return p.Rejected() == 1 }); err != nil {
		t.Fatal(err)
	}
	p.Reject(false)
	p.Down()
	if _, err := net.Dial("tcp", p.Addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial while down: %v, want connection refused", err)
	}
	if err := p.Up(); err != nil {
		t.Fatal(err)
	}
	_, r := dial(t, p)
	if g := line(t, r); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("greeting after Up: %q", g)
	}
	if p.Accepted() != 1 || p.Rejected() != 1 {
		t.Fatalf("accepted %d, rejected %d; want 1 and 1", p.Accepted(), p.Rejected())
	}
}

func TestRate_Paces(t *testing.T) {
	// The greeting (some 100 bytes) at 200 B/s takes about half a second.
	p := start(t, func(int) imapfault.Fault { return imapfault.Fault{Rate: 200} })
	start := time.Now()
	_, r := dial(t, p)
	g := line(t, r)
	if min := time.Duration(len(g)-10) * time.Second / 200; time.Since(start) < min {
		t.Fatalf("%d bytes in %v at 200 B/s", len(g), time.Since(start))
	}
}

// TestQueue_HandsAnUnfiredFaultOn: a queued fault whose connection closes
// before it fires goes to the next new connection; each fault fires once,
// in order, and later connections pass.
func TestQueue_HandsAnUnfiredFaultOn(t *testing.T) {
	p := start(t, nil)
	p.Queue(imapfault.Fault{LoginReply: "NO [UNAVAILABLE] later"}, imapfault.Fault{Action: imapfault.Cut, After: 10})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Connection 1 holds the LOGIN fault and closes without a LOGIN.
	c1, r1 := dial(t, p)
	line(t, r1)
	c1.Close()
	if err := p.Await(ctx, func() bool { return p.Open() == 0 }); err != nil {
		t.Fatalf("connection 1 still open: %v", err)
	}
	// Connection 2 gets it.
	c2, r2 := dial(t, p)
	line(t, r2)
	io.WriteString(c2, "a1 LOGIN someone secret\r\n")
	if g := line(t, r2); g != "a1 NO [UNAVAILABLE] later\r\n" {
		t.Fatalf("connection 2's LOGIN answered %q, want the fault connection 1 left unfired", g)
	}
	// Connection 3 gets the cut, connection 4 passes.
	_, r3 := dial(t, p)
	if got, _ := io.ReadAll(r3); len(got) != 10 {
		t.Fatalf("connection 3 read %d bytes, want the cut after 10", len(got))
	}
	_, r4 := dial(t, p)
	if g := line(t, r4); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("connection 4: %q, want the greeting", g)
	}
	ev := p.Events()
	if len(ev) != 2 || ev[0].Conn != 2 || ev[0].What != "login" || ev[1].Conn != 3 || ev[1].What != "cut" {
		t.Fatalf("events %v, want login on 2 and cut on 3", ev)
	}
}
