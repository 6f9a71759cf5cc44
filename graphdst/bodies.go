// Request and answer bodies on the wire: how a body is handed to net/http,
// and the buffers answers are read into.

package graphdst

import (
	"bytes"
	"io"
	"sync"
)

// maxFrameRead bounds one read of a request body, and so one HTTP/2 DATA
// frame: net/http's HTTP/2 client copies every frame into its connection's
// write buffer, which keeps the size of the largest frame it ever sent. A
// server that allows large frames (Go's allows 1 MB, and the client then
// reads the body 512 KB at a time) would leave every connection holding
// half a megabyte; 16 KB is HTTP/2's default frame size (RFC 9113, 4.2).
const maxFrameRead = 16 << 10

// frameReads hands out a request body at most maxFrameRead bytes per read.
type frameReads struct{ r io.Reader }

func (f frameReads) Read(p []byte) (int, error) {
	if len(p) > maxFrameRead {
		p = p[:maxFrameRead]
	}
	return f.r.Read(p)
}

// answerBufs hold answers given to request.scan.
var answerBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putAnswerBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // an answer that large is rare: let it go
		answerBufs.Put(b)
	}
}
