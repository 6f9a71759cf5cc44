package mailparse

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

// spanSlow is b64Span byte by byte.
func spanSlow(b []byte) int {
	i := 0
	for i < len(b) && isB64(b[i]) {
		i++
	}
	return i
}

// TestB64Span: every byte value at every position after a run of alphabet
// characters, and random mixtures.
func TestB64Span(t *testing.T) {
	run := []byte("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODkrLw")
	for c := range 256 {
		for pos := range 20 {
			for _, tail := range []string{"", "AAAAAAAAAAAA", "\xff\xffAAAAAAAA", "\x80A"} {
				b := append(append(append([]byte{}, run[:pos]...), byte(c)), tail...)
				if got, want := b64Span(b), spanSlow(b); got != want {
					t.Fatalf("b64Span(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			if r.IntN(6) == 0 {
				b[i] = byte(r.Uint32())
			} else {
				b[i] = run[r.IntN(len(run))]
			}
		}
		if got, want := b64Span(b), spanSlow(b); got != want {
			t.Fatalf("b64Span(%q) = %d, want %d", b, got, want)
		}
	}
}

// TestDecodedSize_RealWorldShapes: the size counted without decoding is
// the length Decoded gives, and the stream (its line-by-line fast path
// included) the bytes Decoded gives, with the same repair flag, for base64
// as mailers and broken mailers write it.
func TestDecodedSize_RealWorldShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	data := make([]byte, 100_003)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(data)
	lines := func(s string, n int, eol string) string {
		var b strings.Builder
		for len(s) > n {
			b.WriteString(s[:n] + eol)
			s = s[n:]
		}
		b.WriteString(s + eol)
		return b.String()
	}
	cases := map[string]string{
		"76 CRLF":                 lines(enc, 76, "\r\n"),
		"64 LF":                   lines(enc, 64, "\n"),
		"one line":                enc,
		"no padding":              strings.TrimRight(enc, "="),
		"trailing spaces":         lines(enc, 76, " \t\r\n"),
		"two parts padded":        lines(base64.StdEncoding.EncodeToString(data[:100]), 76, "\r\n") + lines(enc, 76, "\r\n"),
		"garbage bytes":           strings.ReplaceAll(lines(enc, 76, "\r\n"), "A", "A\x00\xe9!"),
		"truncated mid quantum":   lines(enc[:len(enc)-7], 76, "\r\n"),
		"lone char after padding": lines(enc, 76, "\r\n") + "Q\r\n",
		"padding inside":          enc[:4000] + "=" + enc[4000:],
		"padding inside lines":    lines(enc[:4000]+"="+enc[4000:], 76, "\r\n"),
		"odd line lengths":        lines(enc, 75, "\r\n"),
		"CR inside a line":        strings.Replace(lines(enc, 76, "\r\n"), "A", "\rA", 3),
		"concatenated padded":     lines(base64.StdEncoding.EncodeToString(data[:1]), 76, "\r\n") + lines(enc, 76, "\r\n"),
		"one padding character":   lines(base64.StdEncoding.EncodeToString(data[:100_001]), 76, "\r\n"),
		"only padding":            "====\r\n",
		"empty":                   "",
	}
	for name, body := range cases {
		p := &Part{Header: Header{Fields: []Field{{Name: "Content-Transfer-Encoding", Value: "base64"}}}, Body: []byte(body)}
		want, wantRep := p.Decoded()
		n, rep := p.DecodedSize()
		if n != int64(len(want)) || rep != wantRep {
			t.Errorf("%s: DecodedSize %d %v, Decoded %d %v", name, n, rep, len(want), wantRep)
		}
		for _, bufLen := range []int{1, 57, 4096, 1 << 20} {
			r := p.DecodedReader()
			var got []byte
			buf := make([]byte, bufLen)
			for {
				k, err := r.Read(buf)
				got = append(got, buf[:k]...)
				if err != nil {
					break
				}
			}
			if !bytes.Equal(got, want) || r.(*b64Reader).repaired != wantRep {
				t.Errorf("%s: DecodedReader (reads of %d) gives %d bytes (repaired %v), Decoded %d (%v)", name, bufLen, len(got), r.(*b64Reader).repaired, len(want), wantRep)
			}
		}
		if name == "76 CRLF" && !bytes.Equal(want, data) {
			t.Errorf("%s: does not decode to the data", name)
		}
	}
}
