package mailparse

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
)

// DecodedReader streams what Decoded returns, with the same repairs,
// without holding the decoded body: memory stays a few KB whatever the
// part's size.
func (p *Part) DecodedReader() io.Reader {
	switch p.encoding() {
	case "base64":
		return &b64Reader{src: p.Body, seg: make([]byte, 0, 4096), rel: releaser{rest: p.Body, release: p.release}}
	case "quoted-printable":
		return &qpReader{src: p.Body, rel: releaser{rest: p.Body, release: p.release}}
	}
	return ReleasingReader(p.Body, p.release)
}

// releaser hands the stretches of a source read through to a release
// function (ParseReleasing), about every ReleaseStep bytes and at the end.
type releaser struct {
	rest    []byte // the source from the first byte not yet released
	release func([]byte)
}

// advance says the source is read up to where src (its unread tail)
// starts; final releases what is left of a source read to its end.
func (r *releaser) advance(src []byte, final bool) {
	if r.release == nil {
		return
	}
	n := len(r.rest) - len(src)
	if n >= ReleaseStep || (final && n > 0) {
		r.release(r.rest[:n])
		r.rest = src
	}
}

// ReleasingReader reads b as it is and calls release (when not nil) with
// the stretches of b read through, as the readers of ParseReleasing's parts
// do.
func ReleasingReader(b []byte, release func([]byte)) io.Reader {
	if release == nil {
		return bytes.NewReader(b)
	}
	return &plainReader{src: b, rel: releaser{rest: b, release: release}}
}

// plainReader is a body read as it is, releasing as it goes.
type plainReader struct {
	src []byte
	rel releaser
}

func (r *plainReader) Read(p []byte) (int, error) {
	if len(r.src) == 0 {
		r.rel.advance(r.src, true)
		return 0, io.EOF
	}
	n := copy(p, r.src)
	r.src = r.src[n:]
	r.rel.advance(r.src, false)
	return n, nil
}

// DecodedSize is len(Decoded()) and whether decoding needed a repair,
// computed by streaming.
func (p *Part) DecodedSize() (int64, bool) {
	switch r := p.DecodedReader().(type) {
	case *b64Reader:
		// Counted, not decoded (countBase64).
		c := countBase64(r.src, &r.rel)
		p.b64 = &c
		return c.decoded, c.repaired
	case *qpReader:
		n, _ := io.Copy(io.Discard, r)
		return n, r.repaired
	}
	return int64(len(p.Body)), false
}

// Base64Text reads a base64 part's body as the standard padded base64 of
// what DecodedReader returns, without decoding it, when the body is that
// encoding as it is but for whitespace (and a padding left out), as
// mailers write it; false for any other part, and for a body that decoding
// would repair or whose text is not exactly that encoding.
func (p *Part) Base64Text() (io.Reader, bool) {
	if p.encoding() != "base64" {
		return nil, false
	}
	if p.b64 == nil {
		c := countBase64(p.Body, &releaser{})
		p.b64 = &c
	}
	if !p.b64.asIs {
		return nil, false
	}
	// The padding is the count's; padding in the text is skipped.
	return &b64Text{src: p.Body, pad: p.b64.pad, lines: p.b64.lines, rel: releaser{rest: p.Body, release: p.release}}, true
}

func (p *Part) encoding() string {
	enc := strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")))
	if i := strings.IndexAny(enc, " \t;("); i >= 0 {
		enc = enc[:i]
	}
	return enc
}

// b64Reader is decodeBase64 as a stream: the same segments (runs between
// padding, decoded in 4096-character quanta), the same repairs.
type b64Reader struct {
	src      []byte
	seg      []byte
	dec      [3072]byte // a full segment's decoding
	out      []byte
	padded   bool
	repaired bool
	done     bool
	rel      releaser
}

func (r *b64Reader) flush() {
	if len(r.seg)%4 == 1 {
		r.seg = r.seg[:len(r.seg)-1]
		r.repaired = true
	}
	n, _ := base64.RawStdEncoding.Decode(r.dec[:], r.seg)
	r.out = r.dec[:n]
	r.seg = r.seg[:0]
}

// Read fills p as far as the part goes, not one segment at a time: what it
// returns is usually a request body's next write (an HTTP/2 DATA frame, a
// TLS record and a system call each).
func (r *b64Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.out) == 0 {
			if r.done {
				break
			}
			r.fill()
			continue
		}
		k := copy(p[n:], r.out)
		r.out = r.out[k:]
		n += k
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// fill consumes input until a segment is flushed (or the input ends).
func (r *b64Reader) fill() {
	if r.fillLines() {
		return
	}
	for len(r.src) > 0 {
		c := r.src[0]
		switch {
		case b64Chars[c]:
			if r.padded {
				r.padded = false
				r.flush()
				if len(r.out) > 0 {
					return // c is consumed on the next fill
				}
			}
			// The run of base64 characters that starts here (a whole
			// line, usually), up to the segment's end, in one copy.
			room := min(len(r.src), cap(r.seg)-len(r.seg))
			j := 1 + b64Span(r.src[1:room])
			r.seg = append(r.seg, r.src[:j]...)
			r.src = r.src[j:]
			r.rel.advance(r.src, false)
			if len(r.seg) == cap(r.seg) {
				r.flush()
				return
			}
			continue
		case c == '=':
			r.padded = true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			r.repaired = true
		}
		r.src = r.src[1:]
	}
	r.flush()
	r.done = true
	r.rel.advance(r.src, true)
}

// fillLines is fill's fast path for base64 as mailers write it: while no
// segment is open, each whole line of a multiple of 4 alphabet characters
// (CRLF or LF) is decoded straight from the source, which checks its
// characters as it decodes: the same bytes as copying them into a segment,
// without the copy or a separate scan. It reports whether it decoded
// anything; a line it cannot take (padding, whitespace, stray bytes, an
// odd length) is left to the general path.
func (r *b64Reader) fillLines() bool {
	w := 0
	for len(r.seg) == 0 {
		j := bytes.IndexByte(r.src, '\n')
		if j < 0 {
			break
		}
		line := r.src[:j]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 || len(line)%4 != 0 || w+len(line)/4*3 > len(r.dec) ||
			bytes.IndexByte(line, '\r') >= 0 { // Decode skips a CR: its quanta would not be the line's
			break
		}
		n, err := base64.RawStdEncoding.Decode(r.dec[w:], line)
		if err != nil {
			break // decoded again by the general path
		}
		w += n
		r.padded = false // a padding before an empty segment ends nothing
		r.src = r.src[j+1:]
		r.rel.advance(r.src, false)
	}
	r.out = r.dec[:w]
	return w > 0
}

// b64Chars[c] is isB64(c).
var b64Chars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isB64(byte(c))
	}
	return t
}()

// qpReader is decodeQP as a stream, one line at a time.
type qpReader struct {
	src      []byte
	out      []byte
	repaired bool
	rel      releaser
}

// Read fills p as far as the part goes (b64Reader.Read says why).
func (r *qpReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.out) == 0 {
			r.rel.advance(r.src, len(r.src) == 0)
			if len(r.src) == 0 {
				break
			}
			line := r.src
			if i := bytes.IndexByte(r.src, '\n'); i >= 0 {
				line = r.src[:i+1]
			}
			r.src = r.src[len(line):]
			var rep bool
			r.out, rep = decodeQP(line)
			r.repaired = r.repaired || rep
			continue
		}
		k := copy(p[n:], r.out)
		r.out = r.out[k:]
		n += k
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}
