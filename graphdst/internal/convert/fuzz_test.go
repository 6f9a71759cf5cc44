package convert

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/imapmig/imapmig/mailparse"
	"github.com/imapmig/imapmig/migrate"
)

// seedMessages are small messages of the shapes issue 11 lists.
var seedMessages = []string{
	"From: a@example.org\r\nSubject: plain\r\n\r\nhello\r\n",
	"Content-Type: text; charset=us-ascii\r\n\r\nno subtype\r\n",
	"Subject: here's something interesting\r\ncounter to RFC 2822\r\n",
	"Content-Type: multipart/mixed; boundary=BOUNDARY_\r\n\r\n--BOUNDARY\r\n\r\nmessage 1\r\n--BOUNDARY--\r\n",
	"Content-Type: multipart/alternative;\r\n\r\nBlah\r\n",
	"Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\nA\r\n--X\r\nContent-Type: application/zip; name=a.zip\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n",
	"Content-Type: multipart/digest; boundary=D\r\n\r\n--D\r\n\r\nSubject: one\r\n\r\nbody\r\n--D--\r\n",
	"Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=S\r\n\r\n--S\r\n\r\nsigned\r\n--S\r\nContent-Type: application/pgp-signature\r\n\r\nSIG\r\n--S--\r\n",
	"Content-Type: multipart/mixed; boundary=M\r\n\r\n--M\r\nContent-Type: multipart/alternative; boundary=A\r\n\r\n--A\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<b>x=3D</b>=\r\n\r\n--A\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n--A--\r\n--M--\r\n",
	"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqG\r\n",
}

// FuzzConvert: MIME bytes in, Graph JSON out. No panic (convert recovers
// into the original.eml fallback, so a fallback is a failure here), a
// create body that is valid JSON within Graph's 4 MB, UTF-8 text, and
// every attachment's bytes exactly what a MIME part decoded to (or the
// whole message).
func FuzzConvert(f *testing.F) {
	for _, s := range seedMessages {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		nm := migrate.NewMessage{Meta: migrate.MessageMeta{InternalDate: time.Unix(1700000000, 0)}}
		c, err := Convert(raw, nm)
		if err != nil {
			if len(bytes.TrimSpace(raw)) != 0 {
				t.Fatalf("convert failed: %v", err)
			}
			return
		}
		if c.Fallback {
			t.Fatal("convert panicked (fell back to original.eml)")
		}
		decoded := map[[32]byte]bool{sha256.Sum256(raw): true}
		mailparse.Parse(raw).Walk(func(p *mailparse.Part) {
			d, _ := p.Decoded()
			decoded[sha256.Sum256(d)] = true
		})
		want := map[[32]byte]int{}
		for _, a := range c.Attachments {
			data := a.Bytes()
			if int64(len(data)) != a.Size {
				t.Fatalf("attachment %q: %d bytes, Size says %d", a.Name, len(data), a.Size)
			}
			h := sha256.Sum256(data)
			if !decoded[h] {
				t.Fatalf("attachment %q holds bytes no part decoded to", a.Name)
			}
			if a.Name == "" || !utf8.ValidString(a.Name) {
				t.Fatalf("attachment name %q", a.Name)
			}
			want[h]++
		}
		for _, s := range []string{c.Msg.Subject, c.Msg.Body.Content} {
			if !utf8.ValidString(s) {
				t.Fatalf("not UTF-8: %q", s)
			}
		}
		pl, err := Pack(c)
		if err != nil {
			if migrate.KindOf(err) != migrate.KindSkipItem {
				t.Fatalf("pack: %v", err)
			}
			return
		}
		cb, err := pl.CreateBody()
		if err != nil {
			t.Fatalf("create body: %v", err)
		}
		body := cb.Bytes()
		// The plan's JSON is the message as it stands after Pack.
		if again, err := CreateBody(c.Msg, pl.Inline); err != nil || !bytes.Equal(again.Bytes(), body) {
			t.Fatalf("the plan's create body differs from the message's (%v)", err)
		}
		if !json.Valid(body) || int64(len(body)) != cb.Size() {
			t.Fatalf("create body: valid %v, %d bytes, Size says %d", json.Valid(body), len(body), cb.Size())
		}
		if len(body) > MaxRequestBody {
			t.Fatalf("create body is %d bytes, over Graph's %d", len(body), MaxRequestBody)
		}
		var back struct {
			Attachments []struct {
				ContentBytes []byte `json:"contentBytes"`
			} `json:"attachments"`
		}
		if err := json.Unmarshal(body, &back); err != nil {
			t.Fatal(err)
		}
		got := map[[32]byte]int{}
		for _, a := range back.Attachments {
			got[sha256.Sum256(a.ContentBytes)]++
		}
		for _, a := range pl.Post {
			ab, err := AttachmentBody(a)
			if err != nil {
				t.Fatal(err)
			}
			var one struct {
				ContentBytes []byte `json:"contentBytes"`
			}
			if b := ab.Bytes(); int64(len(b)) != ab.Size() || json.Unmarshal(b, &one) != nil {
				t.Fatalf("attachment body of %q: %d bytes, Size says %d", a.Name, len(b), ab.Size())
			}
			got[sha256.Sum256(one.ContentBytes)]++
		}
		for _, a := range pl.Session {
			got[sha256.Sum256(a.Bytes())]++
		}
		for h, n := range want {
			if got[h] < n {
				t.Fatalf("an attachment's bytes changed on the way to JSON")
			}
		}
	})
}
