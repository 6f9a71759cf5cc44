package convert

import (
	"bytes"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The message's JSON is written here rather than by encoding/json, which
// walks the struct by reflection, escapes every '<', '>' and '&' of an HTML
// body as six bytes and copies the result out of its buffer. The output
// decodes to what json.Marshal's does (TestAppendMessage_DecodesAsMarshal):
// the same fields and omissions, invalid UTF-8 as U+FFFD.

// appendJSON appends m as JSON, with the fields and omissions of its json
// tags.
func (m *Message) appendJSON(b []byte) []byte {
	b = append(b, `{"subject":`...)
	b = appendString(b, m.Subject)
	b = append(b, `,"body":`...)
	b = m.Body.appendJSON(b)
	if m.From != nil {
		b = append(b, `,"from":`...)
		b = m.From.appendJSON(b)
	}
	if m.Sender != nil {
		b = append(b, `,"sender":`...)
		b = m.Sender.appendJSON(b)
	}
	b = appendRecipients(b, `,"toRecipients":`, m.To)
	b = appendRecipients(b, `,"ccRecipients":`, m.Cc)
	b = appendRecipients(b, `,"bccRecipients":`, m.Bcc)
	b = appendRecipients(b, `,"replyTo":`, m.ReplyTo)
	if m.Importance != "" {
		b = append(b, `,"importance":`...)
		b = appendString(b, m.Importance)
	}
	b = append(b, `,"isRead":`...)
	b = strconv.AppendBool(b, m.IsRead)
	if m.Flag != nil {
		b = append(b, `,"flag":{"flagStatus":`...)
		b = appendString(b, m.Flag.FlagStatus)
		b = append(b, '}')
	}
	if len(m.Categories) > 0 {
		b = append(b, `,"categories":[`...)
		for i, c := range m.Categories {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, c)
		}
		b = append(b, ']')
	}
	b = append(b, `,"singleValueExtendedProperties":`...)
	if m.Props == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, p := range m.Props {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendString(b, p.ID)
			b = append(b, `,"value":`...)
			b = appendString(b, p.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (ib ItemBody) appendJSON(b []byte) []byte {
	b = append(b, `{"contentType":`...)
	b = appendString(b, ib.ContentType)
	b = append(b, `,"content":`...)
	b = appendString(b, ib.Content)
	return append(b, '}')
}

func (r *Recipient) appendJSON(b []byte) []byte {
	b = append(b, `{"emailAddress":{`...)
	if r.EmailAddress.Name != "" {
		b = append(b, `"name":`...)
		b = appendString(b, r.EmailAddress.Name)
		b = append(b, ',')
	}
	b = append(b, `"address":`...)
	b = appendString(b, r.EmailAddress.Address)
	return append(b, "}}"...)
}

// appendRecipients appends key and rs, nothing when rs is empty
// (omitempty).
func appendRecipients(b []byte, key string, rs []Recipient) []byte {
	if len(rs) == 0 {
		return b
	}
	b = append(b, key...)
	b = append(b, '[')
	for i := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = rs[i].appendJSON(b)
	}
	return append(b, ']')
}

// plainJSON marks the bytes a JSON string holds as they are: printable
// ASCII but the quote and the backslash.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainRun is the length of the run of plain bytes (plainJSON) that s
// starts with. Eight bytes are tested at once: no byte below 0x20 or from
// 0x80, no quote, no backslash.
func plainRun(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		q, bs := x^(ones*'"'), x^(ones*'\\')
		below := (x - ones*0x20) &^ x // a byte below 0x20 (exact when none is from 0x80)
		quote := (q - ones) &^ q      // a quote
		slash := (bs - ones) &^ bs    // a backslash
		if (below|quote|slash|x)&highs != 0 {
			break
		}
	}
	for i < len(s) && plainJSON[s[i]] {
		i++
	}
	return i
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: control characters, the quote
// and the backslash escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029
// escaped as encoding/json does; runs of plain bytes are copied whole.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if i += plainRun(s[i:]); i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// scratch holds the buffers the message's JSON is built in: the result is
// copied out at its exact size, since a create keeps it until its upload
// is done (an estimated buffer would keep its slack as long, for every
// create in flight).
var scratch = sync.Pool{New: func() any { return new([]byte) }}

// marshal is m's JSON in a buffer of its own, of its exact length.
func (m *Message) marshal() []byte {
	bp := scratch.Get().(*[]byte)
	b := m.appendJSON((*bp)[:0])
	out := bytes.Clone(b)
	if cap(b) <= maxScratch {
		*bp = b
		scratch.Put(bp)
	}
	return out
}

// maxScratch is the largest buffer kept for the next message: enough for
// ordinary mail; a larger JSON (a body of up to half a create request)
// is built in a buffer of its own, so that the pool never holds
// megabytes.
const maxScratch = 256 << 10
