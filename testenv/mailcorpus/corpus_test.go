package mailcorpus_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/jhillyerd/enmime/v2"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailcorpus"
	"github.com/imapmig/imapmig/testenv/mailgen"
	"github.com/imapmig/imapmig/testenv/testmain"
)

var dc dovecot.Shared

func TestMain(m *testing.M) { testmain.Run(m, &dc) }

const (
	tenant   = "0f0e0d0c-0b0a-0908-0706-050403020100"
	clientID = "imapmig-corpus"
	secret   = "corpus-S3cret~value"
	target   = "corpus@contoso.test"
)

// flagsFor gives message i a deterministic mix of flags.
func flagsFor(i int) (imapFlags []string, f migrate.Flags) {
	if i%2 == 0 {
		imapFlags, f.Seen = append(imapFlags, `\Seen`), true
	}
	if i%3 == 0 {
		imapFlags, f.Flagged = append(imapFlags, `\Flagged`), true
	}
	if i%5 == 0 {
		imapFlags, f.Answered = append(imapFlags, `\Answered`), true
	}
	return imapFlags, f
}

// oracle is enmime's reading of a source message.
type oracle struct {
	subject     string
	text, html  string
	readable    bool
	attachments map[string]string // name → SHA-256 of the decoded bytes
	err         error
}

func readOracle(raw []byte) oracle {
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return oracle{err: err}
	}
	o := oracle{subject: env.GetHeader("Subject"), text: env.Text, html: env.HTML, attachments: map[string]string{}}
	o.readable = len(words(o.text)) > 0 || len(words(o.html)) > 0
	for _, l := range [][]*enmime.Part{env.Attachments, env.Inlines, env.OtherParts} {
		for _, p := range l {
			if strings.TrimSpace(p.FileName) == "" {
				continue
			}
			s := sha256.Sum256(p.Content)
			o.attachments[p.FileName] = hex.EncodeToString(s[:])
		}
	}
	return o
}

var tags = regexp.MustCompile(`(?s)<[^>]*>`)

