package targettest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// Options describe the target under test.
type Options struct {
	Target migrate.Target
	// Mailbox exists on the target and may be written to freely.
	Mailbox string
	// MissingMailbox does not exist.
	MissingMailbox string
	// Sender is a mailbox SendMail may send from ("" skips SendMail).
	Sender string
	// Inspect, when set, returns what the target stored for an item; the
	// fidelity tests are skipped without it.
	Inspect func(t *testing.T, mailbox, itemID string) (Item, bool)
	// Sent, when set, returns the subjects of mails sent so far.
	Sent func(t *testing.T) []string
	// SkipLarge skips the 20 MB message.
	SkipLarge bool
	// NoConversion declares a target that stores the message as opaque
	// bytes instead of converting MIME into an item (the in-memory fake,
	// migrate/memtarget). The fidelity checks of that conversion (body
	// type, attachments, inline images, the S/MIME message class) are then
	// skipped: they test the adapter's MIME mapping, which the engine never
	// reads back. Everything the engine relies on (folder, draft, received
	// time, flags, source key, the verbatim header block) is still checked.
	NoConversion bool
	// RemoveFolder, when set, deletes a folder and its items behind the
	// target's back, as a user would in Outlook; the FolderGone checks are
	// skipped without it.
	RemoveFolder func(t *testing.T, mailbox, folderID string)
}

// Item is a stored message as the target's inspection sees it.
type Item struct {
	FolderID      string
	IsDraft       bool
	IsRead        bool
	Flagged       bool
	Categories    []string
	Received      time.Time
	SourceKey     string
	Subject       string
	BodyType      string            // "html" or "text"
	Headers       string            // the original header block as stored
	MessageClass  string            // "" for ordinary mail
	Attachments   map[string]string // name → hex SHA-256 of the bytes
	InlineCount   int
	InternetMsgID string
}

// MemBody is an in-memory migrate.Body.
type MemBody []byte

func (b MemBody) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
func (b MemBody) Size() int64                  { return int64(len(b)) }
func (b MemBody) Close() error                 { return nil }

// NewMessage wraps raw into a migrate.NewMessage with its source key.
func NewMessage(raw []byte, internal time.Time, f migrate.Flags) migrate.NewMessage {
	hh := migrate.HeaderHash(migrate.HeaderBlock(raw))
	return migrate.NewMessage{
		Meta: migrate.MessageMeta{
			InternalDate: internal, Size: int64(len(raw)), HeaderHash: hh,
			SourceKey: migrate.SourceKey(hh, 1),
		},
		Body:  MemBody(raw),
		Flags: f,
	}
}

