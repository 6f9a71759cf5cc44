package graphdst_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/imapmig/imapmig/testenv/graphemu"
)

// A create's body goes out one full TLS record per write: each HTTP/2
// DATA frame (9-byte header and data) is one 16 KB record, not a full
// record and a 9-byte one. Counted on the client's connection, after a
// first create has taken it past TLS's small start-up records.
func TestCreate_OneWritePerFrame(t *testing.T) {
	var writes, bytes atomic.Int64
	f := start(t, graphemu.Options{DisableThrottling: true}, nil, countWrites(&writes, &bytes))
	ctx := context.Background()
	mb, folder := f.inbox(t)
	if _, err := mb.Create(ctx, folder, attachmentMessage(1<<20)); err != nil {
		t.Fatal(err)
	}
	w0, b0 := writes.Load(), bytes.Load()
	if _, err := mb.Create(ctx, folder, attachmentMessage(1<<20)); err != nil {
		t.Fatal(err)
	}
	w, n := writes.Load()-w0, bytes.Load()-b0
	// About 1.4 MB of JSON: 86 full records, and a few writes for the
	// headers and the end of the stream.
	if full := n / (16 << 10); w > full+full/10+4 {
		t.Fatalf("%d writes for %d bytes (%d B per write); want about one per 16 KB record, %d", w, n, n/max(w, 1), full)
	}
}
