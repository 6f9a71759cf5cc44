package imapfault

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imapmig/imapmig/testenv/imapwire"
)

// Action is what a Fault does when it fires.
type Action int

const (
	// Pass forwards everything (Rate and LoginReply still apply).
	Pass Action = iota
	// Cut closes both sides.
	Cut
	// Stall stops forwarding and keeps the sockets open.
	Stall
	// Bye sends an untagged BYE at a response boundary and closes.
	Bye
)

func (a Action) String() string {
	switch a {
	case Pass:
		return "pass"
	case Cut:
		return "cut"
	case Stall:
		return "stall"
	case Bye:
		return "bye"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Fault is what one connection does.
type Fault struct {
	Action Action
	// After is how many bytes from the server are forwarded before the
	// Action fires.
	After int64
	// InLiteralOver > 0 counts After from the first byte of the first
	// literal from the server larger than this many bytes.
	InLiteralOver int64
	// Rate > 0 paces the server's bytes to Rate bytes per second.
	Rate int64
	// LoginReply, when set, answers LOGIN and AUTHENTICATE with the
	// command's tag and this text (e.g. "NO [UNAVAILABLE] try later").
	LoginReply string
}

// Script gives the n-th connection (from 1) its Fault.
type Script func(n int) Fault

// Event is a fault that fired.
type Event struct {
	Conn   int    // connection number, 0 for a rejected connection
	What   string // "cut", "stall", "bye", "login", "reject"
	At     int64  // server bytes forwarded on the connection when it fired
	Detail string // the login reply, for "login"
}

func (e Event) String() string {
	s := fmt.Sprintf("conn %d: %s after %d bytes", e.Conn, e.What, e.At)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Proxy forwards 127.0.0.1:port to one upstream IMAP server.
type Proxy struct {
	// Addr is host:port for clients.
	Addr     string
	upstream string

	wg sync.WaitGroup

	mu        sync.Mutex
	l         net.Listener
	script    Script
	conns     map[*conn]struct{}
	accepted  int
	rejecting bool
	rejected  int
	events    []Event
	changed   chan struct{}
	closed    bool
}

// Start listens on a free loopback port and forwards to upstream
// (host:port of a plaintext IMAP listener).
func Start(upstream string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: l.Addr().String(), upstream: upstream, l: l, conns: map[*conn]struct{}{}, changed: make(chan struct{})}
	p.wg.Add(1)
	go p.accept(l)
	return p, nil
}

// Host is the proxy's host.
func (p *Proxy) Host() string { h, _, _ := net.SplitHostPort(p.Addr); return h }

// Port is the proxy's port.
func (p *Proxy) Port() int {
	_, ps, _ := net.SplitHostPort(p.Addr)
	n, _ := strconv.Atoi(ps)
	return n
}

// SetScript sets the Fault of connections accepted from now on (nil:
// Pass).
func (p *Proxy) SetScript(s Script) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.script = s
}

// Apply gives the connections open now f; After counts from now.
func (p *Proxy) Apply(f Fault) int {
	p.mu.Lock()
	cs := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		c.setFault(f)
	}
	return len(cs)
}

// Reject makes the proxy accept new connections and reset them at once
// (on) or serve them again (off).
func (p *Proxy) Reject(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rejecting = on
	p.bump()
}

// Down closes the listener: new connections are refused by the kernel.
// Open connections go on.
func (p *Proxy) Down() {
	p.mu.Lock()
	l := p.l
	p.l = nil
	p.mu.Unlock()
	if l != nil {
		l.Close()
	}
}

// Up listens again on the same address after Down.
func (p *Proxy) Up() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil || p.closed {
		return nil
	}
	l, err := net.Listen("tcp", p.Addr)
	if err != nil {
		return err
	}
	p.l = l
	p.wg.Add(1)
	go p.accept(l)
	return nil
}

// Close stops listening and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	l := p.l
	p.l = nil
	cs := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	if l != nil {
		l.Close()
	}
	for _, c := range cs {
		c.close()
	}
	p.wg.Wait()
	return nil
}