// Sample is a test message with what it must look like once stored.
type Sample struct {
	Name        string
	Raw         []byte
	BodyType    string
	Attachments map[string]string // name → sha256
	Inline      int
	SMIME       bool
	Large       bool
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func b64lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	for len(s) > 76 {
		sb.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	sb.WriteString(s + "\r\n")
	return sb.String()
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func header(subject, extra string, withID bool, n int) string {
	h := "Received: from mx.example.test by imap.example.test; Tue, 5 Mar 2019 10:00:00 +0000\r\n" +
		"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel; b=abc\r\n" +
		"From: \"Sender Name\" <sender@example.test>\r\n" +
		"To: alice@contoso.test, \"Bob B\" <bob@contoso.test>\r\n" +
		"Cc: carol@contoso.test\r\n" +
		"Reply-To: replies@example.test\r\n" +
		fmt.Sprintf("Subject: %s\r\n", subject) +
		"Date: Tue, 05 Mar 2019 10:00:00 +0000\r\n"
	if withID {
		h += fmt.Sprintf("Message-ID: <sample-%d-%s@example.test>\r\n", n, strings.ReplaceAll(subject, " ", "-"))
	}
	return h + "MIME-Version: 1.0\r\n" + extra
}

// Samples returns the fidelity messages of the issue: HTML-only, text-only,
// 30 inline images, signed, no Message-ID, and a 20 MB attachment.
func Samples() []Sample {
	var out []Sample
	out = append(out, Sample{Name: "HTMLOnly", BodyType: "html", Raw: []byte(header("html only", "Content-Type: text/html; charset=utf-8\r\n", true, 1) +
		"\r\n<html><body><p>Hello <b>world</b> \u00e9</p></body></html>\r\n")})
	out = append(out, Sample{Name: "TextOnly", BodyType: "text", Raw: []byte(header("text only", "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n", true, 2) +
		"\r\nGr=FC=DFe aus K=F6ln\r\n")})
	out = append(out, Sample{Name: "NoMessageID", BodyType: "text", Raw: []byte(header("no message id", "Content-Type: text/plain\r\n", false, 3) + "\r\nno id here\r\n")})
	{
		var sb strings.Builder
		sb.WriteString(header("thirty inline images", "Content-Type: multipart/related; boundary=\"REL\"\r\n", true, 4))
		sb.WriteString("\r\n--REL\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>")
		att := map[string]string{}
		var imgs [][]byte
		for i := range 30 {
			sb.WriteString(fmt.Sprintf("<img src=\"cid:img%d@example.test\">", i))
			imgs = append(imgs, randBytes(uint64(i+10), 20_000+i*1000))
		}
		sb.WriteString("</body></html>\r\n")
		for i, img := range imgs {
			name := fmt.Sprintf("image%02d.png", i)
			att[name] = sum(img)
			sb.WriteString("--REL\r\nContent-Type: image/png; name=\"" + name + "\"\r\nContent-Transfer-Encoding: base64\r\n")
			sb.WriteString(fmt.Sprintf("Content-ID: <img%d@example.test>\r\nContent-Disposition: inline; filename=\"%s\"\r\n\r\n", i, name))
			sb.WriteString(b64lines(img))
		}
		sb.WriteString("--REL--\r\n")
		out = append(out, Sample{Name: "ThirtyInlineImages", BodyType: "html", Raw: []byte(sb.String()), Attachments: att, Inline: 30})
	}
	{
		raw := header("signed", "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"SIG\"\r\n", true, 5) +
			"\r\n--SIG\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--SIG\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			b64lines(randBytes(99, 1500)) + "--SIG--\r\n"
		out = append(out, Sample{Name: "Signed", Raw: []byte(raw), SMIME: true, Attachments: map[string]string{"smime.p7m": sum([]byte(raw))}})
	}
	{
		big := randBytes(2024, 20<<20)
		small := randBytes(7, 100_000)
		raw := header("twenty megabytes", "Content-Type: multipart/mixed; boundary=\"MIX\"\r\n", true, 6) +
			"\r\n--MIX\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n" +
			"--MIX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64lines(big) +
			"--MIX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"small.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64lines(small) +
			"--MIX--\r\n"
		out = append(out, Sample{Name: "TwentyMegabyteAttachment", BodyType: "text", Raw: []byte(raw), Large: true,
			Attachments: map[string]string{"big.bin": sum(big), "small.pdf": sum(small)}})
	}
	return out
}

// SimpleMessage builds a small unique text message.
func SimpleMessage(tag string, n int) []byte {
	return []byte(fmt.Sprintf("From: a@example.test\r\nTo: b@example.test\r\nSubject: %s %d\r\nDate: Tue, 05 Mar 2019 10:00:00 +0000\r\nMessage-ID: <%s-%d@example.test>\r\n\r\nbody %d\r\n", tag, n, tag, n, n))
}

// Run runs the conformance suite.
func Run(t *testing.T, o Options) {
	s := &suite{o: o, ctx: context.Background()}
	t.Run("Mailbox_NotFound", s.testMailboxNotFound)
	mb, err := o.Target.Mailbox(s.ctx, o.Mailbox)
	if err != nil {
		t.Fatalf("Mailbox(%s): %v", o.Mailbox, err)
	}
	s.mb, s.suffix = mb, fmt.Sprint(time.Now().UnixNano())
	t.Run("EnsureFolder_Table", s.testEnsureFolderTable)
	t.Run("EnsureFolder_ExistingSiblingReused", s.testEnsureFolderExistingSiblingReused)
	if s.folder, err = mb.EnsureFolder(s.ctx, migrate.FolderPath{WellKnown: migrate.WellKnownInbox, Names: []string{"Conformance " + s.suffix}}); err != nil {
		t.Fatal(err)
	}
	if s.other, err = mb.EnsureFolder(s.ctx, migrate.FolderPath{Names: []string{"Conformance other " + s.suffix}}); err != nil {
		t.Fatal(err)
	}
	s.received = time.Date(2019, 3, 5, 10, 0, 7, 0, time.UTC)
	for _, c := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Create_KeysAndLookup", s.testCreateKeysAndLookup},
		{"Create_Fidelity", s.testCreateFidelity},
		{"Create_Draft", s.testCreateDraft},
		{"Create_Unparseable", s.testCreateUnparseable},
		{"SetFlags_MoveDelete", s.testSetFlagsMoveDelete},
		{"NewFolder_KeysFollowWrites", s.testNewFolderKeysFollowWrites},
		{"FolderGone", s.testFolderGone},
		{"SendMail", s.testSendMail},
	} {
		t.Run(c.name, c.fn)
	}
}

// suite is what the cases of one Run share: the options, the mailbox under
// test and a suffix that keeps this run's folder names apart.
type suite struct {
	o      Options
	ctx    context.Context
	mb     migrate.Mailbox
	suffix string
	// folder and other are two target folders of this run; received is
	// the received time the creates ask for.
	folder, other string
	received      time.Time
}

func (s *suite) testMailboxNotFound(t *testing.T) {
	o, ctx := s.o, s.ctx
	_, err := o.Target.Mailbox(ctx, o.MissingMailbox)
	if !errors.Is(err, migrate.ErrRecipientNotFound) || migrate.KindOf(err) != migrate.KindFailUser || migrate.ReasonOf(err) != migrate.ReasonRecipientNotFound {
		t.Fatalf("missing mailbox: %v (kind %v, reason %q)", err, migrate.KindOf(err), migrate.ReasonOf(err))
	}
}

func (s *suite) testEnsureFolderTable(t *testing.T) {
	ctx, mb, suffix := s.ctx, s.mb, s.suffix
	tests := []struct {
		name string
		path migrate.FolderPath
	}{
		{"Inbox", migrate.FolderPath{WellKnown: migrate.WellKnownInbox}},
		{"SentItems", migrate.FolderPath{WellKnown: migrate.WellKnownSentItems}},
		{"ChildOfInbox", migrate.FolderPath{WellKnown: migrate.WellKnownInbox, Names: []string{"Projects " + suffix}}},
		{"TopLevelNested", migrate.FolderPath{Names: []string{"Old " + suffix, "2019", "Q1"}}},
		{"SlashAndQuoteInName", migrate.FolderPath{Names: []string{"a/b it's " + suffix}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id1, err := mb.EnsureFolder(ctx, tt.path)
			if err != nil || id1 == "" {
				t.Fatalf("first: %q %v", id1, err)
			}
			id2, err := mb.EnsureFolder(ctx, tt.path)
			if err != nil || id2 != id1 {
				t.Fatalf("second: %q %v, want %q", id2, err, id1)
			}
		})
	}
}

func (s *suite) testEnsureFolderExistingSiblingReused(t *testing.T) {
	o, ctx, suffix := s.o, s.ctx, s.suffix
	// Two independent mailbox handles race to create the same folder.
	p := migrate.FolderPath{WellKnown: migrate.WellKnownInbox, Names: []string{"Race " + suffix}}
	ids := make([]string, 6)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			m2, err := o.Target.Mailbox(ctx, o.Mailbox)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i], err = m2.EnsureFolder(ctx, p)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("racing EnsureFolder gave different folders: %v", ids)
		}
	}
}

