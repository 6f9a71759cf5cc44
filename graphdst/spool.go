package graphdst

import (
	"bytes"
	"os"

	"github.com/imapmig/imapmig/migrate"
)

// spool is a message's bytes while it is created.
type spool struct {
	raw []byte
	// release ends the use of raw.
	release func()
	// drop lets the kernel take raw's pages out of this process's memory
	// (they come back from the page cache when read again); a no-op for
	// bytes read into the heap.
	drop func()
	// dropped does the same for the pages of a stretch of raw read
	// through (convert.ConvertReleasing); nil for bytes in the heap.
	dropped func([]byte)
}

// memBody is a body held in memory (imapsrc's small bodies): Bytes is
// the body itself, nil when it is not in memory. The create only reads it,
// and is done with it before the engine closes the body.
type memBody interface {
	Bytes() []byte
}

// loadSpool returns a message's bytes. A body spooled to a file is mapped
// (spool_linux.go), not read: the bytes stay in the page cache, outside the
// Go heap, and the attachments are decoded from the mapping as they are
// sent, so a create's heap does not grow with the message. The parser and
// the attachments' readers call dropped about every megabyte they read
// through, so the resident part of the mapping stays about a megabyte
// while it is parsed and sent, whatever the message's size. Other bodies
// (small ones, kept in memory by the source) are used as they are when the
// body offers its bytes (memBody), else read.
func loadSpool(b migrate.Body) (*spool, error) {
	if mb, ok := b.(memBody); ok {
		if raw := mb.Bytes(); raw != nil {
			// Held in memory by the source: used as it is, not copied.
			return &spool{raw: raw, release: func() {}, drop: func() {}}, nil
		}
	}
	rc, err := b.Open()
	if err != nil {
		return nil, err
	}
	if f, ok := rc.(*os.File); ok {
		if sp, ok := mapFile(f); ok {
			_ = f.Close() // the mapping stays valid
			return sp, nil
		}
	}
	defer rc.Close()
	// One allocation of the spooled size (io.ReadAll's doubling made about
	// as much garbage again as the message, for every small message).
	buf := bytes.NewBuffer(make([]byte, 0, max(b.Size(), 0)+bytes.MinRead))
	if _, err := buf.ReadFrom(rc); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return &spool{raw: raw, release: func() {}, drop: func() {}}, nil
}
