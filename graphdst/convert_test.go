package graphdst_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/targettest"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// created is what the emulator holds after one create, and the notes.
type created struct {
	graphemu.MessageDump
	body, bodyType string
	notes          []string
}

func (c created) attachment(t *testing.T, name string) graphemu.AttachmentDump {
	t.Helper()
	var hit []graphemu.AttachmentDump
	for _, a := range c.Attachments {
		if a.Name == name {
			hit = append(hit, a)
		}
	}
	if len(hit) != 1 {
		t.Fatalf("want exactly one attachment %q, have %v", name, names(c.Attachments))
	}
	return hit[0]
}

func names(as []graphemu.AttachmentDump) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Name+" ("+a.ContentType+")")
	}
	return out
}

func sha(b string) string { s := sha256.Sum256([]byte(b)); return hex.EncodeToString(s[:]) }

// createRaw migrates raw through graphdst into the emulator and returns the
// created item.
func createRaw(t *testing.T, f *fixture, raw string) created {
	t.Helper()
	mb, folder := f.inbox(t)
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	nm := migrate.NewMessage{Meta: migrate.MessageMeta{InternalDate: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),
		HeaderHash: migrate.HeaderHash(migrate.HeaderBlock([]byte(raw)))}, Body: targettest.MemBody(raw)}
	nm.Meta.SourceKey = nm.Meta.HeaderHash
	id, notes, err := mb.(migrate.NotingCreator).CreateNoted(context.Background(), folder, nm)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := f.emu.Dump(user)
	for _, m := range d.Messages {
		if m.ID == id {
			c := created{MessageDump: m, notes: notes}
			var body struct{ ContentType, Content string }
			m.Field("body", &body)
			c.body, c.bodyType = body.Content, body.ContentType
			if strings.Contains(c.body, "could not parse") {
				t.Errorf("stored with the stock sentence instead of its body: notes %v", notes)
			}
			return c
		}
	}
	t.Fatalf("item %s not in the emulator", id)
	return created{}
}

type emailAddr struct {
	EmailAddress struct{ Name, Address string }
}

func from(c created) string {
	var a emailAddr
	c.Field("from", &a)
	return a.EmailAddress.Address
}

func recipients(c created, field string) []emailAddr {
	var l []emailAddr
	c.Field(field, &l)
	return l
}

func wantBody(t *testing.T, c created, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(c.body, p) {
			t.Errorf("body %q does not contain %q", c.body, p)
		}
	}
}

func wantNoAttachments(t *testing.T, c created) {
	t.Helper()
	if len(c.Attachments) != 0 {
		t.Errorf("want no attachments, have %v", names(c.Attachments))
	}
}

func wantNote(t *testing.T, c created, note string, want bool) {
	t.Helper()
	if slices.Contains(c.notes, note) != want {
		t.Errorf("notes %v: want %s %v", c.notes, note, want)
	}
}