func (s *suite) testCreateKeysAndLookup(t *testing.T) {
	folder, other, received := s.folder, s.other, s.received
	ctx, mb, suffix := s.ctx, s.mb, s.suffix
	want := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			nm := NewMessage(SimpleMessage("keys"+suffix, i), received, migrate.Flags{Seen: i%2 == 0})
			id, err := mb.Create(ctx, folder, nm)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			want[nm.Meta.SourceKey] = id
			mu.Unlock()
		})
	}
	wg.Wait()
	got := map[string]string{}
	if err := mb.Keys(ctx, folder, func(k migrate.KeyedItem) error {
		if _, dup := got[k.SourceKey]; dup {
			t.Errorf("key %s twice", k.SourceKey)
		}
		got[k.SourceKey] = k.ItemID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Keys gave %d items, want %d", len(got), len(want))
	}
	for k, id := range want {
		if got[k] != id {
			t.Fatalf("key %s → %q, want %q", k, got[k], id)
		}
		lid, found, err := mb.LookupKey(ctx, folder, k)
		if err != nil || !found || lid != id {
			t.Fatalf("LookupKey(%s) = %q %v %v", k, lid, found, err)
		}
	}
	if _, found, err := mb.LookupKey(ctx, folder, "no-such-key"); err != nil || found {
		t.Fatalf("LookupKey(missing) = %v %v", found, err)
	}
	if _, found, err := mb.LookupKey(ctx, other, NewMessage(SimpleMessage("keys"+suffix, 0), received, migrate.Flags{}).Meta.SourceKey); err != nil || found {
		t.Fatalf("LookupKey found a key of another folder: %v %v", found, err)
	}
}

