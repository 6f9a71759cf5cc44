package imapfault

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/imapmig/imapmig/testenv/imapwire"
)

// Proxy forwards 127.0.0.1:port to one upstream IMAP server.
type Proxy struct {
	// Addr is host:port for clients.
	Addr     string
	upstream string

	wg sync.WaitGroup

	mu        sync.Mutex
	l         net.Listener
	script    Script
	queue     []queued
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
func (p *Proxy) Port() int { return imapwire.Port(p.Addr) }

// SetScript sets the Fault of connections accepted from now on (nil:
// Pass).
func (p *Proxy) SetScript(s Script) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.script = s
}

// queued is a fault of Queue: held by one connection at a time (holder,
// 0 for none) until it has fired.
type queued struct {
	f      Fault
	holder int
	fired  bool
}

// Queue gives new connections fs in order, each fault to one connection
// at a time until it has fired. A connection that closes before its fault
// fires (the client gave up on it first, say after its own timeout on a
// loaded machine) hands the fault on to the next new connection, so every
// queued fault fires once whatever else the connections meet. A new
// connection while every fault not yet fired is held passes (or follows
// the Script). Queue replaces an earlier queue.
func (p *Proxy) Queue(fs ...Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = make([]queued, len(fs))
	for i, f := range fs {
		p.queue[i] = queued{f: f}
	}
}

// take gives connection n the first queued fault neither fired nor held;
// p.mu is held.
func (p *Proxy) take(n int) (Fault, bool) {
	for i := range p.queue {
		if q := &p.queue[i]; !q.fired && q.holder == 0 {
			q.holder = n
			return q.f, true
		}
	}
	return Fault{}, false
}

// release marks connection n's queued fault fired, or when n closed
// without it firing, free for the next connection; p.mu is held.
func (p *Proxy) release(n int, fired bool) {
	for i := range p.queue {
		if q := &p.queue[i]; q.holder == n && !q.fired {
			q.fired = fired
			if !fired {
				q.holder = 0
			}
		}
	}
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
	p.release(e.Conn, true)
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
		f, queued := p.take(n)
		if !queued && p.script != nil {
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
		p.mu.Lock()
		p.release(n, false)
		p.mu.Unlock()
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
		p.release(n, false)
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
