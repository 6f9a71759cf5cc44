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
// half a megabyte. A frame is its 9-byte header and the data, and the
// client writes each with a flush of its own; TLS seals at most 16 KB per
// record and crypto/tls writes every record with a system call of its own.
// So the data is 16 KB less the header: the frame is one full record, one
// write. (16 KB of data made two, 16,384 bytes and 9: twice the writes and
// TLS records, BenchmarkCreate_Wire.)
const maxFrameRead = 16<<10 - 9

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