func (s *suite) testCreateFidelity(t *testing.T) {
	folder, received := s.folder, s.received
	o, ctx, mb := s.o, s.ctx, s.mb
	if o.Inspect == nil {
		t.Skip("no Inspect hook")
	}
	for _, s := range Samples() {
		t.Run(s.Name, func(t *testing.T) {
			if s.Large && (o.SkipLarge || testing.Short()) {
				t.Skip("large message skipped")
			}
			flags := migrate.Flags{Seen: true, Flagged: true, Categories: []string{"Work"}}
			if s.Name == "TextOnly" {
				flags = migrate.Flags{}
			}
			nm := NewMessage(s.Raw, received, flags)
			id, err := mb.Create(ctx, folder, nm)
			if err != nil {
				t.Fatal(err)
			}
			it, ok := o.Inspect(t, o.Mailbox, id)
			if !ok {
				t.Fatalf("item %s not found by Inspect", id)
			}
			hdr := string(migrate.HeaderBlock(s.Raw))
			switch {
			case it.IsDraft:
				t.Error("stored as a draft")
			case !it.Received.Equal(received):
				t.Errorf("received %v, want %v", it.Received, received)
			case it.IsRead != flags.Seen || it.Flagged != flags.Flagged:
				t.Errorf("read=%v flagged=%v, want %v %v", it.IsRead, it.Flagged, flags.Seen, flags.Flagged)
			case it.SourceKey != nm.Meta.SourceKey:
				t.Errorf("source key %q, want %q", it.SourceKey, nm.Meta.SourceKey)
			case it.Headers != hdr:
				t.Errorf("header block not kept verbatim:\n%q\nwant\n%q", it.Headers, hdr)
			case it.FolderID != folder:
				t.Errorf("folder %s, want %s", it.FolderID, folder)
			}
			if o.NoConversion {
				return
			}
			if s.BodyType != "" && it.BodyType != s.BodyType {
				t.Errorf("body type %q, want %q", it.BodyType, s.BodyType)
			}
			if s.SMIME && !strings.HasPrefix(it.MessageClass, "IPM.Note.SMIME") {
				t.Errorf("message class %q for S/MIME", it.MessageClass)
			}
			for name, h := range s.Attachments {
				if it.Attachments[name] != h {
					t.Errorf("attachment %s: hash %q, want %q", name, it.Attachments[name], h)
				}
			}
			if len(it.Attachments) != len(s.Attachments) {
				t.Errorf("%d attachments, want %d", len(it.Attachments), len(s.Attachments))
			}
			if it.InlineCount != s.Inline {
				t.Errorf("%d inline attachments, want %d", it.InlineCount, s.Inline)
			}
		})
	}
}

func (s *suite) testCreateDraft(t *testing.T) {
	folder, received := s.folder, s.received
	o, ctx, mb, suffix := s.o, s.ctx, s.mb, s.suffix
	if o.Inspect == nil {
		t.Skip("no Inspect hook")
	}
	nm := NewMessage(SimpleMessage("draft"+suffix, 1), received, migrate.Flags{})
	nm.Draft = true
	id, err := mb.Create(ctx, folder, nm)
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := o.Inspect(t, o.Mailbox, id); !it.IsDraft {
		t.Fatal("a source draft was not kept a draft")
	}
}

