package graphdst_test

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/targettest"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// countingConn counts the writes (system calls) on a client connection.
type countingConn struct {
	net.Conn
	writes, bytes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	c.bytes.Add(int64(len(p)))
	return c.Conn.Write(p)
}

// countWrites makes the target's connections count their writes and the
// bytes written.
func countWrites(writes, bytes *atomic.Int64) func(*graphdst.Config) {
	return func(c *graphdst.Config) {
		tr := c.HTTPClient.Transport.(*http.Transport).Clone()
		d := &net.Dialer{}
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: conn, writes: writes, bytes: bytes}, nil
		}
		c.HTTPClient = &http.Client{Transport: tr}
	}
}

// attachmentMessage has one attachment of size random bytes in base64
// lines of 76 characters, as mailers write it.
func attachmentMessage(size int) migrate.NewMessage {
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(uint64(size), 9))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	b.WriteString("From: a@example.org\r\nSubject: attachment\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--B\r\n" +
		"Content-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--B--\r\n")
	raw := b.String()
	hh := migrate.HeaderHash(migrate.HeaderBlock([]byte(raw)))
	return migrate.NewMessage{Meta: migrate.MessageMeta{SourceKey: hh, HeaderHash: hh, InternalDate: time.Now()}, Body: targettest.MemBody(raw)}
}

// processCPU is this process's CPU time (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCreate_Wire counts what one create costs on the wire from the
// client's side: writes (each a system call, and a TLS record or more) and
// bytes written, for a small message, a 1 MB attachment sent inline and a
// 5 MB one sent through an upload session, and the CPU time of the whole
// process (the emulator serves in it). Throttling off.
func BenchmarkCreate_Wire(b *testing.B) {
	for _, tc := range []struct {
		name string
		msg  func(i int) migrate.NewMessage
	}{
		{"small", func(i int) migrate.NewMessage { return simpleMessage("wire", i) }},
		{"inline-1MB", func(int) migrate.NewMessage { return attachmentMessage(1 << 20) }},
		{"upload-5MB", func(int) migrate.NewMessage { return attachmentMessage(5 << 20) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var writes, bytes atomic.Int64
			f := start(b, graphemu.Options{DisableThrottling: true}, nil, countWrites(&writes, &bytes))
			ctx := context.Background()
			mb, folder := f.inbox(b)
			msgs := make([]migrate.NewMessage, b.N)
			for i := range msgs {
				msgs[i] = tc.msg(i)
			}
			w0, b0 := writes.Load(), bytes.Load()
			cpu0 := processCPU()
			b.ResetTimer()
			for i := range b.N {
				if _, err := mb.Create(ctx, folder, msgs[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cpu := processCPU() - cpu0
			w, n := writes.Load()-w0, bytes.Load()-b0
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "client+emulator-cpu-us/op")
			b.ReportMetric(float64(w)/float64(b.N), "writes/op")
			b.ReportMetric(float64(n)/float64(max(w, 1)), "B/write")
		})
	}
}
