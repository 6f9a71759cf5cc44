package graphdst_test

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// A create's body goes out one full TLS record per write: each HTTP/2
// DATA frame (9-byte header and data) is one 16 KB record, not a full
// record and a 9-byte one. Counted on the client's connection, after a
// first create has taken it past TLS's small start-up records.
func TestCreate_OneWritePerFrame(t *testing.T) {
	var writes, bytes atomic.Int64
	f := start(t, graphemu.Options{DisableThrottling: true}, nil, func(c *graphdst.Config) {
		tr := c.HTTPClient.Transport.(*http.Transport).Clone()
		d := &net.Dialer{}
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: conn, writes: &writes, bytes: &bytes}, nil
		}
		c.HTTPClient = &http.Client{Transport: tr}
	})
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