func (s *suite) testCreateUnparseable(t *testing.T) {
	folder, received := s.folder, s.received
	ctx, mb := s.ctx, s.mb
	raw := []byte("this is not\x00 a header line\r\nnor: is\r\n this\r\n\r\n\xff\xfe body")
	nm := NewMessage(raw, received, migrate.Flags{})
	id, err := mb.Create(ctx, folder, nm)
	if err != nil {
		if migrate.KindOf(err) == migrate.KindSkipItem && migrate.ReasonOf(err) == migrate.ReasonMalformedMessage {
			return
		}
		t.Fatalf("unparseable message: %v (kind %v)", err, migrate.KindOf(err))
	}
	if id == "" {
		t.Fatal("no id")
	}
}

func (s *suite) testSetFlagsMoveDelete(t *testing.T) {
	folder, other, received := s.folder, s.other, s.received
	o, ctx, mb, suffix := s.o, s.ctx, s.mb, s.suffix
	nm := NewMessage(SimpleMessage("ops"+suffix, 1), received, migrate.Flags{})
	id, err := mb.Create(ctx, folder, nm)
	if err != nil {
		t.Fatal(err)
	}
	f := migrate.Flags{Seen: true, Flagged: true, Answered: true, Categories: []string{"Blue", "$label1"}}
	if err := mb.SetFlags(ctx, id, f); err != nil {
		t.Fatal(err)
	}
	if o.Inspect != nil {
		it, _ := o.Inspect(t, o.Mailbox, id)
		if !it.IsRead || !it.Flagged || strings.Join(it.Categories, ",") != "Blue,$label1" {
			t.Fatalf("after SetFlags: %+v", it)
		}
	}
	if err := mb.SetFlags(ctx, id, migrate.Flags{}); err != nil {
		t.Fatal(err)
	}
	nid, err := mb.Move(ctx, id, other)
	if err != nil || nid == "" {
		t.Fatalf("Move: %q %v", nid, err)
	}
	if lid, found, err := mb.LookupKey(ctx, other, nm.Meta.SourceKey); err != nil || !found || lid != nid {
		t.Fatalf("after move, LookupKey in destination = %q %v %v, want %q", lid, found, err, nid)
	}
	if _, found, _ := mb.LookupKey(ctx, folder, nm.Meta.SourceKey); found {
		t.Fatal("after move, key still in the source folder")
	}
	if o.Inspect != nil {
		if it, _ := o.Inspect(t, o.Mailbox, nid); it.IsRead || it.Flagged || len(it.Categories) != 0 {
			t.Fatalf("flags not cleared: %+v", it)
		}
	}
	if err := mb.Delete(ctx, nid); err != nil {
		t.Fatal(err)
	}
	if err := mb.Delete(ctx, nid); err != nil {
		t.Fatalf("deleting a gone item: %v", err)
	}
	if _, found, _ := mb.LookupKey(ctx, other, nm.Meta.SourceKey); found {
		t.Fatal("deleted item still found")
	}
}

