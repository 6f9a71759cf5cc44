package mailgen

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime"
	"strings"
	"time"
)

// Options control Generate. The zero value gives a small, fast mailbox.
type Options struct {
	// Seed makes the output deterministic (same seed, same bytes).
	Seed uint64
	// Messages is the number of ordinary messages spread over the folders
	// (default 40). The special kinds below come on top.
	Messages int
	// Large adds this many 1–10 MB messages.
	Large int
	// NearLimit adds one message just under 35 MB and one above it
	// (Kind "near-limit" and "oversize").
	NearLimit bool
	// Delimiter is the server's hierarchy delimiter (default '/'). A folder
	// with '/' in its name is generated only when it is not '/' and
	// SlashInNames is set (Dovecot's Maildir++ refuses such names).
	Delimiter    rune
	SlashInNames bool
	// MaxSize caps ordinary message sizes (default 100 KB).
	MaxSize int
	// Now is the newest INTERNALDATE (default 2025-06-01); dates spread
	// over the 8 years before it.
	Now time.Time
}

// Generate builds a realistic mailbox: special-use folders, localized and
// nested folders, non-ASCII names, names with spaces; plain, HTML,
// attachment, inline-image, RFC 2047, 8-bit, no-Message-ID, duplicate,
// S/MIME and malformed messages with flags, keywords and dates over years.
func Generate(o Options) *Mailbox {
	if o.Messages == 0 {
		o.Messages = 40
	}
	if o.Delimiter == 0 {
		o.Delimiter = '/'
	}
	if o.MaxSize == 0 {
		o.MaxSize = 100 << 10
	}
	if o.Now.IsZero() {
		o.Now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	}
	g := &gen{r: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), o: o}
	mb := &Mailbox{Folders: []Folder{
		{Path: []string{"INBOX"}},
		{Path: []string{"Sent"}, SpecialUse: `\Sent`},
		{Path: []string{"Drafts"}, SpecialUse: `\Drafts`},
		{Path: []string{"Trash"}, SpecialUse: `\Trash`},
		{Path: []string{"Junk"}, SpecialUse: `\Junk`},
		{Path: []string{"Archive"}, SpecialUse: `\Archive`},
		{Path: []string{"Gesendet"}},
		{Path: []string{"Entwürfe"}},
		{Path: []string{"Papierkorb"}},
		{Path: []string{"Gelöschte Elemente"}},
		{Path: []string{"Projekte"}},
		{Path: []string{"Projekte", "2019"}},
		{Path: []string{"Projekte", "2019", "Q4 Berichte"}},
		{Path: []string{"Kunden", "Müller & Söhne"}},
		{Path: []string{"日本語"}},
		{Path: []string{" Leerzeichen "}},
	}}
	if o.SlashInNames && o.Delimiter != '/' {
		mb.Folders = append(mb.Folders, Folder{Path: []string{"Ein/Aus"}})
	}
	n := len(mb.Folders)
	pick := func() *Folder {
		// INBOX gets about half of the mail.
		if g.r.IntN(2) == 0 {
			return &mb.Folders[0]
		}
		return &mb.Folders[g.r.IntN(n)]
	}
	for i := 0; i < o.Messages; i++ {
		f := pick()
		var m Message
		switch k := g.r.IntN(10); {
		case k < 4:
			m = g.plain(i, g.size(2<<10, o.MaxSize))
		case k < 6:
			m = g.html(i, g.size(2<<10, o.MaxSize))
		case k < 8:
			m = g.attachment(i, g.size(2<<10, o.MaxSize))
		case k < 9:
			m = g.inline(i)
		default:
			m = g.encoded(i)
		}
		if f.SpecialUse == `\Drafts` {
			m.Flags = appendFlag(m.Flags, `\Draft`)
		}
		f.Messages = append(f.Messages, m)
	}
	inbox := &mb.Folders[0]
	inbox.Messages = append(inbox.Messages, g.eightBit(), g.noMessageID(), g.smime(), g.malformed())
	dup := g.plain(o.Messages+1, 3000)
	dup.Kind = KindDuplicate
	dup2 := dup
	dup2.Raw = bytes.Clone(dup.Raw)
	inbox.Messages = append(inbox.Messages, dup, dup2)
	for i := 0; i < o.Large; i++ {
		m := g.attachment(o.Messages+10+i, g.size(1<<20, 10<<20))
		m.Kind = KindLarge
		mb.Folders[6].Messages = append(mb.Folders[6].Messages, m)
	}
	if o.NearLimit {
		near := g.attachment(o.Messages+100, 35*1000*1000-64<<10)
		near.Kind = KindNearLimit
		over := g.attachment(o.Messages+101, 36<<20)
		over.Kind = KindOversize
		inbox.Messages = append(inbox.Messages, near, over)
	}
	return mb
}

