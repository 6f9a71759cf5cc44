package mailparse

import (
	"encoding/base64"
	"io"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"
)

// b64Part is a 4 MB attachment as mailers write it: base64 in 76-character
// lines with CRLF.
func b64Part() *Part {
	raw := make([]byte, 4<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return &Part{Header: Header{Fields: []Field{{Name: "Content-Transfer-Encoding", Value: "base64"}}}, Body: []byte(b.String())}
}

func BenchmarkDecodedReader_Base64(b *testing.B) {
	benchBase64(b, func(p *Part) int64 {
		n, _ := io.Copy(io.Discard, p.DecodedReader())
		return n
	})
}

func BenchmarkDecodedSize_Base64(b *testing.B) {
	benchBase64(b, func(p *Part) int64 {
		n, _ := p.DecodedSize()
		return n
	})
}

// benchBase64 times decode on b64Part, which must give its 4 MB.
func benchBase64(b *testing.B, decode func(*Part) int64) {
	p := b64Part()
	b.SetBytes(4 << 20)
	b.ResetTimer()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if n := decode(p); n != 4<<20 {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's CPU time (user and system), which the other
// processes of a loaded machine change far less than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBase64Text_AsIs reads the attachment's base64 as a JSON body
// carries it (Base64Text: the text without its line breaks) ...
func BenchmarkBase64Text_AsIs(b *testing.B) {
	benchBase64(b, func(p *Part) int64 {
		r, ok := p.Base64Text()
		if !ok {
			b.Fatal("mailer's base64 not taken as it is")
		}
		n, _ := io.Copy(io.Discard, r)
		return encodedOf4MB(n)
	})
}

// ... and BenchmarkBase64Text_DecodeEncode the same text made as before:
// decoded, then encoded again.
func BenchmarkBase64Text_DecodeEncode(b *testing.B) {
	benchBase64(b, func(p *Part) int64 {
		var cw countWriter
		w := base64.NewEncoder(base64.StdEncoding, &cw)
		_, _ = io.Copy(w, p.DecodedReader())
		_ = w.Close()
		return encodedOf4MB(int64(cw))
	})
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// encodedOf4MB is 4 MB when n is the length of 4 MB's padded base64.
func encodedOf4MB(n int64) int64 {
	if n == int64(base64.StdEncoding.EncodedLen(4<<20)) {
		return 4 << 20
	}
	return n
}
