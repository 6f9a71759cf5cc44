package mailparse

import (
	"bytes"
	"mime"
	"strings"
)

// maxDepth bounds multipart nesting; deeper parts are kept undivided.
const maxDepth = 32

// maxParts bounds the parts of one message; the rest of a multipart past it
// stays in its last part undivided.
const maxParts = 2000

// Part is one node of the MIME tree.
type Part struct {
	Header Header
	// MediaType is the lowercase type/subtype, defaulted and repaired.
	MediaType string
	// Params are the Content-Type parameters (lowercase names).
	Params map[string]string
	// Disposition is the lowercase Content-Disposition ("" when absent)
	// and DispParams its parameters.
	Disposition string
	DispParams  map[string]string
	// Body is the part's body as written (still transfer-encoded); for a
	// multipart it holds preamble, parts and epilogue.
	Body []byte
	// Children are the parts of a multipart.
	Children []*Part
	// Repairs names what had to be repaired in this part's header or
	// structure (decoding repairs are reported by Decoded and Text).
	Repairs []string

	// release, when set, is told of stretches of the message read through
	// (ParseReleasing).
	release func([]byte)
	// b64 is a base64 body's count, once DecodedSize or Base64Text made it.
	b64 *b64Count
}

// Parse reads a whole message. It never fails: what cannot be structured is
// a text/plain part holding the original bytes.
func Parse(raw []byte) *Part {
	return ParseReleasing(raw, nil)
}

// ReleaseStep is how many bytes the parser and the part readers read
// through between two calls of a release function.
const ReleaseStep = 1 << 20

// ParseReleasing is Parse for a message whose bytes are mapped from a file
// rather than held: release (when not nil) is called with stretches of raw
// that the parser, and later the DecodedReader and DecodedSize of the
// tree's parts, have read through, about every ReleaseStep bytes, so that
// the caller can let the kernel drop their pages. The bytes must stay
// readable: a part read again reads them again.
func ParseReleasing(raw []byte, release func([]byte)) *Part {
	n := 0
	return parsePart(raw, "text/plain", 0, &n, release)
}

func parsePart(raw []byte, defType string, depth int, count *int, release func([]byte)) *Part {
	*count++
	h, off := ReadHeader(raw)
	p := &Part{Header: h, Body: raw[off:], release: release}
	if h.Repaired {
		p.Repairs = append(p.Repairs, "header")
	}
	if off == 0 && len(raw) > 0 && len(h.Fields) == 0 && raw[0] != '\r' && raw[0] != '\n' {
		p.Repairs = append(p.Repairs, "no header block")
	}
	var repaired bool
	p.MediaType, p.Params, repaired = contentType(h.Get("Content-Type"), defType)
	if repaired {
		p.Repairs = append(p.Repairs, "content-type")
	}
	if v := strings.TrimSpace(h.Get("Content-Disposition")); v != "" {
		p.Disposition, p.DispParams = parseParams(v)
	}
	if strings.HasPrefix(p.MediaType, "multipart/") {
		if depth >= maxDepth || *count >= maxParts {
			p.MediaType = "application/octet-stream"
			p.Repairs = append(p.Repairs, "too deep")
			return p
		}
		p.split(depth, count)
	}
	return p
}

// contentType parses a Content-Type value. An empty value is def; an
// invalid one is text/plain (RFC 2045 §5.2), keeping what parameters can be
// read.
func contentType(v, def string) (string, map[string]string, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return def, map[string]string{}, false
	}
	mt, params := parseParams(v)
	repaired := false
	if _, _, err := mime.ParseMediaType(v); err != nil {
		repaired = true
	}
	if !validMediaType(mt) {
		mt = "text/plain"
		repaired = true
	}
	return mt, params, repaired
}