type gen struct {
	r *rand.Rand
	o Options
}

func appendFlag(fs []string, f string) []string {
	for _, x := range fs {
		if x == f {
			return fs
		}
	}
	return append(fs, f)
}

// size draws from [lo, hi) with a bias to the small end.
func (g *gen) size(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	f := g.r.Float64()
	return lo + int(f*f*float64(hi-lo))
}

var (
	firstNames = []string{"Anna", "Bernd", "Chloé", "Dmitri", "Eva", "Fatima", "Günther", "Hiroshi", "Ines", "Jürgen"}
	lastNames  = []string{"Müller", "Schmidt", "Dubois", "Ivanov", "Rossi", "Tanaka", "García", "Nowak", "Öztürk", "Smith"}
	topics     = []string{"Quarterly report", "Lunch on Friday?", "Invoice 2024-117", "Re: project plan", "Fwd: photos",
		"Meeting notes", "Your order has shipped", "Welcome aboard", "Budget 2020", "Server maintenance"}
	words = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua")
)

func (g *gen) person() (string, string) {
	f, l := firstNames[g.r.IntN(len(firstNames))], lastNames[g.r.IntN(len(lastNames))]
	addr := strings.ToLower(asciiOnly(f) + "." + asciiOnly(l) + "@example.org")
	return f + " " + l, addr
}

func asciiOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 {
			b.WriteRune(r)
		} else {
			b.WriteByte('x')
		}
	}
	return b.String()
}

func (g *gen) date() time.Time {
	span := 8 * 365 * 24 * time.Hour
	return g.o.Now.Add(-time.Duration(g.r.Int64N(int64(span)))).Truncate(time.Second)
}

func (g *gen) flags() []string {
	var fs []string
	if g.r.IntN(10) < 7 {
		fs = append(fs, `\Seen`)
	}
	if g.r.IntN(10) == 0 {
		fs = append(fs, `\Flagged`)
	}
	if g.r.IntN(8) == 0 {
		fs = append(fs, `\Answered`)
	}
	if g.r.IntN(12) == 0 {
		fs = append(fs, "$Label1")
	}
	if g.r.IntN(15) == 0 {
		fs = append(fs, "Projekt-X")
	}
	return fs
}

