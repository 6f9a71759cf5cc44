package imapfault

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/imapmig/imapmig/testenv/imapwire"
)

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
		line, ok := imapwire.NextCommand(r, c.server)
		if !ok {
			return
		}
		c.mu.Lock()
		reply := c.fault.LoginReply
		at := c.sent
		c.mu.Unlock()
		if tag, ok := loginCommand(line); ok && reply != "" {
			if err := imapwire.DropLiterals(r, line); err != nil {
				return
			}
			// Recorded before the client can read the reply and act on it.
			c.fire("login", at, reply)
			c.writeMu.Lock()
			_, err := io.WriteString(c.client, tag+" "+reply+"\r\n")
			c.writeMu.Unlock()
			if err != nil {
				return
			}
			continue
		}
		if err := imapwire.ForwardCommand(c.server, r, line); err != nil {
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