// words are the letter-and-digit words of a text or HTML body.
func words(s string) []string {
	s = html.UnescapeString(tags.ReplaceAllString(s, " "))
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// asciiWords are the words of words(s) that are plain ASCII: the snippet
// compared, because where a part declares no charset the two parsers may
// guess differently (mailparse reads undeclared 8-bit text as UTF-8 or
// Windows-1252, enmime guesses with chardet).
func asciiWords(s string) []string {
	var out []string
	for _, w := range words(s) {
		ascii := true
		for _, r := range w {
			ascii = ascii && r < 0x80
		}
		if ascii {
			out = append(out, w)
		}
	}
	return out
}

func containsRun(hay, needle []string) bool {
	if len(needle) == 0 {
		return true
	}
	for i := 0; i+len(needle) <= len(hay); i++ {
		ok := true
		for j := range needle {
			if hay[i+j] != needle[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func norm(s string) string { return strings.Join(strings.Fields(s), " ") }

// counts of one parser over the corpus.
type counts struct {
	messages, readable, attachmentsEqual, storedWhole int
}

// TestCorpus_RealWorldMailArrivesReadable: every corpus message through
// Dovecot, imapsrc and graphdst into the Graph emulator, each item compared
// with enmime's independent parse of the source.
func TestCorpus_RealWorldMailArrivesReadable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	msgs, err := mailcorpus.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 80 {
		t.Fatalf("corpus has only %d messages", len(msgs))
	}

	// Source: a real Dovecot.
	srv := dc.Get(t)
	u := srv.MustNewUser(t, "corpus", dovecot.LayoutSlash)
	base := time.Date(2023, 5, 1, 8, 0, 0, 0, time.UTC)
	var seed []mailgen.Message
	want := map[uint32]migrate.Flags{}
	for i, m := range msgs {
		fl, _ := flagsFor(i)
		seed = append(seed, mailgen.Message{Raw: m.Raw, Flags: fl, InternalDate: base.Add(time.Duration(i) * time.Hour)})
	}
	uids, err := srv.Append(ctx, u.Name, "INBOX", seed...)
	if err != nil {
		t.Fatal(err)
	}
	byUID := map[uint32]int{}
	for i, uid := range uids {
		byUID[uid] = i
		_, want[uid] = flagsFor(i)
	}

	conn, err := imapsrc.New(imapsrc.Config{Host: "localhost", Port: srv.TLSPort, Security: imapsrc.SecuritySSL, RootCAs: srv.CertPool,
		CommandTimeout: 30 * time.Second, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	src, err := conn.Connect(ctx, migrate.Login{UserName: u.Name, Password: u.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	folders, err := src.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var inbox migrate.Folder
	for _, f := range folders {
		if strings.EqualFold(f.Name, "INBOX") {
			inbox = f
		}
	}
	var metas []migrate.MessageMeta
	if err := src.Metas(ctx, inbox, 1, 0, func(m migrate.MessageMeta) error { metas = append(metas, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(metas) != len(msgs) {
		t.Fatalf("Dovecot holds %d of %d messages", len(metas), len(msgs))
	}

	// Target: graphdst into the emulator.
	emu := graphemu.StartForTest(t, graphemu.Options{Tenant: tenant, Clients: map[string]string{clientID: secret}, Mailboxes: []string{target}})
	tg, err := graphdst.New(ctx, graphdst.Config{TenantID: tenant, ClientID: clientID, ClientSecret: secret,
		AuthorityHost: emu.AuthorityHost(), GraphURL: emu.GraphURL(), HTTPClient: emu.Client(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mbx, err := tg.Mailbox(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	folderID, err := mbx.EnsureFolder(ctx, migrate.FolderPath{WellKnown: migrate.WellKnownInbox})
	if err != nil {
		t.Fatal(err)
	}

	type source struct {
		name  string
		raw   []byte
		meta  migrate.MessageMeta
		notes []string
	}
	byKey := map[string]*source{}
	ordinal := map[string]int{}
	for _, m := range metas {
		body, err := src.Fetch(ctx, inbox, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := body.Open()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		body.Close()
		if err != nil {
			t.Fatal(err)
		}
		ordinal[m.HeaderHash]++
		m.SourceKey = migrate.SourceKey(m.HeaderHash, ordinal[m.HeaderHash])
		nm := migrate.NewMessage{Meta: m, Body: memBody(raw), Flags: flagsOf(m.Flags)}
		if w := want[m.UID]; nm.Flags.Seen != w.Seen || nm.Flags.Flagged != w.Flagged || nm.Flags.Answered != w.Answered {
			t.Errorf("%s: Dovecot reports flags %v, appended %v", msgs[byUID[m.UID]].Name, m.Flags, want[m.UID])
		}
		_, notes, err := mbx.(migrate.NotingCreator).CreateNoted(ctx, folderID, nm)
		if err != nil {
			t.Errorf("%s: create: %v", msgs[byUID[m.UID]].Name, err)
			continue
		}
		byKey[m.SourceKey] = &source{name: msgs[byUID[m.UID]].Name, raw: raw, meta: m, notes: notes}
	}

	dump, _ := emu.Dump(target)
	items := map[string][]graphemu.MessageDump{}
	for _, it := range dump.Messages {
		k, _ := it.Ext(graphdst.SourceKeyProperty)
		items[k] = append(items[k], it)
	}
	var product, alt counts
	var whole []string
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return byKey[keys[i]].name < byKey[keys[j]].name })
	for _, k := range keys {
		s := byKey[k]
		product.messages++
		alt.messages++
		got := items[k]
		if len(got) != 1 {
			t.Errorf("%s: %d copies in the target", s.name, len(got))
			continue
		}
		it := got[0]
		o := readOracle(s.raw)
		if o.err != nil {
			alt.storedWhole++
			t.Logf("%s: enmime fails: %v", s.name, o.err)
		}
		if o.readable {
			alt.readable++
		}
		var body struct{ ContentType, Content string }
		it.Field("body", &body)
		storedWhole := false
		for _, a := range it.Attachments {
			storedWhole = storedWhole || a.Name == "original.eml"
		}
		storedWhole = storedWhole && hasNote(s.notes, migrate.NoteStoredAsOriginalEml)
		if storedWhole {
			product.storedWhole++
			whole = append(whole, s.name)
			if o.readable {
				t.Errorf("%s: stored whole as original.eml, but enmime reads a body: %q", s.name, trunc(o.text+o.html))
			}
		}
		if len(words(body.Content)) > 0 {
			product.readable++
		}
		// Body: a snippet of what the oracle shows.
		if o.readable && !storedWhole && !binary(o.text+o.html) {
			ref := o.text
			if body.ContentType == "html" && len(words(o.html)) > 0 || len(words(ref)) == 0 {
				ref = o.html
			}
			snip := asciiWords(ref)
			if len(snip) > 6 {
				snip = snip[:6]
			}
			if !containsRun(asciiWords(body.Content), snip) {
				t.Errorf("%s: body %q lacks the oracle's %q", s.name, trunc(body.Content), strings.Join(snip, " "))
			}
		}
		// Subject.
		// A line without a colon after the last field and before the
		// body: enmime joins it to that field, mailparse (like Python's
		// email package) starts the body there. Both keep the field.
		lostSeparator := strings.HasPrefix(norm(o.subject), norm(it.Subject)+" ") && strings.Contains(body.Content, strings.TrimPrefix(norm(o.subject), norm(it.Subject)+" "))
		if norm(it.Subject) != norm(o.subject) && o.err == nil && !lostSeparator {
			t.Errorf("%s: subject %q, oracle %q", s.name, it.Subject, o.subject)
		}
		// Attachments: every one the oracle decodes, by name and SHA-256.
		have := map[string][]string{}
		for _, a := range it.Attachments {
			have[a.Name] = append(have[a.Name], a.SHA256)
		}
		equal := true
		for name, sum := range o.attachments {
			if !contains(have[name], sum) {
				equal = false
				t.Errorf("%s: attachment %q (sha256 %s…) missing or different; target has %v", s.name, name, sum[:12], keysOf(have))
			}
		}
		if equal {
			product.attachmentsEqual++
			alt.attachmentsEqual++
		}
		// Received date and flags.
		if !it.ReceivedDateTime.Equal(s.meta.InternalDate.UTC().Truncate(time.Second)) {
			t.Errorf("%s: received %v, INTERNALDATE %v", s.name, it.ReceivedDateTime, s.meta.InternalDate)
		}
		f := want[s.meta.UID]
		if it.IsRead != f.Seen || (it.FlagStatus == "flagged") != f.Flagged || it.Answered != f.Answered || it.IsDraft {
			t.Errorf("%s: read %v flagged %s answered %v draft %v; source %+v", s.name, it.IsRead, it.FlagStatus, it.Answered, it.IsDraft, f)
		}
	}
	if len(dump.Messages) != len(msgs) {
		t.Errorf("the target holds %d items for %d messages", len(dump.Messages), len(msgs))
	}
	t.Logf("product (mailparse + go-message): %d messages, %d readable body, %d attachments equal to the oracle's, %d stored whole",
		product.messages, product.readable, product.attachmentsEqual, product.storedWhole)
	t.Logf("oracle (enmime): %d messages, %d readable body, %d failed to parse", alt.messages, alt.readable, alt.storedWhole)
	for _, w := range whole {
		t.Logf("stored whole as original.eml: %s", w)
	}
}

// binary says a body holds control characters: a binary part shown as
// text, whose words depend on the charset each parser guesses.
func binary(s string) bool {
	for _, r := range s {
		if r < ' ' && r != '\t' && r != '\r' && r != '\n' {
			return true
		}
	}
	return false
}

func hasNote(notes []string, n string) bool {
	for _, x := range notes {
		if x == n {
			return true
		}
	}
	return false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func keysOf(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func trunc(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// flagsOf is the system flags among the IMAP flags in (keywords aside).
func flagsOf(in []string) migrate.Flags {
	has := func(flag string) bool {
		return slices.ContainsFunc(in, func(f string) bool { return strings.EqualFold(f, flag) })
	}
	return migrate.Flags{Seen: has(`\Seen`), Flagged: has(`\Flagged`), Answered: has(`\Answered`)}
}

type memBody []byte

func (b memBody) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
func (b memBody) Size() int64                  { return int64(len(b)) }
func (b memBody) Close() error                 { return nil }
