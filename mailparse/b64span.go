package mailparse

// b64Span is the length of the run of base64 alphabet characters
// (A-Z a-z 0-9 + /) that b starts with.
func b64Span(b []byte) int {
	for i, c := range b {
		if !b64Chars[c] {
			return i
		}
	}
	return len(b)
}

// countBase64 is what a b64Reader over src decodes to, counted without
// decoding: a segment between padding of n characters decodes to n*6/8
// bytes, whatever quanta it is decoded in, less a lone trailing character
// (dropped, a repair), and anything but the alphabet, padding and
// whitespace is skipped (a repair). rel is told of the source read through.
func countBase64(src []byte, rel *releaser) (int64, bool) {
	var total, seg int64
	padded, repaired := false, false
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
				padded = false
				flush()
			}
			n := b64Span(src[i:])
			seg += int64(n)
			i += n
			rel.advance(src[i:], false)
			continue
		case c == '=':
			padded = true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			repaired = true
		}
		i++
	}
	flush()
	rel.advance(src[len(src):], true)
	return total, repaired
}