// The cases of issue 11: real-world malformed mail that a client shows.
func TestConvert_MalformedMailIsReadable(t *testing.T) {
	f := start(t, graphemu.Options{}, nil)
	t.Run("ContentTypeWithoutSubtype", func(t *testing.T) {
		c := createRaw(t, f, `From: bbb@ddd.com (John X. Doe)
To: bbb@zzz.org
Subject: This is a test message
MIME-Version: 1.0
Content-Type: text; charset=us-ascii
Content-Transfer-Encoding: 7bit

Hi,

This message has a Content-Type: header with no subtype.  I hope you
can still read it.
`)
		wantBody(t, c, "I hope you", "can still read it.")
		wantNoAttachments(t, c)
		if c.Subject != "This is a test message" || c.bodyType != "text" {
			t.Errorf("subject %q body type %q", c.Subject, c.bodyType)
		}
		wantNote(t, c, migrate.NoteRepairedMime, true)
		wantNote(t, c, migrate.NoteStoredAsOriginalEml, false)
	})
	t.Run("StartBoundaryNeverAppears", func(t *testing.T) {
		c := createRaw(t, f, `From: webmaster@example.org
Subject: start boundary missing
Content-Type: multipart/mixed; boundary="BBB"

The start delimiter of this multipart never appears.

--BBB--
`)
		wantBody(t, c, "The start delimiter of this multipart never appears.")
		wantNoAttachments(t, c)
		wantNote(t, c, migrate.NoteRepairedMime, true)
	})
	t.Run("BoundaryDeclaredNeverUsed", func(t *testing.T) {
		c := createRaw(t, f, `From: a@example.org
Subject: declared boundary
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="never-used-4711"

Blah blah blah, no part ever starts.
`)
		wantBody(t, c, "Blah blah blah, no part ever starts.")
		wantNoAttachments(t, c)
	})
	t.Run("MultipartWithoutBoundary", func(t *testing.T) {
		c := createRaw(t, f, `From: "Allison Dunlap" <xxx@example.com>
To: yyy@example.com
Subject: 64423
Date: Sun, 11 Jul 2004 16:09:27 -0300
MIME-Version: 1.0
Content-Type: multipart/alternative;

Blah blah blah
`)
		wantBody(t, c, "Blah blah blah")
		wantNoAttachments(t, c)
		if from(c) != "xxx@example.com" {
			t.Errorf("from %q", from(c))
		}
	})
	t.Run("BoundaryDiffersByTrailingCharacter", func(t *testing.T) {
		c := createRaw(t, f, `From: aperson@dom.ain
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=BOUNDARY_

--BOUNDARY
Content-Type: text/plain

message 1

--BOUNDARY
Content-Type: text/plain

message 2

--BOUNDARY--
`)
		wantBody(t, c, "message 1", "message 2")
		wantNoAttachments(t, c)
		if c.Subject != "" {
			t.Errorf("invented subject %q", c.Subject)
		}
	})
	t.Run("ClosingBoundaryMissing", func(t *testing.T) {
		zip := "PK\x03\x04 truncated archive bytes"
		c := createRaw(t, f, `From: a@example.org
Subject: truncated
Content-Type: multipart/mixed; boundary="Enmime-Test-100"

--Enmime-Test-100
Content-Type: text/plain; charset=us-ascii

A text section
--Enmime-Test-100
Content-Transfer-Encoding: base64
Content-Type: application/zip; name="foo.zip"
Content-Disposition: attachment; filename="foo.zip"

`+base64.StdEncoding.EncodeToString([]byte(zip))+`
--Enmime-Test-100
Content-Type: text/plain

and the remainder, cut off here`)
		// Every part read before the truncation, and the cut-off remainder
		// as text.
		wantBody(t, c, "A text section", "and the remainder, cut off here")
		if a := c.attachment(t, "foo.zip"); a.SHA256 != sha(zip) || a.ContentType != "application/zip" {
			t.Errorf("foo.zip: %+v", a)
		}
		if len(c.Attachments) != 1 {
			t.Errorf("attachments %v", names(c.Attachments))
		}
		wantNote(t, c, migrate.NoteRepairedMime, true)
	})
	t.Run("HeaderLineWithoutColon", func(t *testing.T) {
		c := createRaw(t, f, `From: aperson@dom.ain
To: bperson@dom.ain
Subject: here's something interesting
counter to RFC 2822, there's no separating newline here
`)
		if c.Subject != "here's something interesting" {
			t.Errorf("subject %q", c.Subject)
		}
		wantBody(t, c, "counter to RFC 2822, there's no separating newline here")
		wantNoAttachments(t, c)
	})
	t.Run("BrokenHeaderLineInTheMiddle", func(t *testing.T) {
		c := createRaw(t, f, `From: a@example.org
Subject: one broken line
this line lost its indent
To: b@example.org
Content-Type: text/plain

The body.
`)
		if c.Subject != "one broken line" {
			t.Errorf("subject %q", c.Subject)
		}
		wantBody(t, c, "The body.")
		if to := recipients(c, "toRecipients"); len(to) != 1 {
			t.Errorf("to %v", to)
		}
	})
	t.Run("NoHeaderBlock", func(t *testing.T) {
		c := createRaw(t, f, `Just some text, no header at all.
Second line.
`)
		if c.Subject != "" {
			t.Errorf("invented subject %q", c.Subject)
		}
		wantBody(t, c, "Just some text, no header at all.", "Second line.")
		wantNoAttachments(t, c)
		wantNote(t, c, migrate.NoteStoredAsOriginalEml, false)
	})
	t.Run("DigestPartsAreMessages", func(t *testing.T) {
		m1 := "From: one@example.org\r\nSubject: first\r\n\r\nfirst embedded body\r\n"
		m2 := "From: two@example.org\r\nSubject: second\r\n\r\nsecond embedded body\r\n"
		c := createRaw(t, f, strings.ReplaceAll(`From: list@example.org
Subject: digest
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="OUTER"

--OUTER
Content-Type: text/plain

Today's topics: first, second.
--OUTER
Content-Type: multipart/digest; boundary="DIG"

--DIG

`+m1+`
--DIG

`+m2+`
--DIG--

--OUTER--
`, "\r\n", "\n"))
		wantBody(t, c, "Today's topics")
		if strings.Contains(c.body, "embedded body") {
			t.Errorf("an embedded message became the body: %q", c.body)
		}
		if len(c.Attachments) != 2 {
			t.Fatalf("attachments %v", names(c.Attachments))
		}
		for i, want := range []string{m1, m2} {
			a := c.Attachments[i]
			if a.ContentType != "message/rfc822" || !strings.HasSuffix(a.Name, ".eml") || a.SHA256 != sha(want) {
				t.Errorf("digest part %d: %+v", i, a)
			}
		}
	})
	t.Run("MeetingInvite", func(t *testing.T) {
		ics := "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nSUMMARY:Planning\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		c := createRaw(t, f, strings.ReplaceAll(`From: organizer@example.org
Subject: Invitation: Planning
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="MIX"

--MIX
Content-Type: multipart/alternative; boundary="ALT"

--ALT
Content-Type: text/plain; charset="UTF-8"

You have been invited to Planning.
--ALT
Content-Type: text/html; charset="UTF-8"

<p>You have been invited to <b>Planning</b>.</p>
--ALT
Content-Type: text/calendar; charset="UTF-8"; method=REQUEST

`+ics+`
--ALT--

--MIX
Content-Type: application/ics; name="invite.ics"
Content-Disposition: attachment; filename="invite.ics"
Content-Transfer-Encoding: base64

`+base64.StdEncoding.EncodeToString([]byte(ics))+`
--MIX--
`, "\r\n", "\n"))
		if c.bodyType != "html" {
			t.Errorf("body type %q", c.bodyType)
		}
		wantBody(t, c, "<b>Planning</b>")
		if len(c.Attachments) != 1 {
			t.Fatalf("want only invite.ics, have %v", names(c.Attachments))
		}
		if a := c.attachment(t, "invite.ics"); a.SHA256 != sha(ics) {
			t.Errorf("invite.ics: %+v", a)
		}
	})
	t.Run("InviteOnlyAsAlternativeIsKept", func(t *testing.T) {
		ics := "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
		c := createRaw(t, f, strings.ReplaceAll(`From: organizer@example.org
Subject: Outlook-style invite
Content-Type: multipart/alternative; boundary="ALT"

--ALT
Content-Type: text/plain

Join us.
--ALT
Content-Type: text/calendar; method=REQUEST

`+ics+`
--ALT--
`, "\r\n", "\n"))
		wantBody(t, c, "Join us.")
		if a := c.attachment(t, "invite.ics"); a.SHA256 != sha(ics) {
			t.Errorf("invite.ics: %+v", a)
		}
	})
	t.Run("PGPSignedShowsText", func(t *testing.T) {
		sig := "-----BEGIN PGP SIGNATURE-----\n\niQEzBAEBCAAdFiEE\n-----END PGP SIGNATURE-----\n"
		c := createRaw(t, f, `From: signer@example.org
Subject: signed with PGP
MIME-Version: 1.0
Content-Type: multipart/signed; micalg=pgp-sha256;
 protocol="application/pgp-signature"; boundary="SIG"

--SIG
Content-Type: text/plain; charset=us-ascii

This text is signed.
--SIG
Content-Type: application/pgp-signature
Content-Description: OpenPGP digital signature

`+sig+`
--SIG--
`)
		wantBody(t, c, "This text is signed.")
		if a := c.attachment(t, "signature.asc"); a.SHA256 != sha(strings.ReplaceAll(sig, "\n", "\r\n")) {
			t.Errorf("signature.asc: %+v", a)
		}
		if len(c.Attachments) != 1 {
			t.Errorf("attachments %v", names(c.Attachments))
		}
		if cls, _ := c.Ext("String 0x001A"); cls != "" {
			t.Errorf("PGP stored as S/MIME (%s)", cls)
		}
		wantNote(t, c, migrate.NoteSmimeStoredAsAttachment, false)
	})
	t.Run("InlineTextPartsInOrderEmptyOnesAddNothing", func(t *testing.T) {
		c := createRaw(t, f, `From: a@example.org
Subject: parts
Content-Type: multipart/mixed; boundary="B"

--B
Content-Type: text/plain


--B
Content-Type: text/plain

Section one
--B
Content-Type: text/html


--B
Content-Type: text/plain; name="notes.txt"

Section two
--B--
`)
		if c.bodyType != "text" || strings.Contains(c.body, "<pre>") {
			t.Errorf("body %s %q", c.bodyType, c.body)
		}
		wantBody(t, c, "Section one\r\nSection two")
		if a := c.attachment(t, "notes.txt"); a.SHA256 != sha("Section two") {
			t.Errorf("notes.txt: %+v", a)
		}
	})
	t.Run("UnnamedTextPartsAreTxt", func(t *testing.T) {
		c := createRaw(t, f, `From: a@example.org
Subject: two texts
Content-Type: multipart/mixed; boundary="M"

--M
Content-Type: text/plain

first text
--M
Content-Type: text/plain
Content-Disposition: attachment

second text
--M--
`)
		wantBody(t, c, "first text")
		if a := c.attachment(t, "attachment-1.txt"); a.SHA256 != sha("second text") {
			t.Errorf("second text: %+v", a)
		}
		wantNote(t, c, migrate.NoteRepairedMime, false)
	})
}
