package graphdst

import (
	"bytes"
	"io"
	"testing"
)

// A request body is handed to net/http's HTTP/2 client at most one default
// frame's worth per read, whatever buffer the client reads it with, and
// whole.
func TestFrameReads_BoundedAndWhole(t *testing.T) {
	src := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // 1.6 MB
	r := frameReads{bytes.NewReader(src)}
	var got []byte
	buf := make([]byte, 512<<10)
	for {
		n, err := r.Read(buf)
		if n > maxFrameRead {
			t.Fatalf("one read returned %d bytes, want at most %d", n, maxFrameRead)
		}
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, src) {
		t.Fatalf("read %d bytes, want the %d written", len(got), len(src))
	}
}
