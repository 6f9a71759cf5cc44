package convert

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/imapmig/imapmig/mailparse"
	"github.com/imapmig/imapmig/migrate"
)

func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
func validUTF8(s string) string    { return strings.ToValidUTF8(s, "\uFFFD") }
func unfold(s string) string       { return strings.Join(strings.Fields(s), " ") }

// Ext is one single-value extended property.
func Ext(id, value string) ExtProp { return ExtProp{ID: id, Value: value} }

// Recipient is Graph's recipient.
type Recipient struct {
	EmailAddress EmailAddress `json:"emailAddress"`
}

// EmailAddress is Graph's emailAddress.
type EmailAddress struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

// ItemBody is Graph's itemBody ("text" or "html").
type ItemBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

// ExtProp is a singleValueLegacyExtendedProperty.
type ExtProp struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// FileAttachment is Graph's fileAttachment without its bytes: CreateBody
// and AttachmentBody stream them (base64) after these fields.
type FileAttachment struct {
	ODataType   string `json:"@odata.type"`
	Name        string `json:"name"`
	ContentType string `json:"contentType,omitempty"`
	IsInline    bool   `json:"isInline"`
	ContentID   string `json:"contentId,omitempty"`
}

// Part is an attachment taken from the MIME tree. Its bytes are not held:
// Open decodes them from the message on demand.
type Part struct {
	Name, ContentType, ContentID string
	Inline                       bool
	Size                         int64 // decoded bytes

	data []byte          // bytes as they are (a slice of the message, or built)
	src  *mailparse.Part // else decoded from this part on demand
	// release, for data that is a slice of a mapped message, is told of
	// the stretches read through (ConvertReleasing).
	release func([]byte)
}

// bytesPart is a part whose bytes are data.
func bytesPart(name, contentType string, data []byte) Part {
	return Part{Name: name, ContentType: contentType, Size: int64(len(data)), data: data}
}

// rawPart is a part whose bytes are the message itself, read releasing.
func rawPart(name, contentType string, raw []byte, release func([]byte)) Part {
	p := bytesPart(name, contentType, raw)
	p.release = release
	return p
}

// mimePart is a part decoded from p on demand; repaired says whether its
// decoding needed a repair.
func mimePart(p *mailparse.Part) (a Part, repaired bool) {
	n, repaired := p.DecodedSize()
	return Part{ContentType: p.MediaType, Size: n, src: p}, repaired
}

// Open returns a reader of the part's bytes, from the start.
func (a Part) Open() io.Reader {
	if a.src != nil {
		return a.src.DecodedReader()
	}
	if a.release != nil {
		return mailparse.ReleasingReader(a.data, a.release)
	}
	return bytes.NewReader(a.data)
}

// Bytes returns the part's bytes (in memory: for small parts and tests).
func (a Part) Bytes() []byte {
	if a.src == nil {
		return a.data
	}
	b, _ := io.ReadAll(a.Open())
	return b
}

// Message is the JSON create body, attachments aside.
type Message struct {
	Subject    string      `json:"subject"`
	Body       ItemBody    `json:"body"`
	From       *Recipient  `json:"from,omitempty"`
	Sender     *Recipient  `json:"sender,omitempty"`
	To         []Recipient `json:"toRecipients,omitempty"`
	Cc         []Recipient `json:"ccRecipients,omitempty"`
	Bcc        []Recipient `json:"bccRecipients,omitempty"`
	ReplyTo    []Recipient `json:"replyTo,omitempty"`
	Importance string      `json:"importance,omitempty"`
	IsRead     bool        `json:"isRead"`
	Flag       *struct {
		FlagStatus string `json:"flagStatus"`
	} `json:"flag,omitempty"`
	Categories []string  `json:"categories,omitempty"`
	Props      []ExtProp `json:"singleValueExtendedProperties"`
}

// Converted is a spooled message turned into a Graph create.
type Converted struct {
	Msg         Message
	Attachments []Part
	SMIME       bool // stored as an smime.p7m item
	Notes       []string
	Fallback    bool // unparseable: text body plus the original as .eml
}

// Message classes and MAPI property tags of docs/HOW-MAIL-IS-COPIED.md, "Writing to Exchange Online".
const (
	propMessageFlags    = "Integer 0x0E07"
	propDeliveryTime    = "SystemTime 0x0E06"
	propSubmitTime      = "SystemTime 0x0039"
	propTransportHeader = "String 0x007D"
	propMessageID       = "String 0x1035"
	propInReplyTo       = "String 0x1042"
	propReferences      = "String 0x1039"
	propMessageClass    = "String 0x001A"
	PropLastVerb        = "Integer 0x1081"
	flagRead            = 0x1
	flagUnsent          = 0x8
	VerbReplyToSender   = 102
)

// Convert builds the JSON create of docs/HOW-MAIL-IS-COPIED.md, "Writing to Exchange Online" from a raw RFC 5322 message.
// It parses leniently, as a mail client does (mailparse; the body and
// attachments are chosen in body.go), and fails only when there is
// nothing to migrate.
func Convert(raw []byte, nm migrate.NewMessage) (*Converted, error) {
	return ConvertReleasing(raw, nm, nil)
}