// Accepted is how many connections were accepted and forwarded.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Rejected is how many connections Reject reset.
func (p *Proxy) Rejected() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rejected
}

// Open is how many forwarded connections are open now.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Events returns the faults that fired, in order.
func (p *Proxy) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// Fired counts the events of one kind ("cut", "stall", "bye", "login",
// "reject").
func (p *Proxy) Fired(what string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.events {
		if e.What == what {
			n++
		}
	}
	return n
}

// Await returns when cond is true, checking it after every change of the
// proxy's counters, or ctx's error.
func (p *Proxy) Await(ctx context.Context, cond func() bool) error {
	for {
		p.mu.Lock()
		ch := p.changed
		p.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// bump wakes Await; p.mu is held.
func (p *Proxy) bump() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Proxy) event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, e)
	p.bump()
}

func (p *Proxy) accept(l net.Listener) {
	defer p.wg.Done()
	for {
		client, err := l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			client.Close()
			return
		}
		if p.rejecting {
			p.rejected++
			p.events = append(p.events, Event{What: "reject"})
			p.bump()
			p.mu.Unlock()
			if tc, ok := client.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset, not an orderly close
			}
			client.Close()
			continue
		}
		p.accepted++
		n := p.accepted
		var f Fault
		if p.script != nil {
			f = p.script(n)
		}
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(n, client, f)
		}()
	}
}

func (p *Proxy) serve(n int, client net.Conn, f Fault) {
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		client.Close()
		return
	}
	c := &conn{p: p, n: n, client: client, server: server, done: make(chan struct{}), start: time.Now()}
	c.setFault(f)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close()
		return
	}
	p.conns[c] = struct{}{}
	p.bump()
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.bump()
		p.mu.Unlock()
	}()
	go func() {
		c.fromClient()
		c.close()
	}()
	c.fromServer()
	c.close()
	<-c.done
}

// conn is one proxied connection.
type conn struct {
	p              *Proxy
	n              int
	client, server net.Conn
	done           chan struct{}
	closeOnce      sync.Once
	writeMu        sync.Mutex // whole lines to the client

	mu    sync.Mutex
	fault Fault
	sent  int64 // server bytes forwarded
	armed bool  // After is being counted
	base  int64 // sent when counting started
	start time.Time
	paced int64 // bytes forwarded since start, for Rate
}

func (c *conn) setFault(f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fault = f
	c.base = c.sent
	c.armed = f.InLiteralOver <= 0
	c.start, c.paced = time.Now(), 0
}

func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.client.Close()
		c.server.Close()
		close(c.done)
	})
}

func (c *conn) fire(what string, at int64, detail string) {
	c.p.event(Event{Conn: c.n, What: what, At: at, Detail: detail})
}

// fromServer forwards the server's stream a line or a literal chunk at a
// time, so a BYE lands between responses.
func (c *conn) fromServer() {
	r := bufio.NewReaderSize(c.server, 64<<10)
	atResponse := true // the next line starts a response
	buf := make([]byte, 32<<10)
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			if atResponse && c.byeDue() {
				return
			}
			if !c.send([]byte(line)) {
				return
			}
		}
		if err != nil {
			return
		}
		n, _, ok := imapwire.Literal(line)
		atResponse = !ok
		if !ok {
			continue
		}
		c.literal(n)
		for n > 0 {
			k, err := r.Read(buf[:min(n, int64(len(buf)))])
			if k > 0 && !c.send(buf[:k]) {
				return
			}
			n -= int64(k)
			if err != nil {
				return
			}
		}
	}
}

// literal arms the fault at the start of a large enough literal.
func (c *conn) literal(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed && c.fault.InLiteralOver > 0 && n > c.fault.InLiteralOver {
		c.armed, c.base = true, c.sent
	}
}

