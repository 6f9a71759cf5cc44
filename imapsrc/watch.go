package imapsrc

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts. A command's deadline is not a fixed total: a 35 MB literal from
// a server sending 100 KB/s takes six minutes and is no hang. Instead the
// connection is watched for progress: while a command runs, the Source
// takes the server as gone when it has sent no byte for
// Config.CommandTimeout (default 2 min), closes the connection and
// reconnects (at most 3 attempts per operation, each bounded by
// DialTimeout). go-imap's own fixed read deadlines (30 s per response,
// 5 min per literal) are switched off for that reason; its write deadlines
// stay.

// watchConn is the raw connection under TLS and IMAP: it records when the
// server last sent a byte, and ignores read deadlines.
// Before each read it re-arms quick ACKs (quickAck) where the platform has them.
type watchConn struct {
	net.Conn
	last     atomic.Int64 // UnixNano of the last byte read (or touch)
	quickack func()       // nil: not available
}

func newWatchConn(c net.Conn) *watchConn {
	w := &watchConn{Conn: c, quickack: quickAck(c)}
	w.touch()
	return w
}

func (w *watchConn) Read(p []byte) (int, error) {
	if w.quickack != nil {
		w.quickack()
	}
	n, err := w.Conn.Read(p)
	if n > 0 {
		w.touch()
	}
	return n, err
}

// touch counts as progress (a command starts, a chunk is handed over).
func (w *watchConn) touch() { w.last.Store(time.Now().UnixNano()) }

func (w *watchConn) silentFor() time.Duration { return time.Since(time.Unix(0, w.last.Load())) }

// SetReadDeadline is ignored: the watchdog replaces go-imap's fixed read
// deadlines (see above).
func (w *watchConn) SetReadDeadline(time.Time) error { return nil }

// SetDeadline keeps only the write deadline.
func (w *watchConn) SetDeadline(t time.Time) error { return w.Conn.SetWriteDeadline(t) }

// watchdog calls fire once w has been silent for idle; stop ends the watch.
// It starts by touching w: the silence counts from now.
func watchdog(w *watchConn, idle time.Duration, fire func()) (stop func()) {
	w.touch()
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	var check func()
	check = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if since := w.silentFor(); since < idle {
			t = time.AfterFunc(idle-since, check)
			return
		}
		stopped = true
		fire()
	}
	mu.Lock()
	t = time.AfterFunc(idle, check)
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}
