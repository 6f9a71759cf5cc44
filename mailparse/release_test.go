package mailparse

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// releaseLog records the stretches a ParseReleasing tree releases, as
// offsets into the message.
type releaseLog struct {
	raw   []byte
	spans [][2]int
	t     *testing.T
}

func (l *releaseLog) release(b []byte) {
	// b is a slice of raw: its offset is what cap says is left behind it.
	off := cap(l.raw) - cap(b)
	if off < 0 || off+len(b) > len(l.raw) || len(b) == 0 || &l.raw[off] != &b[0] {
		l.t.Fatalf("released %d bytes that are not a stretch of the message", len(b))
	}
	l.spans = append(l.spans, [2]int{off, off + len(b)})
}

// covered reports whether the released stretches cover [from, to).
func (l *releaseLog) covered(from, to int) bool {
	at := from
	for progress := true; progress && at < to; {
		progress = false
		for _, s := range l.spans {
			if s[0] <= at && s[1] > at {
				at, progress = s[1], true
			}
		}
	}
	return at >= to
}

// bigMessage is a multipart message with a base64 attachment, a
// quoted-printable part and an unencoded part of several ReleaseSteps each.
func bigMessage() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	bin := make([]byte, 3*ReleaseStep+12345)
	for i := range bin {
		bin[i] = byte(rng.Uint32())
	}
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\npreamble\r\n")
	b.WriteString("--XX\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(bin)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	b.WriteString("--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	for i := 0; b.Len() < 6*ReleaseStep; i++ {
		fmt.Fprintf(&b, "line %d caf=C3=A9 and a soft=\r\nbreak\r\n", i)
	}
	b.WriteString("--XX\r\nContent-Type: application/x-plain; name=p.txt\r\n\r\n")
	b.WriteString(strings.Repeat("unencoded bytes, read as they are\r\n", 2*ReleaseStep/35))
	b.WriteString("--XX--\r\n")
	return b.Bytes()
}

// TestParseReleasing_ReleasesWhatItReadsAndChangesNothing: the tree is
// Parse's, byte for byte when decoded; the parser releases the message as
// it reads through it, in stretches of about ReleaseStep; and reading a
// part to its end (DecodedReader, DecodedSize) releases all of its body.
func TestParseReleasing_ReleasesWhatItReadsAndChangesNothing(t *testing.T) {
	raw := bigMessage()
	log := &releaseLog{raw: raw, t: t}
	got := ParseReleasing(raw, log.release)
	want := Parse(raw)
	if len(got.Children) != 3 || len(want.Children) != 3 {
		t.Fatalf("parts: %d released, %d plain; want 3", len(got.Children), len(want.Children))
	}
	for _, s := range log.spans {
		if n := s[1] - s[0]; n > ReleaseStep+200 {
			t.Errorf("a stretch of %d bytes released at once, over ReleaseStep and a line", n)
		}
	}
	// The parser read the whole body looking for delimiters: all of it
	// but the last step is released.
	if !log.covered(len(raw)-len(got.Body), len(raw)-ReleaseStep-200) {
		t.Errorf("the parse released %v of a %d-byte message: not what it read through", log.spans, len(raw))
	}
	for i, p := range got.Children {
		wantBytes, wantRep := want.Children[i].Decoded()
		log.spans = nil
		n, rep := p.DecodedSize()
		if n != int64(len(wantBytes)) || rep != wantRep {
			t.Errorf("part %d: DecodedSize %d %v, want %d %v", i, n, rep, len(wantBytes), wantRep)
		}
		off := cap(raw) - cap(p.Body)
		// An unencoded part's size is its length: nothing read.
		if p.encoding() != "" && !log.covered(off, off+len(p.Body)) {
			t.Errorf("part %d: DecodedSize released %v, not all of its body [%d, %d)", i, log.spans, off, off+len(p.Body))
		}
		log.spans = nil
		b, err := io.ReadAll(p.DecodedReader())
		if err != nil || !bytes.Equal(b, wantBytes) {
			t.Errorf("part %d: the releasing reader gave %d bytes (%v), Parse's tree %d", i, len(b), err, len(wantBytes))
		}
		if !log.covered(off, off+len(p.Body)) {
			t.Errorf("part %d: DecodedReader released %v, not all of its body [%d, %d)", i, log.spans, off, off+len(p.Body))
		}
	}
	// Without a release function nothing changes.
	if r, ok := want.Children[2].DecodedReader().(*bytes.Reader); !ok || r.Len() != len(want.Children[2].Body) {
		t.Errorf("an unencoded part of Parse is not read as it is")
	}
}

// TestReleasingReader_ReadsAndReleasesAll: ReleasingReader gives b and
// releases all of it by its end (in stretches as large as its reads).
func TestReleasingReader_ReadsAndReleasesAll(t *testing.T) {
	raw := bigMessage()
	log := &releaseLog{raw: raw, t: t}
	var out bytes.Buffer
	if _, err := io.CopyBuffer(&out, ReleasingReader(raw, log.release), make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), raw) {
		t.Fatal("ReleasingReader changed the bytes")
	}
	if !log.covered(0, len(raw)) {
		t.Errorf("released %v of %d bytes", log.spans, len(raw))
	}
}