// ConvertReleasing is Convert for a message mapped from a file: release
// (when not nil) is called with stretches of raw read through, while the
// message is parsed and later while its attachments are read
// (mailparse.ParseReleasing), so the caller can drop their pages.
func ConvertReleasing(raw []byte, nm migrate.NewMessage, release func([]byte)) (c *Converted, err error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, migrate.SkipItem(migrate.ReasonMalformedMessage, fmt.Errorf("empty message"))
	}
	hdr := migrate.HeaderBlock(raw)
	defer func() {
		if r := recover(); r != nil {
			// Never lose a message to a parser bug: keep it whole.
			c, err = fallback(raw, hdr, nm, release), nil
		}
	}()
	root := mailparse.ParseReleasing(raw, release)
	h := root.Header
	c = &Converted{}
	m := &c.Msg
	m.Subject = h.Subject()
	addrs := func(key string) []Recipient {
		var out []Recipient
		for _, a := range h.Addresses(key) {
			out = append(out, Recipient{EmailAddress: EmailAddress{Name: validUTF8(a.Name), Address: validUTF8(a.Address)}})
		}
		return out
	}
	if f := addrs("From"); len(f) > 0 {
		m.From = &f[0]
		m.Sender = &f[0]
	}
	if s := addrs("Sender"); len(s) > 0 {
		m.Sender = &s[0]
	}
	m.To, m.Cc, m.Bcc, m.ReplyTo = addrs("To"), addrs("Cc"), addrs("Bcc"), addrs("Reply-To")
	m.Importance = importance(h)
	date := h.Date()
	if date.IsZero() {
		date = nm.Meta.Date
	}
	m.Props = baseProps(hdr, nm, date, h.Get("Message-Id"), h.Get("In-Reply-To"), h.Get("References"))
	applyFlags(m, nm)

	if class, ok := smimeClass(root); ok {
		c.SMIME = true
		c.Notes = append(c.Notes, migrate.NoteSmimeStoredAsAttachment)
		m.Props = append(m.Props, Ext(propMessageClass, class))
		m.Body = ItemBody{ContentType: "text", Content: ""}
		ct := "application/pkcs7-mime"
		if root.MediaType == "multipart/signed" {
			ct = "multipart/signed"
		}
		c.Attachments = append(c.Attachments, rawPart("smime.p7m", ct, raw, release))
		return c, nil
	}

	b := &builder{}
	b.walk(root, 0)
	b.finish()
	m.Body = b.body
	c.Attachments = b.atts
	if root.Repaired() || b.repaired {
		c.Notes = append(c.Notes, migrate.NoteRepairedMime)
	}
	return c, nil
}

func importance(h mailparse.Header) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Importance"))); v == "high" || v == "low" || v == "normal" {
		return v
	}
	if v := strings.TrimSpace(h.Get("X-Priority")); v != "" {
		switch v[0] {
		case '1', '2':
			return "high"
		case '4', '5':
			return "low"
		}
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Priority"))) {
	case "urgent":
		return "high"
	case "non-urgent":
		return "low"
	}
	return "normal"
}

func baseProps(hdr []byte, nm migrate.NewMessage, date time.Time, msgID, inReplyTo, refs string) []ExtProp {
	flags := 0
	if nm.Flags.Seen {
		flags |= flagRead
	}
	if nm.Draft {
		flags |= flagUnsent
	}
	p := []ExtProp{Ext(propMessageFlags, strconv.Itoa(flags))}
	if rt := migrate.ReceivedTime(nm.Meta); !rt.IsZero() {
		p = append(p, Ext(propDeliveryTime, graphTime(rt)))
	}
	if !date.IsZero() {
		p = append(p, Ext(propSubmitTime, graphTime(date)))
	}
	p = append(p, Ext(propTransportHeader, validUTF8(string(hdr))))
	if v := unfold(msgID); v != "" {
		p = append(p, Ext(propMessageID, validUTF8(v)))
	}
	if v := unfold(inReplyTo); v != "" {
		p = append(p, Ext(propInReplyTo, validUTF8(v)))
	}
	if v := unfold(refs); v != "" {
		p = append(p, Ext(propReferences, validUTF8(v)))
	}
	if nm.Flags.Answered {
		p = append(p, Ext(PropLastVerb, strconv.Itoa(VerbReplyToSender)))
	}
	return p
}

func applyFlags(m *Message, nm migrate.NewMessage) {
	m.IsRead = nm.Flags.Seen
	if nm.Flags.Flagged {
		m.Flag = &struct {
			FlagStatus string `json:"flagStatus"`
		}{"flagged"}
	}
	m.Categories = nm.Flags.Categories
}

// fallback migrates a message that cannot be parsed: a text body that says
// so, and the original bytes as an .eml attachment.
func fallback(raw, hdr []byte, nm migrate.NewMessage, release func([]byte)) *Converted {
	c := &Converted{Fallback: true, Notes: []string{migrate.NoteStoredAsOriginalEml}}
	m := &c.Msg
	m.Subject = nm.Meta.Subject
	m.Body = ItemBody{ContentType: "text", Content: "imapmig could not parse this message; the original is attached as original.eml."}
	m.Props = baseProps(hdr, nm, nm.Meta.Date, "", "", "")
	applyFlags(m, nm)
	c.Attachments = []Part{rawPart("original.eml", "message/rfc822", raw, release)}
	return c
}
