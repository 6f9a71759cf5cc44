package imapsrc

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmig/imapmig/migrate"
)

// spoolBody is a message body held in memory or in a temp file.
type spoolBody struct {
	mu   sync.Mutex
	mem  []byte
	path string // temp file, "" when in memory
	size int64
	done bool
}

var _ migrate.Body = (*spoolBody)(nil)

func (b *spoolBody) Size() int64 { return b.size }

func (b *spoolBody) Open() (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil, os.ErrClosed
	}
	if b.path == "" {
		return io.NopCloser(bytes.NewReader(b.mem)), nil
	}
	return os.Open(b.path)
}

func (b *spoolBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	b.done = true
	b.mem = nil
	if b.path != "" {
		if err := os.Remove(b.path); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// spool drains an IMAP literal as fast as the network allows, into memory
// up to SpoolMemLimit and into a temp file above it, so the literal is never
// held open while the consumer is slow.
func (c *Connector) spool(r imap.LiteralReader) (*spoolBody, error) {
	size := r.Size()
	if size <= c.cfg.SpoolMemLimit {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return &spoolBody{mem: buf, size: size}, nil
	}
	f, err := os.CreateTemp(c.cfg.SpoolDir, "imapsrc-*.eml")
	if err != nil {
		// A local problem, not the server's: fail loudly but let the engine
		// retry later (the disk may free up).
		return nil, migrate.Retryable(fmt.Errorf("imapsrc: creating spool file: %w", err))
	}
	bp := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(struct{ io.Writer }{f}, r, *bp)
	copyBufs.Put(bp)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return &spoolBody{path: f.Name(), size: n}, nil
}
