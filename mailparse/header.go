package mailparse

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// Field is one header field: its name as written and its raw value, with
// folding removed.
type Field struct {
	Name, Value string
}

// Header is a parsed header block in order.
type Header struct {
	Fields []Field
	// Repaired says a line had to be skipped, joined or reinterpreted.
	Repaired bool
}

// Get returns the first value of the field name (case-insensitive).
func (h Header) Get(name string) string {
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether the field name is present.
func (h Header) Has(name string) bool {
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// line returns the line of b starting at i (without its terminator) and the
// index after the terminator.
func line(b []byte, i int) (string, int) {
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return strings.TrimRight(string(b[i:]), "\r"), len(b)
	}
	return strings.TrimRight(string(b[i:i+j]), "\r"), i + j + 1
}

// fieldName returns the name of a "Name: value" line, or false when the line
// is not a header field.
func fieldName(l string) (name, value string, ok bool) {
	k := strings.IndexByte(l, ':')
	if k <= 0 {
		return "", "", false
	}
	name = strings.TrimRight(l[:k], " \t")
	if name == "" {
		return "", "", false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f {
			return "", "", false
		}
	}
	return name, l[k+1:], true
}

// ReadHeader reads the header block at the start of raw and returns it with
// the offset at which the body starts. It never fails (see the package doc).
func ReadHeader(raw []byte) (Header, int) {
	var h Header
	i := 0
	if bytes.HasPrefix(raw, []byte("From ")) { // mbox separator
		_, i = line(raw, 0)
		h.Repaired = true
	}
	for i < len(raw) {
		l, next := line(raw, i)
		if l == "" {
			return h, next
		}
		if l[0] == ' ' || l[0] == '\t' {
			if len(h.Fields) > 0 {
				h.Fields[len(h.Fields)-1].Value += " " + strings.TrimSpace(l)
				i = next
				continue
			}
			h.Repaired = true
			if name, v, ok := fieldName(strings.TrimLeft(l, " \t")); ok {
				h.Fields = append(h.Fields, Field{Name: name, Value: v})
			}
			i = next
			continue
		}
		if name, v, ok := fieldName(l); ok {
			h.Fields = append(h.Fields, Field{Name: name, Value: v})
			i = next
			continue
		}
		// Not a field. If more fields follow before the blank line, it is
		// either a parameter continuation that lost its indent (the field
		// before ends in ';' or ',', or the line holds name=value), which
		// is joined, or a broken line, which is skipped. If no field
		// follows, the body starts here (a missing blank line).
		if len(h.Fields) > 0 && moreFields(raw, next) {
			last := &h.Fields[len(h.Fields)-1]
			if v := strings.TrimSpace(last.Value); strings.HasSuffix(v, ";") || strings.HasSuffix(v, ",") || strings.Contains(l, "=") {
				last.Value += " " + strings.TrimSpace(l)
			}
			h.Repaired = true
			i = next
			continue
		}
		h.Repaired = true
		return h, i
	}
	return h, len(raw)
}

// moreFields reports whether a header field line appears at or after i
// before the first blank line.
func moreFields(raw []byte, i int) bool {
	for i < len(raw) {
		l, next := line(raw, i)
		if l == "" {
			return false
		}
		if _, _, ok := fieldName(l); ok && l[0] != ' ' && l[0] != '\t' {
			return true
		}
		i = next
	}
	return false
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// DecodeText decodes RFC 2047 encoded words in a header value and returns
// valid UTF-8 (raw 8-bit text that is not UTF-8 is read as Windows-1252).
func DecodeText(v string) string {
	v = strings.TrimSpace(v)
	if !utf8.ValidString(v) {
		v = fromLegacy([]byte(v))
	}
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	return strings.ToValidUTF8(v, "\uFFFD")
}

// Subject is the decoded Subject; empty when there is none.
func (h Header) Subject() string { return DecodeText(h.Get("Subject")) }

// rfc5322Date is the common Date form: "Mon, 2 Jan 2006 15:04:05 -0700".
const rfc5322Date = "Mon, _2 Jan 2006 15:04:05 -0700"

// Date is the parsed Date header; zero when absent or unreadable.
func (h Header) Date() time.Time {
	v := strings.TrimSpace(h.Get("Date"))
	if v == "" {
		return time.Time{}
	}
	// The RFC 5322 form almost every message has, parsed directly:
	// net/mail.ParseDate tries its layouts in an order that fails (and
	// formats an error) a dozen times before it, which made this a visible
	// part of every conversion's CPU.
	if t, err := time.Parse(rfc5322Date, v); err == nil {
		return t
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t
	}
	// Common damage: a trailing comment or extra words after the zone.
	if f := strings.Fields(v); len(f) > 5 {
		for n := min(len(f)-1, 8); n >= 5; n-- {
			if t, err := mail.ParseDate(strings.Join(f[:n], " ")); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// Address is one mailbox of an address header.
type Address struct {
	Name, Address string
}

var addrParser = &mail.AddressParser{WordDecoder: wordDecoder}

// Addresses parses an address list leniently: a list that does not parse
// as a whole is parsed element by element, and an element that still does
// not parse is kept if it looks like an address.
func (h Header) Addresses(name string) []Address {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return nil
	}
	if !utf8.ValidString(v) {
		v = fromLegacy([]byte(v))
	}
	if l, err := addrParser.ParseList(v); err == nil {
		return toAddrs(l)
	}
	var out []Address
	for _, s := range splitList(v) {
		if a, err := addrParser.Parse(s); err == nil {
			out = append(out, Address{Name: a.Name, Address: a.Address})
			continue
		}
		if a := looseAddress(s); a.Address != "" {
			out = append(out, a)
		}
	}
	return out
}

func toAddrs(l []*mail.Address) []Address {
	out := make([]Address, 0, len(l))
	for _, a := range l {
		out = append(out, Address{Name: a.Name, Address: a.Address})
	}
	return out
}

// splitList splits on commas outside quotes and angle brackets.
func splitList(v string) []string {
	var out []string
	angle, quoted, start := false, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == '<' && !quoted:
			angle = true
		case c == '>' && !quoted:
			angle = false
		case c == ',' && !quoted && !angle:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

func looseAddress(s string) Address {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			addr := strings.TrimSpace(s[i+1 : i+j])
			if strings.Contains(addr, "@") {
				return Address{Name: DecodeText(strings.Trim(strings.TrimSpace(s[:i]), `"<> `)), Address: addr}
			}
		}
	}
	for _, w := range strings.Fields(s) {
		w = strings.Trim(w, "<>()\"';,")
		if strings.Count(w, "@") == 1 && !strings.HasPrefix(w, "@") && !strings.HasSuffix(w, "@") {
			return Address{Address: w}
		}
	}
	return Address{}
}