func (g *gen) text(n int) string {
	var b strings.Builder
	col := 0
	for b.Len() < n {
		w := words[g.r.IntN(len(words))]
		b.WriteString(w)
		col += len(w) + 1
		if col > 70 {
			b.WriteString("\r\n")
			col = 0
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// header writes a realistic header block; extra lines come before MIME.
func (g *gen) header(i int, subject string, d time.Time, msgID bool, extra ...string) *bytes.Buffer {
	var b bytes.Buffer
	fromName, from := g.person()
	_, to := g.person()
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", from)
	fmt.Fprintf(&b, "Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\r\n\tby mail.example.org with ESMTPS id %08x\r\n\tfor <%s>; %s\r\n",
		i%7, i%7, 1+i%250, g.r.Uint32(), to, d.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s <%s>\r\n", mime.QEncoding.Encode("utf-8", fromName), from)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", subject)
	fmt.Fprintf(&b, "Date: %s\r\n", d.Format(time.RFC1123Z))
	if msgID {
		fmt.Fprintf(&b, "Message-ID: <%d.%08x@gen.example.org>\r\n", i, g.r.Uint32())
	}
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	return &b
}

func (g *gen) topic() string { return topics[g.r.IntN(len(topics))] }

func (g *gen) plain(i, size int) Message {
	d := g.date()
	subj := g.topic()
	b := g.header(i, subj, d, true)
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(g.text(max(size-b.Len(), 10)) + "\r\n")
	return Message{Raw: b.Bytes(), Flags: g.flags(), InternalDate: d, Kind: KindPlain, Subject: subj}
}

// multipart starts message i: its header and a multipart/sub body whose
// boundary is prefix and a random number.
func (g *gen) multipart(i int, subj string, d time.Time, sub, prefix string) (*bytes.Buffer, string) {
	bound := fmt.Sprintf("%s-%08x", prefix, g.r.Uint32())
	b := g.header(i, subj, d, true)
	fmt.Fprintf(b, "Content-Type: multipart/%s; boundary=\"%s\"\r\n\r\n", sub, bound)
	return b, bound
}

func (g *gen) html(i, size int) Message {
	d := g.date()
	subj := g.topic()
	b, bound := g.multipart(i, subj, d, "alternative", "alt")
	txt := g.text(max(size/3, 10))
	fmt.Fprintf(b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", bound, txt)
	fmt.Fprintf(b, "--%s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>%s</p></body></html>\r\n--%s--\r\n",
		bound, strings.ReplaceAll(g.text(max(size/2, 10)), "\r\n", "<br>\r\n"), bound)
	return Message{Raw: b.Bytes(), Flags: g.flags(), InternalDate: d, Kind: KindHTML, Subject: subj}
}

func (g *gen) binary(n int) []byte {
	p := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := g.r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
	return p
}

func writeBase64(b *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding
	for len(data) > 0 {
		n := min(57, len(data))
		b.WriteString(enc.EncodeToString(data[:n]))
		b.WriteString("\r\n")
		data = data[n:]
	}
}

func (g *gen) attachment(i, size int) Message {
	d := g.date()
	subj := g.topic()
	b, bound := g.multipart(i, subj, d, "mixed", "mix")
	fmt.Fprintf(b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", bound, g.text(300))
	name := fmt.Sprintf("Bericht %d ä.pdf", i)
	fmt.Fprintf(b, "--%s\r\nContent-Type: application/pdf; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
		bound, mime.QEncoding.Encode("utf-8", name), mime.QEncoding.Encode("utf-8", name))
	writeBase64(b, g.binary(max((size-b.Len())*3/4, 16)))
	fmt.Fprintf(b, "--%s--\r\n", bound)
	return Message{Raw: b.Bytes(), Flags: g.flags(), InternalDate: d, Kind: KindAttachment, Subject: subj}
}

func (g *gen) inline(i int) Message {
	d := g.date()
	subj := "Photo of the week"
	b, bound := g.multipart(i, subj, d, "related", "rel")
	fmt.Fprintf(b, "--%s\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><img src=\"cid:img%d@gen\"></body></html>\r\n", bound, i)
	fmt.Fprintf(b, "--%s\r\nContent-Type: image/png\r\nContent-ID: <img%d@gen>\r\nContent-Disposition: inline; filename=\"p.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", bound, i)
	png := append([]byte("\x89PNG\r\n\x1a\n"), g.binary(2000)...)
	writeBase64(b, png)
	fmt.Fprintf(b, "--%s--\r\n", bound)
	return Message{Raw: b.Bytes(), Flags: g.flags(), InternalDate: d, Kind: KindInline, Subject: subj}
}

func (g *gen) encoded(i int) Message {
	d := g.date()
	subj := "Grüße aus Köln – €100 Rabatt"
	b := g.header(i, mime.BEncoding.Encode("utf-8", subj), d, true)
	b.WriteString("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe aus K=F6ln\r\n")
	return Message{Raw: b.Bytes(), Flags: g.flags(), InternalDate: d, Kind: KindEncoded, Subject: subj}
}

func (g *gen) eightBit() Message {
	d := g.date()
	subj := "Bestätigung für Jürgen" // raw UTF-8 in the header, no RFC 2047
	b := g.header(9001, subj, d, true)
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nÄÖÜ äöü ß\r\n")
	return Message{Raw: b.Bytes(), Flags: []string{`\Seen`}, InternalDate: d, Kind: Kind8Bit, Subject: subj}
}

func (g *gen) noMessageID() Message {
	d := g.date()
	subj := "No Message-ID here"
	b := g.header(9002, subj, d, false)
	b.WriteString("Content-Type: text/plain\r\n\r\nold mailer\r\n")
	return Message{Raw: b.Bytes(), InternalDate: d, Kind: KindNoMsgID, Subject: subj}
}

func (g *gen) smime() Message {
	d := g.date()
	subj := "Signed contract"
	bound := fmt.Sprintf("sig-%08x", g.r.Uint32())
	b := g.header(9003, subj, d, true)
	fmt.Fprintf(b, "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"%s\"\r\n\r\n", bound)
	fmt.Fprintf(b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nI agree.\r\n", bound)
	fmt.Fprintf(b, "--%s\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n", bound)
	writeBase64(b, g.binary(1500))
	fmt.Fprintf(b, "--%s--\r\n", bound)
	return Message{Raw: b.Bytes(), Flags: []string{`\Seen`, `\Flagged`}, InternalDate: d, Kind: KindSMIME, Subject: subj}
}

func (g *gen) malformed() Message {
	d := g.date()
	// A header line without a colon, an unterminated boundary and a broken
	// base64 part: parsers must not crash on it.
	raw := "From: broken@example.org\r\nSubject: malformed\r\nThis line is not a header\r\n" +
		"Content-Type: multipart/mixed; boundary=\"never-closed\"\r\n\r\n--never-closed\r\n" +
		"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@not base64@@@\r\n"
	return Message{Raw: []byte(raw), InternalDate: d, Kind: KindMalformed, Subject: "malformed"}
}

// Count returns the number of messages and their total size.
func (mb *Mailbox) Count() (n int, bytes int64) {
	for _, f := range mb.Folders {
		for _, m := range f.Messages {
			n++
			bytes += int64(len(m.Raw))
		}
	}
	return n, bytes
}
