package graphdst

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/imapmig/imapmig/mailparse"
	"github.com/imapmig/imapmig/migrate"
)

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
func graphTime(t time.Time) string        { return t.UTC().Format("2006-01-02T15:04:05Z") }
func extp(id, value string) extProp       { return extProp{ID: id, Value: value} }
func validUTF8(s string) string           { return strings.ToValidUTF8(s, "\uFFFD") }
func trimAngle(s string) string           { return strings.Trim(strings.TrimSpace(s), "<>") }
func unfold(s string) string              { return strings.Join(strings.Fields(s), " ") }

type recipient struct {
	EmailAddress emailAddress `json:"emailAddress"`
}

type emailAddress struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

type itemBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type extProp struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

type fileAttachment struct {
	ODataType    string `json:"@odata.type"`
	Name         string `json:"name"`
	ContentType  string `json:"contentType,omitempty"`
	ContentBytes []byte `json:"contentBytes"`
	IsInline     bool   `json:"isInline"`
	ContentID    string `json:"contentId,omitempty"`
}

// part is an attachment taken from the MIME tree.
type part struct {
	name, contentType, contentID string
	inline                       bool
	data                         []byte
}

// graphMessage is the JSON create body, attachments aside.
type graphMessage struct {
	Subject    string      `json:"subject"`
	Body       itemBody    `json:"body"`
	From       *recipient  `json:"from,omitempty"`
	Sender     *recipient  `json:"sender,omitempty"`
	To         []recipient `json:"toRecipients,omitempty"`
	Cc         []recipient `json:"ccRecipients,omitempty"`
	Bcc        []recipient `json:"bccRecipients,omitempty"`
	ReplyTo    []recipient `json:"replyTo,omitempty"`
	Importance string      `json:"importance,omitempty"`
	IsRead     bool        `json:"isRead"`
	Flag       *struct {
		FlagStatus string `json:"flagStatus"`
	} `json:"flag,omitempty"`
	Categories  []string         `json:"categories,omitempty"`
	Props       []extProp        `json:"singleValueExtendedProperties"`
	Attachments []fileAttachment `json:"attachments,omitempty"`
}

// converted is a spooled message turned into a Graph create.
type converted struct {
	msg         graphMessage
	attachments []part
	smime       bool // stored as an smime.p7m item
	notes       []string
	fallback    bool // unparseable: text body plus the original as .eml
}

// Message classes and MAPI property tags of DESIGN §4.
const (
	propMessageFlags    = "Integer 0x0E07"
	propDeliveryTime    = "SystemTime 0x0E06"
	propSubmitTime      = "SystemTime 0x0039"
	propTransportHeader = "String 0x007D"
	propMessageID       = "String 0x1035"
	propInReplyTo       = "String 0x1042"
	propReferences      = "String 0x1039"
	propMessageClass    = "String 0x001A"
	propLastVerb        = "Integer 0x1081"
	flagRead            = 0x1
	flagUnsent          = 0x8
	verbReplyToSender   = 102
)

// convert builds the JSON create of DESIGN §4 from a raw RFC 5322 message.
// It parses leniently, as a mail client does (mailparse; the body and
// attachments are chosen in convert_body.go), and fails only when there is
// nothing to migrate.
func convert(raw []byte, nm migrate.NewMessage) (c *converted, err error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, migrate.SkipItem(migrate.ReasonMalformedMessage, fmt.Errorf("empty message"))
	}
	hdr := migrate.HeaderBlock(raw)
	defer func() {
		if r := recover(); r != nil {
			// Never lose a message to a parser bug: keep it whole.
			c, err = fallback(raw, hdr, nm), nil
		}
	}()
	root := mailparse.Parse(raw)
	h := root.Header
	c = &converted{}
	m := &c.msg
	m.Subject = h.Subject()
	addrs := func(key string) []recipient {
		var out []recipient
		for _, a := range h.Addresses(key) {
			out = append(out, recipient{EmailAddress: emailAddress{Name: validUTF8(a.Name), Address: validUTF8(a.Address)}})
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
		c.smime = true
		c.notes = append(c.notes, migrate.NoteSmimeStoredAsAttachment)
		m.Props = append(m.Props, extp(propMessageClass, class))
		m.Body = itemBody{ContentType: "text", Content: ""}
		ct := "application/pkcs7-mime"
		if root.MediaType == "multipart/signed" {
			ct = "multipart/signed"
		}
		c.attachments = append(c.attachments, part{name: "smime.p7m", contentType: ct, data: raw})
		return c, nil
	}

	b := &builder{}
	b.walk(root, 0)
	b.finish()
	m.Body = b.body
	c.attachments = b.atts
	if root.Repaired() || b.repaired {
		c.notes = append(c.notes, migrate.NoteRepairedMime)
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

func baseProps(hdr []byte, nm migrate.NewMessage, date time.Time, msgID, inReplyTo, refs string) []extProp {
	flags := 0
	if nm.Flags.Seen {
		flags |= flagRead
	}
	if nm.Draft {
		flags |= flagUnsent
	}
	p := []extProp{extp(propMessageFlags, strconv.Itoa(flags))}
	if rt := migrate.ReceivedTime(nm.Meta); !rt.IsZero() {
		p = append(p, extp(propDeliveryTime, graphTime(rt)))
	}
	if !date.IsZero() {
		p = append(p, extp(propSubmitTime, graphTime(date)))
	}
	p = append(p, extp(propTransportHeader, validUTF8(string(hdr))))
	if v := unfold(msgID); v != "" {
		p = append(p, extp(propMessageID, validUTF8(v)))
	}
	if v := unfold(inReplyTo); v != "" {
		p = append(p, extp(propInReplyTo, validUTF8(v)))
	}
	if v := unfold(refs); v != "" {
		p = append(p, extp(propReferences, validUTF8(v)))
	}
	if nm.Flags.Answered {
		p = append(p, extp(propLastVerb, strconv.Itoa(verbReplyToSender)))
	}
	return p
}

func applyFlags(m *graphMessage, nm migrate.NewMessage) {
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
func fallback(raw, hdr []byte, nm migrate.NewMessage) *converted {
	c := &converted{fallback: true, notes: []string{migrate.NoteStoredAsOriginalEml}}
	m := &c.msg
	m.Subject = nm.Meta.Subject
	m.Body = itemBody{ContentType: "text", Content: "imapmig could not parse this message; the original is attached as original.eml."}
	m.Props = baseProps(hdr, nm, nm.Meta.Date, "", "", "")
	applyFlags(m, nm)
	c.attachments = []part{{name: "original.eml", contentType: "message/rfc822", data: raw}}
	return c
}
