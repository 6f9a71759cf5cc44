package mailparse

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

// multipartMessage is a message as the scale benchmark's corpus has them:
// a text and an HTML alternative and attSize bytes of attachment in base64
// lines of 76 characters.
func multipartMessage(attSize int) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	bin := make([]byte, attSize)
	for i := range bin {
		bin[i] = byte(rng.Uint32())
	}
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nTo: b@example.org\r\nSubject: report\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"=_outer_0123456789\"\r\n\r\n")
	b.WriteString("--=_outer_0123456789\r\nContent-Type: multipart/alternative; boundary=\"=_alt_0123456789\"\r\n\r\n")
	b.WriteString("--=_alt_0123456789\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.Repeat("Some text of the message, in lines as mailers write them.\r\n", 40))
	b.WriteString("--=_alt_0123456789\r\nContent-Type: text/html; charset=utf-8\r\n\r\n")
	b.WriteString(strings.Repeat("<p>Some text of the message, in lines as mailers write them.</p>\r\n", 40))
	b.WriteString("--=_alt_0123456789--\r\n")
	b.WriteString("--=_outer_0123456789\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(bin)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--=_outer_0123456789--\r\n")
	return b.Bytes()
}

// BenchmarkParse_Multipart parses a message of about 100 KB (the scale
// corpus's average) and one with a 4 MB attachment; cpu-ns/op is the
// process's CPU time.
func BenchmarkParse_Multipart(b *testing.B) {
	for _, c := range []struct {
		name string
		att  int
	}{{"100KB", 64 << 10}, {"4MB", 4 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			raw := multipartMessage(c.att)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				p := ParseReleasing(raw, func([]byte) {})
				if len(p.Children) != 2 || len(p.Children[0].Children) != 2 {
					b.Fatalf("parsed %d parts", len(p.Children))
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