// testNewFolderKeysFollowWrites: a folder just created holds no keyed
// item, and what a create or a move puts there is reported at once, by
// Keys, LookupKey and (for a PendingSweeper) not swept, also when the
// write is the folder's first. A target that answers for a new folder
// without asking the service (graphdst) must drop that shortcut before
// its first write.
func (s *suite) testNewFolderKeysFollowWrites(t *testing.T) {
	ctx, mb, suffix, received := s.ctx, s.mb, s.suffix, s.received
	keys := func(folder string) map[string]string {
		t.Helper()
		got := map[string]string{}
		if err := mb.Keys(ctx, folder, func(k migrate.KeyedItem) error { got[k.SourceKey] = k.ItemID; return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	sweep := func(folder string) {
		t.Helper()
		if sw, ok := mb.(migrate.PendingSweeper); ok {
			if n, err := sw.SweepPending(ctx, folder); err != nil || n != 0 {
				t.Fatalf("SweepPending = %d, %v; want 0, nil", n, err)
			}
		}
	}
	created, err := mb.EnsureFolder(ctx, migrate.FolderPath{Names: []string{"New created " + suffix}})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := mb.EnsureFolder(ctx, migrate.FolderPath{Names: []string{"New moved " + suffix, "Child"}})
	if err != nil {
		t.Fatal(err)
	}
	nm := NewMessage(SimpleMessage("new"+suffix, 1), received, migrate.Flags{})
	for _, f := range []string{created, moved} {
		sweep(f)
		if got := keys(f); len(got) != 0 {
			t.Fatalf("a new folder has keyed items: %v", got)
		}
		if _, found, err := mb.LookupKey(ctx, f, nm.Meta.SourceKey); err != nil || found {
			t.Fatalf("LookupKey in a new folder = %v, %v", found, err)
		}
	}
	id, err := mb.Create(ctx, created, nm)
	if err != nil {
		t.Fatal(err)
	}
	// holds checks that folder (swept) has the message, as id, and nothing else.
	holds := func(when, folder, id string) {
		t.Helper()
		sweep(folder)
		if got := keys(folder); len(got) != 1 || got[nm.Meta.SourceKey] != id {
			t.Fatalf("%s, Keys = %v, want %s → %s", when, got, nm.Meta.SourceKey, id)
		}
		if lid, found, err := mb.LookupKey(ctx, folder, nm.Meta.SourceKey); err != nil || !found || lid != id {
			t.Fatalf("%s, LookupKey = %q %v %v, want %q", when, lid, found, err, id)
		}
	}
	holds("after the first create", created, id)
	nid, err := mb.Move(ctx, id, moved)
	if err != nil {
		t.Fatal(err)
	}
	holds("after a move into a new folder", moved, nid)
	if got := keys(created); len(got) != 0 {
		t.Fatalf("after the move, the first folder still has %v", got)
	}
}

func (s *suite) testFolderGone(t *testing.T) {
	folder, received := s.folder, s.received
	o, ctx, mb, suffix := s.o, s.ctx, s.mb, s.suffix
	// A folder deleted under a running migration: writes into it must
	// fail as ErrFolderGone (the engine re-creates it next pass), never
	// succeed into nowhere; an item moved there stays where it was.
	if o.RemoveFolder == nil {
		t.Skip("no RemoveFolder hook")
	}
	gone, err := mb.EnsureFolder(ctx, migrate.FolderPath{WellKnown: migrate.WellKnownInbox, Names: []string{"Gone " + suffix}})
	if err != nil {
		t.Fatal(err)
	}
	stay := NewMessage(SimpleMessage("stay"+suffix, 1), received, migrate.Flags{})
	stayID, err := mb.Create(ctx, folder, stay)
	if err != nil {
		t.Fatal(err)
	}
	o.RemoveFolder(t, o.Mailbox, gone)

	_, err = mb.Create(ctx, gone, NewMessage(SimpleMessage("gone"+suffix, 1), received, migrate.Flags{}))
	if !errors.Is(err, migrate.ErrFolderGone) || migrate.KindOf(err) != migrate.KindRetryable {
		t.Errorf("Create into a deleted folder: %v (kind %v), want a retryable ErrFolderGone", err, migrate.KindOf(err))
	}
	if err := mb.Keys(ctx, gone, func(migrate.KeyedItem) error { return nil }); !errors.Is(err, migrate.ErrFolderGone) {
		t.Errorf("Keys of a deleted folder: %v, want ErrFolderGone", err)
	}
	if _, err := mb.Move(ctx, stayID, gone); err == nil {
		t.Error("Move into a deleted folder succeeded")
	}
	if lid, found, err := mb.LookupKey(ctx, folder, stay.Meta.SourceKey); err != nil || !found || lid != stayID {
		t.Errorf("after a failed move, LookupKey = %q %v %v, want %q in the source folder", lid, found, err, stayID)
	}
}

func (s *suite) testSendMail(t *testing.T) {
	o, ctx, suffix := s.o, s.ctx, s.suffix
	if o.Sender == "" {
		t.Skip("no sender")
	}
	subj := "imapmig report " + suffix
	id := "<report." + suffix + "@imapmig.example.test>"
	// The second call is a retry after an unknown outcome: same Message-ID,
	// not sent again.
	for range 2 {
		if err := o.Target.SendMail(ctx, o.Sender, []string{"ops@example.test"}, subj, "<p>Synced</p>", id); err != nil {
			t.Fatal(err)
		}
	}
	if o.Sent != nil {
		n := 0
		for _, s := range o.Sent(t) {
			if s == subj {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("report mail sent %d times with one Message-ID, want 1", n)
		}
	}
	err := o.Target.SendMail(ctx, o.MissingMailbox, []string{"ops@example.test"}, subj, "x", "")
	if !errors.Is(err, migrate.ErrRecipientNotFound) {
		t.Fatalf("SendMail from a missing mailbox: %v", err)
	}
}
