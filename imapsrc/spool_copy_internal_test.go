package imapsrc

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// countingWriter counts its writes.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestCopyFull_WritesWholeBuffers: a literal read in record-sized pieces is
// written a full buffer at a time, byte for byte.
func TestCopyFull_WritesWholeBuffers(t *testing.T) {
	src := bytes.Repeat([]byte("0123456789abcdef"), 10_000) // 160,000 bytes
	for _, r := range []io.Reader{iotest.HalfReader(bytes.NewReader(src)), iotest.OneByteReader(bytes.NewReader(src)), bytes.NewReader(src)} {
		var w countingWriter
		n, err := copyFull(&w, r, make([]byte, 64<<10))
		if err != nil || n != int64(len(src)) || !bytes.Equal(w.Bytes(), src) {
			t.Fatalf("%d bytes, %v; equal %v", n, err, bytes.Equal(w.Bytes(), src))
		}
		if w.writes != 3 { // 64 KB, 64 KB, the rest
			t.Errorf("%d writes, want 3", w.writes)
		}
	}
	boom := errors.New("boom")
	var w countingWriter
	n, err := copyFull(&w, io.MultiReader(bytes.NewReader(src[:100]), iotest.ErrReader(boom)), make([]byte, 64<<10))
	if !errors.Is(err, boom) || n != 100 || w.Len() != 100 {
		t.Errorf("after a read error: %d bytes, %v", n, err)
	}
}