func validMediaType(mt string) bool {
	t, s, ok := strings.Cut(mt, "/")
	return ok && isToken(t) && isToken(s)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// parseParams parses "value; name=param; ..." with mime.ParseMediaType and,
// when that fails, by hand: unquoted specials, a missing closing quote and
// duplicate names (the first wins) are accepted.
func parseParams(v string) (string, map[string]string) {
	if mt, params, err := mime.ParseMediaType(v); err == nil {
		return mt, params
	}
	params := map[string]string{}
	first, rest, _ := strings.Cut(v, ";")
	mt := strings.ToLower(strings.TrimSpace(first))
	for rest != "" {
		var item string
		item, rest = cutParam(rest)
		name, val, ok := strings.Cut(item, "=")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if strings.HasPrefix(val, `"`) {
			val = strings.TrimPrefix(val, `"`)
			if i := strings.LastIndexByte(val, '"'); i >= 0 {
				val = val[:i]
			}
			val = strings.ReplaceAll(val, `\"`, `"`)
		}
		if name == "" {
			continue
		}
		if strings.HasSuffix(name, "*") { // RFC 2231 extended value
			name = strings.TrimSuffix(name, "*")
			if _, p, err := mime.ParseMediaType("x/x; " + name + "*=" + val); err == nil {
				val = p[name]
			}
		}
		if _, dup := params[name]; !dup {
			params[name] = val
		}
	}
	return mt, params
}

// cutParam returns the text up to the next ';' outside quotes.
func cutParam(s string) (string, string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}

// split divides a multipart body into its parts. A body that cannot be
// split is read as text/plain.
func (p *Part) split(depth int, count *int) {
	childType := "text/plain"
	if p.MediaType == "multipart/digest" {
		childType = "message/rfc822"
	}
	b := p.Params["boundary"]
	if b == "" {
		p.MediaType = "text/plain"
		p.Repairs = append(p.Repairs, "multipart without boundary")
		return
	}
	delim := []byte("--" + b)
	body := p.Body
	start := -1 // start of the current part's content
	closed := false
	released := 0 // body[:released] was handed to p.release
	for i := 0; i < len(body) && !closed; {
		k := p.nextDelimiter(body, i, delim, &released)
		if k < 0 {
			break
		}
		end := len(body)
		if j := bytes.IndexByte(body[k:], '\n'); j >= 0 {
			end = k + j + 1
		}
		rest := bytes.TrimRight(body[k+len(delim):end], " \t\r\n")
		// Anything after a close delimiter's "--" is padding.
		isClose := bytes.HasPrefix(rest, []byte("--"))
		if len(rest) == 0 || isClose {
			if start >= 0 {
				p.addChild(body[start:trimEOL(body, start, k)], childType, depth, count)
			}
			start = end
			closed = isClose
			if *count >= maxParts && !closed {
				p.addChild(body[start:], childType, depth, count)
				p.Repairs = append(p.Repairs, "too many parts")
				return
			}
		}
		i = end
	}
	switch {
	case start < 0 || (closed && len(p.Children) == 0):
		// No delimiter line: a client shows the body as text.
		p.MediaType = "text/plain"
		p.Children = nil
		p.Repairs = append(p.Repairs, "no boundary line")
	case !closed:
		p.Repairs = append(p.Repairs, "missing closing boundary")
		if len(bytes.TrimSpace(body[start:])) > 0 {
			p.addChild(body[start:], childType, depth, count)
		}
	}
}

// nextDelimiter is the start of the first line at or after i (a line
// start) that begins with delim, or -1. It looks for delim itself rather
// than at every line, so the lines of an attachment cost one vectorised
// search instead of a call each; the stretches it has read through go to
// p.release about every ReleaseStep bytes (*released is where the next
// stretch starts).
func (p *Part) nextDelimiter(body []byte, i int, delim []byte, released *int) int {
	if bytes.IndexByte(delim[:len(delim)-1], '\n') >= 0 {
		return -1 // a delimiter line ends at its first line break
	}
	for i < len(body) {
		limit := len(body)
		if p.release != nil {
			if i-*released >= ReleaseStep {
				p.release(body[*released:i])
				*released = i
			}
			// Only matches starting before the next release point, so
			// that the pages are released as the search goes.
			limit = min(len(body), *released+ReleaseStep+len(delim)-1)
		}
		j := bytes.Index(body[i:limit], delim)
		if j < 0 {
			if limit == len(body) {
				return -1
			}
			i = max(i, *released+ReleaseStep)
			continue
		}
		k := i + j
		if k == 0 || body[k-1] == '\n' {
			return k
		}
		i = k + 1
	}
	return -1
}

// trimEOL is the end of a part's content: the line break before a
// delimiter belongs to the delimiter.
func trimEOL(body []byte, start, i int) int {
	if i > start && body[i-1] == '\n' {
		i--
		if i > start && body[i-1] == '\r' {
			i--
		}
	}
	return i
}

func (p *Part) addChild(raw []byte, defType string, depth int, count *int) {
	p.Children = append(p.Children, parsePart(raw, defType, depth+1, count, p.release))
}

// Walk calls fn for p and every part below it, depth first, in order.
func (p *Part) Walk(fn func(*Part)) {
	fn(p)
	for _, c := range p.Children {
		c.Walk(fn)
	}
}

// Repaired reports whether any part of the tree needed a structural or
// header repair.
func (p *Part) Repaired() bool {
	r := false
	p.Walk(func(q *Part) { r = r || len(q.Repairs) > 0 })
	return r
}

// Filename is the part's file name: the Content-Disposition filename, else
// the Content-Type name, with RFC 2047 words decoded and any directory
// removed; "" when it has none.
func (p *Part) Filename() string {
	var n string
	for _, v := range []string{p.DispParams["filename"], p.Params["name"], p.Params["filename"], p.Params["file"]} {
		if strings.TrimSpace(v) != "" {
			n = v
			break
		}
	}
	n = DecodeText(n)
	if i := strings.LastIndexAny(n, `/\`); i >= 0 {
		n = n[i+1:]
	}
	n = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, n)
	return strings.TrimSpace(n)
}
