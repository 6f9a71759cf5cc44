package mailparse

import (
	"bytes"
	"io"
)

// b64Span is the length of the run of base64 alphabet characters
// (A-Z a-z 0-9 + /) that b starts with. It looks at 8 bytes at a time
// without a branch per byte (a line of 76 is nine such steps and a
// short tail), then finds the end byte by byte.
func b64Span(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := b[i : i+8 : i+8]
		if b64Bad[w[0]]|b64Bad[w[1]]|b64Bad[w[2]]|b64Bad[w[3]]|b64Bad[w[4]]|b64Bad[w[5]]|b64Bad[w[6]]|b64Bad[w[7]] != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if b64Bad[b[i]] != 0 {
			return i
		}
	}
	return len(b)
}

// b64Bad[c] is 1 for a byte outside the base64 alphabet.
var b64Bad = func() (t [256]byte) {
	for c := range 256 {
		if !isB64(byte(c)) {
			t[c] = 1
		}
	}
	return t
}()

// b64Count is what countBase64 learns of a base64 body in one scan.
type b64Count struct {
	decoded  int64 // what a b64Reader decodes it to
	repaired bool  // decoding it needs a repair
	// asIs: its alphabet characters, with pad '=' added, are the standard
	// padded encoding (RFC 4648) of what it decodes to: nothing but the
	// alphabet and whitespace before its end, no padding but at its end
	// (and as much as the last quantum needs, or none), and the unused
	// bits of the last character zero.
	asIs bool
	pad  int
	// lines: its only whitespace is line breaks (LF or CRLF), so its text
	// is read a line at a time (b64Text).
	lines bool
}

// countBase64 is what a b64Reader over src decodes to, counted without
// decoding: a segment between padding of n characters decodes to n*6/8
// bytes, whatever quanta it is decoded in, less a lone trailing character
// (dropped, a repair), and anything but the alphabet, padding and
// whitespace is skipped (a repair). rel is told of the source read through.
func countBase64(src []byte, rel *releaser) b64Count {
	var total, seg, chars int64
	padded, repaired, midPad, lines := false, false, false, true
	pads := 0
	var last byte // the last alphabet character
	flush := func() {
		if seg%4 == 1 {
			seg--
			repaired = true
		}
		total += seg * 6 / 8
		seg = 0
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case b64Chars[c]:
			if padded {
				padded, midPad = false, true
				flush()
			}
			n := b64Span(src[i:])
			seg += int64(n)
			chars += int64(n)
			i += n
			last = src[i-1]
			rel.advance(src[i:], false)
			continue
		case c == '=':
			padded = true
			pads++
		case c == '\n':
		case c == '\r':
			lines = lines && i+1 < len(src) && src[i+1] == '\n'
		case c == ' ' || c == '\t':
			lines = false
		default:
			repaired = true
		}
		i++
	}
	flush()
	rel.advance(src[len(src):], true)
	cnt := b64Count{decoded: total, repaired: repaired, lines: lines}
	need := int((4 - chars%4) % 4)
	var spare byte // the bits of the last character the last quantum does not use
	switch chars % 4 {
	case 2:
		spare = 0x0f
	case 3:
		spare = 0x03
	}
	cnt.asIs = !repaired && !midPad && (pads == 0 || pads == need) && b64Value[last]&spare == 0
	if cnt.asIs {
		cnt.pad = need
	}
	return cnt
}

// b64Value is the 6-bit value of each base64 alphabet character.
var b64Value = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// b64Text is a base64 body whose count says it is the standard encoding
// as it is (b64Count.asIs), read with its whitespace taken out and its
// missing padding added.
type b64Text struct {
	src   []byte
	pad   int
	lines bool // b64Count.lines
	rel   releaser
}

func (r *b64Text) Read(p []byte) (int, error) {
	var n int
	if r.lines {
		n = r.readLines(p)
	} else {
		n = r.readRuns(p)
	}
	for n < len(p) && len(r.src) == 0 && r.pad > 0 {
		p[n] = '='
		n++
		r.pad--
	}
	if len(r.src) == 0 && r.pad == 0 {
		r.rel.advance(r.src, true)
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
	}
	return n, nil
}

// readLines copies the text a line at a time: the count found nothing but
// the alphabet, line breaks and the padding at the end, so a line is its
// characters up to a CR or padding at its end.
func (r *b64Text) readLines(p []byte) int {
	n := 0
	for n < len(p) && len(r.src) > 0 {
		j := bytes.IndexByte(r.src, '\n')
		end := j
		if j < 0 {
			end = len(r.src)
		}
		k := end
		for k > 0 && (r.src[k-1] == '\r' || r.src[k-1] == '=') {
			k--
		}
		m := copy(p[n:], r.src[:k])
		n += m
		if m < k { // p is full in the middle of the line
			r.src = r.src[m:]
			break
		}
		r.src = r.src[min(end+1, len(r.src)):]
		r.rel.advance(r.src, false)
	}
	return n
}

// readRuns copies the runs of alphabet characters, skipping the rest.
func (r *b64Text) readRuns(p []byte) int {
	n := 0
	for n < len(p) && len(r.src) > 0 {
		c := r.src[0]
		if !b64Chars[c] { // whitespace, or the padding at the end (pad adds it)
			r.src = r.src[1:]
			continue
		}
		k := b64Span(r.src[:min(len(r.src), len(p)-n)])
		n += copy(p[n:], r.src[:k])
		r.src = r.src[k:]
		r.rel.advance(r.src, false)
	}
	return n
}