// byeDue sends the BYE and closes when a Bye fault is due.
func (c *conn) byeDue() bool {
	c.mu.Lock()
	due := c.fault.Action == Bye && c.armed && c.sent-c.base >= c.fault.After
	at := c.sent
	c.mu.Unlock()
	if !due {
		return false
	}
	c.writeMu.Lock()
	io.WriteString(c.client, "* BYE imapfault: server shutting down\r\n")
	c.writeMu.Unlock()
	c.fire("bye", at, "")
	c.close()
	return true
}

// send forwards b to the client within the Fault; false when the
// connection is done.
func (c *conn) send(b []byte) bool {
	for len(b) > 0 {
		c.mu.Lock()
		f := c.fault
		k := int64(len(b))
		if c.armed && (f.Action == Cut || f.Action == Stall) {
			left := c.base + f.After - c.sent
			if left <= 0 {
				at := c.sent
				c.mu.Unlock()
				return c.trip(f.Action, at)
			}
			k = min(k, left)
		}
		var due time.Time
		if f.Rate > 0 {
			k = min(k, max(f.Rate/20, 1)) // 50 ms slices
			c.paced += k
			due = c.start.Add(time.Duration(float64(c.paced) / float64(f.Rate) * float64(time.Second)))
		}
		c.mu.Unlock()
		if !due.IsZero() && !c.waitUntil(due) {
			return false
		}
		c.writeMu.Lock()
		_, err := c.client.Write(b[:k])
		c.writeMu.Unlock()
		if err != nil {
			return false
		}
		c.mu.Lock()
		c.sent += k
		c.mu.Unlock()
		b = b[k:]
	}
	return true
}

// trip fires a Cut or Stall.
func (c *conn) trip(a Action, at int64) bool {
	c.fire(a.String(), at, "")
	if a == Stall {
		<-c.done // the client gives up, or the proxy closes
		return false
	}
	c.close()
	return false
}

// waitUntil paces; false when the connection closed meanwhile.
func (c *conn) waitUntil(t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-c.done:
		return false
	}
}

// fromClient forwards the client's commands, answering LOGIN and
// AUTHENTICATE itself when the Fault says so.
func (c *conn) fromClient() {
	r := bufio.NewReaderSize(c.client, 64<<10)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if line != "" {
				io.WriteString(c.server, line)
			}
			return
		}
		c.mu.Lock()
		reply := c.fault.LoginReply
		at := c.sent
		c.mu.Unlock()
		if tag, ok := loginCommand(line); ok && reply != "" {
			if err := dropLiterals(r, line); err != nil {
				return
			}
			c.writeMu.Lock()
			_, err := io.WriteString(c.client, tag+" "+reply+"\r\n")
			c.writeMu.Unlock()
			if err != nil {
				return
			}
			c.fire("login", at, reply)
			continue
		}
		if err := c.forward(r, line); err != nil {
			return
		}
	}
}

// loginCommand reports whether line is a LOGIN or AUTHENTICATE command,
// and its tag.
func loginCommand(line string) (string, bool) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return "", false
	}
	cmd := strings.ToUpper(f[1])
	return f[0], cmd == "LOGIN" || cmd == "AUTHENTICATE"
}

// dropLiterals reads the non-synchronizing literals a refused command
// carries (after a synchronizing one the client waits for a continuation
// and takes the tagged answer as the end of the command).
func dropLiterals(r *bufio.Reader, line string) error {
	for {
		n, nonSync, ok := imapwire.Literal(line)
		if !ok || !nonSync {
			return nil
		}
		if _, err := io.CopyN(io.Discard, r, n); err != nil {
			return err
		}
		var err error
		if line, err = r.ReadString('\n'); err != nil {
			return err
		}
	}
}

// forward sends line and the literals it announces with the rest of the
// command.
func (c *conn) forward(r *bufio.Reader, line string) error {
	for {
		if _, err := io.WriteString(c.server, line); err != nil {
			return err
		}
		n, _, ok := imapwire.Literal(line)
		if !ok {
			return nil
		}
		if _, err := io.CopyN(c.server, r, n); err != nil {
			return err
		}
		var err error
		if line, err = r.ReadString('\n'); err != nil {
			return err
		}
	}
}
