package imapsrc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
		defer forget(b.path)
		if err := os.Remove(b.path); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// Spool files hold plain customer mail: none may outlive its use. Body.Close
// removes a file after use; PrepareSpoolDir removes the files a crashed
// process left behind; DiscardSpool removes every file at shutdown.
// spoolFiles knows the files this process has in use, so that a sweep by
// another Connector on the same directory never removes a live body. A file
// is created and registered under its lock, so a sweep cannot slip between.
var spoolFiles = struct {
	sync.Mutex
	live map[string]bool
}{live: map[string]bool{}}

// spoolPattern names spool files (os.CreateTemp's pattern).
const spoolPattern = "imapsrc-*.eml"

func forget(path string) {
	spoolFiles.Lock()
	delete(spoolFiles.live, path)
	spoolFiles.Unlock()
}

// createSpoolFile creates a spool file in dir and registers it as live.
func createSpoolFile(dir string) (*os.File, error) {
	spoolFiles.Lock()
	defer spoolFiles.Unlock()
	f, err := os.CreateTemp(dir, spoolPattern)
	if err != nil {
		return nil, err
	}
	spoolFiles.live[f.Name()] = true
	return f, nil
}

// PrepareSpoolDir creates dir with mode 0700 (tightening an existing one)
// and removes the spool files in it that no body of this process uses:
// those a crashed or killed process left behind. It returns how many it
// removed. The daemon calls it at start; New calls it for Config.SpoolDir.
func PrepareSpoolDir(dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("imapsrc: spool dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return 0, fmt.Errorf("imapsrc: spool dir: %w", err)
	}
	return sweepSpool(dir, false)
}

// DiscardSpool removes every spool file in dir, also those of bodies still
// open (their Open fails afterwards). The daemon calls it at shutdown, once
// the engine has stopped or was given up on.
func DiscardSpool(dir string) (int, error) { return sweepSpool(dir, true) }

func sweepSpool(dir string, all bool) (int, error) {
	spoolFiles.Lock()
	defer spoolFiles.Unlock()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("imapsrc: sweeping spool dir: %w", err)
	}
	n := 0
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, "imapsrc-") || !strings.HasSuffix(name, ".eml") {
			continue
		}
		path := filepath.Join(dir, name)
		if spoolFiles.live[path] && !all {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// copyFull copies r to w through buf, writing only full buffers (and the
// rest at the end): a read of the literal returns at most one TLS record
// (16 KB), and a write per record was 4% of the engine's CPU.
func copyFull(w io.Writer, r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
		}
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return n, nil
		default:
			return n, err
		}
	}
}

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
	f, err := createSpoolFile(c.cfg.SpoolDir)
	if err != nil {
		// A local problem, not the server's: fail loudly but let the engine
		// retry later (the disk may free up).
		return nil, migrate.Retryable(fmt.Errorf("imapsrc: creating spool file: %w", err))
	}
	bp := copyBufs.Get().(*[]byte)
	n, err := copyFull(f, r, *bp)
	copyBufs.Put(bp)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		os.Remove(f.Name())
		forget(f.Name())
		return nil, err
	}
	return &spoolBody{path: f.Name(), size: n}, nil
}
