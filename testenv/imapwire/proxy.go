package imapwire

import (
	"bufio"

	"fmt"
	"io"
	"maps"
	"net"
	"regexp"
	"strings"
	"sync"
)

// Proxy listens on 127.0.0.1 and forwards to one upstream server.
type Proxy struct {
	// Addr is host:port to connect clients to.
	Addr string

	upstream string
	l        net.Listener
	wg       sync.WaitGroup

	mu      sync.Mutex
	counts  map[string]int
	refused []string
	capLine string
	conns   map[net.Conn]struct{}
	closed  bool
	active  int // client connections open now
	peak    int // most client connections open at once
}

// Start listens on a free loopback port and forwards to upstream
// (host:port of a plaintext IMAP listener).
func Start(upstream string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: l.Addr().String(), upstream: upstream, l: l, counts: map[string]int{}, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Host and Port split Addr.
func (p *Proxy) Host() string { h, _, _ := net.SplitHostPort(p.Addr); return h }

// Port is the proxy's port.
func (p *Proxy) Port() int { return Port(p.Addr) }

// Close stops listening and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.l.Close()
	p.wg.Wait()
	return err
}

// Counts returns how often each command and extension was used since the
// last Reset: command names ("UID FETCH", "STATUS"), "ENABLE <cap>", and
// feature keys (see the Feature* constants).
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts)
}

// Refused returns the commands refused since the last Reset, as
// "<command>: <reason>" (no arguments).
func (p *Proxy) Refused() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.refused...)
}

// Reset clears Counts, Refused and Peak.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = map[string]int{}
	p.refused = nil
	p.peak = p.active
}

// Peak is the most client connections that were open at once since the
// last Reset.
func (p *Proxy) Peak() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// Capability is the last capability line the server sent after a login
// (in the server's order), or "" if none was seen.
func (p *Proxy) Capability() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.capLine
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	p.active++
	p.peak = max(p.peak, p.active)
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
	p.active--
}

// conn is one proxied client connection.
type conn struct {
	p        *Proxy
	client   net.Conn
	server   net.Conn
	clientMu sync.Mutex // whole lines and literals to the client

	mu     sync.Mutex
	caps   map[string]bool // nil until the server sent its capabilities
	authed bool
}

func (p *Proxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, server) {
		client.Close()
		server.Close()
		return
	}
	defer p.untrack(client, server)
	c := &conn{p: p, client: client, server: server}
	done := make(chan struct{})
	go func() {
		c.fromServer()
		client.Close()
		server.Close()
		close(done)
	}()
	c.fromClient()
	client.Close()
	server.Close()
	<-done
}

// fromServer forwards the server's stream to the client, a line or a
// literal at a time, learning the capabilities on the way.
func (c *conn) fromServer() {
	r := bufio.NewReaderSize(c.server, 64<<10)
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			c.learn(line)
			c.clientMu.Lock()
			_, werr := io.WriteString(c.client, line)
			c.clientMu.Unlock()
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
		if n, _, ok := Literal(line); ok {
			c.clientMu.Lock()
			_, err := io.CopyN(c.client, r, n)
			c.clientMu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

var capCodeRE = regexp.MustCompile(`(?i)\[CAPABILITY ([^\]]*)\]`)

func (c *conn) learn(line string) {
	var list string
	if m := capCodeRE.FindStringSubmatch(line); m != nil {
		list = m[1]
	} else if f := strings.Fields(line); len(f) > 2 && f[0] == "*" && strings.EqualFold(f[1], "CAPABILITY") {
		list = strings.Join(f[2:], " ")
	} else {
		return
	}
	caps := map[string]bool{}
	for _, cp := range strings.Fields(list) {
		caps[strings.ToUpper(cp)] = true
	}
	if caps["IMAP4REV2"] {
		// RFC 9051 §1: IMAP4rev2 includes these extensions.
		for _, cp := range []string{"ENABLE", "ESEARCH", "MOVE", "NAMESPACE", "UIDPLUS", "UNSELECT", "IDLE",
			"LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "SASL-IR", "LITERAL-", "CHILDREN", "BINARY", "STATUS=SIZE"} {
			caps[cp] = true
		}
	}
	c.mu.Lock()
	c.caps = caps
	authed := c.authed
	c.mu.Unlock()
	if authed {
		c.p.mu.Lock()
		c.p.capLine = strings.TrimSpace(list)
		c.p.mu.Unlock()
	}
}

// fromClient forwards the client's commands to the server, refusing those
// that need an unadvertised extension.
func (c *conn) fromClient() {
	r := bufio.NewReaderSize(c.client, 64<<10)
	for {
		line, ok := NextCommand(r, c.server)
		if !ok {
			return
		}
		tag, cmd, features, reason := c.inspect(line)
		c.record(cmd, features, reason)
		if reason != "" {
			if err := c.refuse(r, tag, line, cmd, reason); err != nil {
				return
			}
			continue
		}
		if err := c.forward(r, line); err != nil {
			return
		}
	}
}

// forward sends line and, for each literal it announces, the literal and
// the next line of the command.
func (c *conn) forward(r *bufio.Reader, line string) error { return ForwardCommand(c.server, r, line) }

// refuse answers BAD for a command that is not forwarded (see DropLiterals).
func (c *conn) refuse(r *bufio.Reader, tag, line, cmd, reason string) error {
	if err := DropLiterals(r, line); err != nil {
		return err
	}
	c.clientMu.Lock()
	defer c.clientMu.Unlock()
	_, err := fmt.Fprintf(c.client, "%s BAD %s refused by imapwire: %s\r\n", tag, cmd, reason)
	return err
}

func (c *conn) record(cmd string, features []string, reason string) {
	if cmd == "" {
		return
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	c.p.counts[cmd]++
	for _, f := range features {
		c.p.counts[f]++
	}
	if reason != "" {
		c.p.refused = append(c.p.refused, cmd+": "+reason)
	}
}
