package convert

import (
	"html"
	"mime"
	"strconv"
	"strings"

	"github.com/imapmig/imapmig/mailparse"
)

// smimeClass says whether a message is S/MIME and its message class. Only
// application/pkcs7-signature and application/pkcs7-mime are S/MIME; a
// PGP/MIME signature is read like any multipart (the text is shown and the
// signature kept as signature.asc).
func smimeClass(root *mailparse.Part) (string, bool) {
	switch root.MediaType {
	case "application/pkcs7-mime", "application/x-pkcs7-mime":
		return "IPM.Note.SMIME", true
	case "multipart/signed":
		proto := strings.ToLower(root.Params["protocol"])
		if proto == "" && len(root.Children) > 1 {
			proto = root.Children[1].MediaType
		}
		if isPKCS7Signature(proto) {
			return "IPM.Note.SMIME.MultipartSigned", true
		}
	}
	return "", false
}

func isPKCS7Signature(t string) bool {
	return t == "application/pkcs7-signature" || t == "application/x-pkcs7-signature"
}

// builder chooses the body and the attachments from the MIME tree, as a
// mail client shows them.
type builder struct {
	body     ItemBody
	haveBody bool
	atts     []Part
	n        int    // unnamed attachments so far
	calendar []Part // text/calendar alternatives, kept if no .ics is attached
	repaired bool
}

func (b *builder) walk(p *mailparse.Part, depth int) {
	switch {
	case p.MediaType == "multipart/alternative" && len(p.Children) > 0:
		best := bestAlternative(p.Children)
		if best == nil {
			for _, c := range p.Children {
				b.walk(c, depth+1)
			}
			return
		}
		b.walk(best, depth+1)
		for _, c := range p.Children {
			if c != best && isCalendar(c) {
				a, rep := mimePart(c)
				b.repaired = b.repaired || rep
				a.Name, a.ContentType = c.Filename(), "text/calendar"
				b.calendar = append(b.calendar, a)
			}
		}
	case p.MediaType == "multipart/signed" && len(p.Children) > 0:
		b.walk(p.Children[0], depth+1)
		for _, c := range p.Children[1:] {
			b.attach(c)
		}
	case len(p.Children) > 0:
		for _, c := range p.Children {
			b.walk(c, depth+1)
		}
	case strings.HasPrefix(p.MediaType, "multipart/"):
		// Split, but without parts (only delimiters): nothing to show.
	default:
		b.leaf(p, depth == 0)
	}
}

func isCalendar(p *mailparse.Part) bool {
	return p.MediaType == "text/calendar" || p.MediaType == "application/ics"
}

// bestAlternative is the richest alternative a client would show: the
// first with HTML, else the first with plain text (two alternatives of the
// same type are a sender's bug; the first is what most readers show); nil
// when none is readable.
func bestAlternative(cs []*mailparse.Part) *mailparse.Part {
	var best *mailparse.Part
	bestScore := 0
	for _, c := range cs {
		if s := readability(c); s > bestScore {
			best, bestScore = c, s
		}
	}
	return best
}

func readability(p *mailparse.Part) int {
	if len(p.Children) > 0 {
		s := 0
		for _, c := range p.Children {
			s = max(s, readability(c))
		}
		return s
	}
	if isAttachment(p) {
		return 0
	}
	switch p.MediaType {
	case "text/html":
		return 2
	case "text/plain":
		return 1
	}
	return 0
}

func isAttachment(p *mailparse.Part) bool {
	return p.Disposition == "attachment" || p.Filename() != ""
}

// leaf makes a part body or attachment. Text parts not marked as
// attachments are the body, in order, as a client shows them one after the
// other (a named one is also kept as its file; a message that is one text
// part is just its body).
func (b *builder) leaf(p *mailparse.Part, root bool) {
	isText := p.MediaType == "text/plain" || p.MediaType == "text/html"
	if p.Disposition == "attachment" || !isText {
		b.attach(p)
		return
	}
	if p.Filename() != "" && !root {
		// A named text part not marked as an attachment: clients show it
		// in the body, and it stays the file the user knows as well.
		b.attach(p)
	}
	text, rep := p.Text()
	b.repaired = b.repaired || rep
	kind := "text"
	if p.MediaType == "text/html" {
		kind = "html"
	}
	switch {
	case !b.haveBody || strings.TrimSpace(b.body.Content) == "":
		b.body, b.haveBody = ItemBody{ContentType: kind, Content: text}, true
	case strings.TrimSpace(text) == "":
		// An empty part adds nothing to show.
	case b.body.ContentType == kind && kind == "text":
		if !strings.HasSuffix(b.body.Content, "\n") {
			b.body.Content += "\r\n"
		}
		b.body.Content += text
	case b.body.ContentType == kind:
		b.body.Content += text
	case kind == "text":
		b.body.Content += "<pre>" + html.EscapeString(text) + "</pre>"
	default:
		b.body = ItemBody{ContentType: "html", Content: "<pre>" + html.EscapeString(b.body.Content) + "</pre>" + text}
	}
}

func (b *builder) attach(p *mailparse.Part) {
	a, rep := mimePart(p)
	b.repaired = b.repaired || rep
	name := p.Filename()
	if name == "" {
		if p.MediaType == "application/pgp-signature" {
			name = "signature.asc"
		} else {
			b.n++
			name = defaultName(p.MediaType, b.n)
		}
	}
	cid := strings.Trim(strings.TrimSpace(p.Header.Get("Content-Id")), "<>")
	a.Name, a.ContentID = validUTF8(name), validUTF8(cid)
	a.Inline = cid != "" && p.Disposition != "attachment"
	b.atts = append(b.atts, a)
}

// finish keeps a meeting invite that came only as an alternative: the
// calendar part becomes invite.ics unless one is attached already.
func (b *builder) finish() {
	if !b.haveBody {
		b.body = ItemBody{ContentType: "text", Content: ""}
	}
	if len(b.calendar) == 0 {
		return
	}
	for _, a := range b.atts {
		if a.ContentType == "text/calendar" || a.ContentType == "application/ics" || strings.HasSuffix(strings.ToLower(a.Name), ".ics") {
			return
		}
	}
	c := b.calendar[0]
	if c.Name == "" {
		c.Name = "invite.ics"
	}
	b.atts = append(b.atts, c)
}

// extensions for unnamed parts; mime.ExtensionsByType is the fallback (its
// first answer is not always the usual one: text/plain gives .asc).
var extensions = map[string]string{
	"text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics", "application/ics": ".ics",
	"message/rfc822": ".eml", "message/global": ".eml", "application/pgp-signature": ".asc",
	"application/pkcs7-signature": ".p7s", "application/pdf": ".pdf", "image/jpeg": ".jpg",
	"image/png": ".png", "image/gif": ".gif", "text/csv": ".csv", "text/vcard": ".vcf",
	"text/x-vcard": ".vcf", "application/zip": ".zip", "message/delivery-status": ".txt",
	"text/rfc822-headers": ".txt", "message/disposition-notification": ".txt",
}

func defaultName(ct string, n int) string {
	ext, ok := extensions[ct]
	if !ok {
		if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
			ext = exts[0]
		} else if strings.HasPrefix(ct, "text/") {
			ext = ".txt"
		} else {
			ext = ".bin"
		}
	}
	return "attachment-" + strconv.Itoa(n) + ext
}
