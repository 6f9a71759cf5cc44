package mailparse

import (
	"bytes"
	"encoding/base64"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// Decoded returns the body with its Content-Transfer-Encoding undone, and
// whether decoding needed a repair. Unknown encodings return the body as is.
func (p *Part) Decoded() ([]byte, bool) {
	switch p.encoding() {
	case "base64":
		return decodeBase64(p.Body)
	case "quoted-printable":
		return decodeQP(p.Body)
	}
	return p.Body, false
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// decodeBase64 skips whitespace and stray characters, decodes each run
// between padding separately, and decodes a truncated tail as far as it
// goes.
func decodeBase64(b []byte) ([]byte, bool) {
	out := make([]byte, 0, len(b)*3/4+3)
	seg := make([]byte, 0, 4096)
	repaired := false
	flush := func() {
		if len(seg)%4 == 1 {
			seg = seg[:len(seg)-1]
			repaired = true
		}
		n0 := len(out)
		out = out[:n0+base64.RawStdEncoding.DecodedLen(len(seg))]
		n, _ := base64.RawStdEncoding.Decode(out[n0:], seg)
		out = out[:n0+n]
		seg = seg[:0]
	}
	padded := false
	for _, c := range b {
		switch {
		case isB64(c):
			if padded {
				flush()
				padded = false
			}
			seg = append(seg, c)
			if len(seg) == cap(seg) { // a multiple of 4: decode in whole quanta
				flush()
			}
		case c == '=':
			padded = true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			repaired = true
		}
	}
	flush()
	return out, repaired
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// decodeQP decodes quoted-printable; an '=' that starts no valid escape is
// kept as written.
func decodeQP(b []byte) ([]byte, bool) {
	out := make([]byte, 0, len(b))
	repaired := false
	for len(b) > 0 {
		var l []byte
		eol, crlf := false, false
		if i := bytes.IndexByte(b, '\n'); i < 0 {
			l, b = b, nil
		} else {
			l, b = b[:i], b[i+1:]
			eol = true
			crlf = i > 0 && l[i-1] == '\r'
		}
		l = bytes.TrimRight(l, " \t\r")
		soft := false
		if bytes.HasSuffix(l, []byte("=")) {
			l = l[:len(l)-1]
			soft = true
		}
		for k := 0; k < len(l); k++ {
			c := l[k]
			if c == '=' {
				if k+2 < len(l) {
					hi, ok1 := unhex(l[k+1])
					lo, ok2 := unhex(l[k+2])
					if ok1 && ok2 {
						out = append(out, hi<<4|lo)
						k += 2
						continue
					}
				}
				repaired = true
			}
			out = append(out, c)
		}
		if eol && !soft {
			if crlf {
				out = append(out, '\r')
			}
			out = append(out, '\n')
		}
	}
	return out, repaired
}

// Text returns a text part's content as UTF-8, converted from its charset,
// and whether that needed a repair (an unknown charset, or bytes that are
// not in the charset named).
func (p *Part) Text() (string, bool) {
	b, repaired := p.Decoded()
	cs := strings.ToLower(strings.TrimSpace(p.Params["charset"]))
	if cs == "" && p.MediaType == "text/html" && !utf8.Valid(b) {
		cs = metaCharset(b)
	}
	switch cs {
	case "", "us-ascii", "ascii", "utf-8", "utf8":
		if utf8.Valid(b) {
			return string(b), repaired
		}
		if cs == "utf-8" || cs == "utf8" {
			return strings.ToValidUTF8(string(b), "\uFFFD"), true
		}
		return fromLegacy(b), repaired
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		if utf8.Valid(b) {
			return string(b), true
		}
		return fromLegacy(b), true
	}
	d, err := io.ReadAll(r)
	if err != nil {
		return strings.ToValidUTF8(string(d), "\uFFFD"), true
	}
	return strings.ToValidUTF8(string(d), "\uFFFD"), repaired
}

var metaRe = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?([a-z0-9_.:-]+)`)

// metaCharset is the charset an HTML document declares in a <meta> tag
// within its first 4 KB ("" when none).
func metaCharset(b []byte) string {
	if m := metaRe.FindSubmatch(b[:min(len(b), 4096)]); m != nil {
		return strings.ToLower(string(m[1]))
	}
	return ""
}

// fromLegacy reads 8-bit text of no known charset as Windows-1252.
func fromLegacy(b []byte) string {
	r, err := charset.Reader("windows-1252", bytes.NewReader(b))
	if err == nil {
		if d, err := io.ReadAll(r); err == nil {
			return strings.ToValidUTF8(string(d), "\uFFFD")
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
