package convert

import (
	"errors"
	"fmt"

	"github.com/imapmig/imapmig/migrate"
)

const (
	// MaxRequestBody is Graph's request body limit.
	MaxRequestBody = 4 << 20
	// createBudget is what a create body may use, with room for JSON slack.
	createBudget = MaxRequestBody - 96<<10
	// InlineMax is the largest attachment sent inline or with one POST
	// (its base64 must fit a 4 MB body); larger ones use upload sessions.
	InlineMax = 3_000_000
	// MaxAttachment is Graph's upload-session limit.
	MaxAttachment = 150 << 20
)

// Plan splits a converted message into what goes in the create request and
// what is added afterwards.
type Plan struct {
	// Head is the message's JSON, attachments aside, as Pack measured it
	// (CreateBody sends it without marshalling the message again).
	Head    []byte
	Inline  []Part // in the create request
	Post    []Part // < InlineMax, one POST each
	Session []Part // upload sessions
}

// More says whether attachments remain after the create.
func (p *Plan) More() bool { return len(p.Post)+len(p.Session) > 0 }

// Pack decides where each attachment goes and moves a body too large for
// the create into an attachment.
func Pack(c *Converted) (*Plan, error) {
	base := c.Msg.marshal()
	if len(base) > createBudget/2 {
		// A huge body: keep it as an attachment and say so in the body.
		name, ct := "body.txt", "text/plain"
		if c.Msg.Body.ContentType == "html" {
			name, ct = "body.html", "text/html"
		}
		c.Attachments = append([]Part{bytesPart(name, ct, []byte(c.Msg.Body.Content))}, c.Attachments...)
		c.Msg.Body = ItemBody{ContentType: "text", Content: "The body of this message was too large to show here; it is attached as " + name + "."}
		c.Notes = append(c.Notes, migrate.NoteBodyStoredAsAttachment)
		if base = c.Msg.marshal(); len(base) > createBudget/2 {
			return nil, migrate.SkipItem(migrate.ReasonMessageTooLarge, errors.New("message headers exceed Graph's request size"))
		}
	}
	p := &Plan{Head: base}
	size := int64(len(base))
	for _, a := range c.Attachments {
		switch {
		case a.Size > MaxAttachment:
			return nil, migrate.SkipItem(migrate.ReasonMessageTooLarge, fmt.Errorf("attachment %q is %d bytes, over Graph's 150 MB", a.Name, a.Size))
		case a.Size > InlineMax:
			p.Session = append(p.Session, a)
		default:
			enc := (a.Size+2)/3*4 + int64(len(a.Name)+len(a.ContentType)+len(a.ContentID)) + 256
			if size+enc <= createBudget {
				p.Inline = append(p.Inline, a)
				size += enc
			} else {
				p.Post = append(p.Post, a)
			}
		}
	}
	return p, nil
}
