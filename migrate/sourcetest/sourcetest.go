// Package sourcetest is the conformance suite every migrate.Source must pass
// (in the style of rclone's fstests): Run seeds a real IMAP server through
// an admin IMAP session and checks what the Source reports.
//
// The suite asserts the contract documented on migrate.Source, the one the
// engine relies on, with and without each capability: it runs against
// imapsrc on real servers (full Dovecot, bare IMAP4rev1 servers) and
// against the engine's own fake source, so the two cannot disagree.
// Compare runs one scripted session against two Sources and requires the
// same answers.
//
// It must not depend on any particular Source implementation, and it never
// mocks the server: the caller provides a real one (Dovecot, imapmemserver)
// through IMAPBackend, or the fake itself as a Backend.
package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/migrate"
)

// Server is the IMAP server under test.
type Server interface {
	// NewUser creates a fresh, empty mailbox and returns its login as the
	// Connector must use it.
	NewUser(t testing.TB) migrate.Login
	// Admin returns a logged-in IMAP session on login's mailbox for seeding.
	// Run logs it out.
	Admin(t testing.TB, login migrate.Login) *imapclient.Client
}

// Options configure Run.
type Options struct {
	Connector migrate.SourceConnector
	// Server is a real IMAP server; Backend, when Server is nil, is any
	// other backend (the engine's fake).
	Server  Server
	Backend Backend
	// CondStore: the server has CONDSTORE, so folders report HIGHESTMODSEQ,
	// metas their MODSEQ, and ChangedSince(modseq) reports exactly the
	// changed messages; otherwise HighestModSeq and ModSeq are 0 and
	// ChangedSince reports every message.
	CondStore bool
	// SpecialUse: the server marks its Sent folder (named "Sent") \Sent.
	SpecialUse bool
}

// Run runs the suite.
func Run(t *testing.T, opts Options) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"Folders_Seeded", testFoldersSeeded},
		{"Folders_SpecialUse", testFoldersSpecialUse},
		{"Metas_Fields", testMetasFields},
		{"Metas_Range", testMetasRange},
		{"Metas_Duplicates", testMetasDuplicates},
		{"Metas_CallbackError", testMetasCallbackError},
		{"UIDs_AfterExpunge", testUIDsAfterExpunge},
		{"Fetch_RoundTrip", testFetchRoundTrip},
		{"Fetch_Expunged", testFetchExpunged},
		{"ChangedSince", testChangedSince},
		{"ChangedSince_FlagsRemoved", testChangedSinceRemoved},
		{"MoveByCopyExpunge", testMoveByCopyExpunge},
		{"Folder_Renamed", testFolderRenamed},
		{"Folder_Gone", testFolderGone},
		{"UIDValidity_Reset", testUIDValidityReset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, opts)
			tc.fn(t, e)
		})
	}
}

type env struct {
	opts  Options
	login migrate.Login
	seed  Seeder
	delim rune
	src   migrate.Source
	ctx   context.Context
}

func (o Options) backend() Backend {
	if o.Server != nil {
		return IMAPBackend(o.Server)
	}
	return o.Backend
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &env{opts: opts, ctx: ctx}
	b := opts.backend()
	e.login = b.NewUser(t)
	e.seed = b.Seeder(t, e.login)
	t.Cleanup(e.seed.Close)
	e.delim = e.seed.Delim()
	src, err := opts.Connector.Connect(ctx, e.login)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	e.src = src
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// name is the server name of a folder path below the personal namespace.
func (e *env) name(path ...string) string {
	if len(path) == 1 && strings.EqualFold(path[0], "INBOX") {
		return "INBOX"
	}
	return e.seed.Prefix() + strings.Join(path, string(e.delim))
}

// Message builds a CRLF message whose header is unique per subject.
func Message(subject string, body string) []byte {
	return []byte("From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: " + subject +
		"\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") +
		"@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
}

func (e *env) create(t *testing.T, path ...string) { t.Helper(); e.seed.Create(t, e.name(path...)) }

func (e *env) append(t *testing.T, folder string, raw []byte, flags []string, date time.Time) uint32 {
	t.Helper()
	return e.seed.Append(t, e.name(folder), raw, flags, date)
}

func (e *env) expunge(t *testing.T, folder string, uids ...uint32) {
	t.Helper()
	e.seed.Expunge(t, e.name(folder), uids...)
}

func (e *env) folders(t *testing.T) []migrate.Folder {
	t.Helper()
	fs, err := e.src.Folders(e.ctx)
	if err != nil {
		t.Fatalf("Folders: %v", err)
	}
	return fs
}

func (e *env) folder(t *testing.T, path ...string) migrate.Folder {
	t.Helper()
	fs := e.folders(t)
	for _, f := range fs {
		if slices.Equal(f.Path, path) {
			return f
		}
	}
	var got []string
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%q", f.Path))
	}
	t.Fatalf("folder %q not listed; got %s", path, strings.Join(got, " "))
	return migrate.Folder{}
}

func (e *env) metas(t *testing.T, f migrate.Folder, from, to uint32) []migrate.MessageMeta {
	t.Helper()
	var out []migrate.MessageMeta
	if err := e.src.Metas(e.ctx, f, from, to, func(m migrate.MessageMeta) error {
		out = append(out, m)
		return nil
	}); err != nil {
		t.Fatalf("Metas(%q, %d, %d): %v", f.Name, from, to, err)
	}
	return out
}

func uidsOf(ms []migrate.MessageMeta) []uint32 {
	out := make([]uint32, len(ms))
	for i, m := range ms {
		out[i] = m.UID
	}
	return out
}

func testFoldersSeeded(t *testing.T, e *env) {
	names := map[string][]string{
		"Projekte":           {"Projekte"},
		"Projekte/2019":      {"Projekte", "2019"},
		"Gelöschte Elemente": {"Gelöschte Elemente"},
		"Entwürfe/日本語 & Co":  {"Entwürfe", "日本語 & Co"},
	}
	e.create(t, "Projekte")
	e.create(t, "Entwürfe")
	for _, path := range names {
		e.create(t, path...)
	}
	e.seed.Append(t, e.name("Projekte", "2019"), Message("one", "x"), nil, time.Now())
	e.seed.Append(t, e.name("Projekte", "2019"), Message("two", "y"), nil, time.Now())
	n := 0
	for _, f := range e.folders(t) {
		if slices.Equal(f.Path, []string{"INBOX"}) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("INBOX listed %d times, want once", n)
	}
	inbox := e.folder(t, "INBOX")
	if inbox.NoSelect || inbox.UIDValidity == 0 {
		t.Errorf("INBOX = %+v, want selectable with UIDVALIDITY", inbox)
	}
	for name, path := range names {
		f := e.folder(t, path...)
		if f.Delimiter != e.delim {
			t.Errorf("%q: Delimiter %q, want %q", name, f.Delimiter, e.delim)
		}
		if f.UIDValidity == 0 || f.UIDNext == 0 {
			t.Errorf("%q: status missing: %+v", name, f)
		}
		if e.opts.CondStore && f.HighestModSeq == 0 {
			t.Errorf("%q: HighestModSeq 0 on a CONDSTORE server", name)
		}
		if !e.opts.CondStore && f.HighestModSeq != 0 {
			t.Errorf("%q: HighestModSeq %d without CONDSTORE", name, f.HighestModSeq)
		}
	}
	f := e.folder(t, "Projekte", "2019")
	if f.Messages != 2 {
		t.Errorf("Projekte/2019: Messages %d, want 2", f.Messages)
	}
	if f.UIDNext < 3 {
		t.Errorf("Projekte/2019: UIDNext %d, want ≥ 3", f.UIDNext)
	}
}

func testFoldersSpecialUse(t *testing.T, e *env) {
	if !e.opts.SpecialUse {
		for _, f := range e.folders(t) {
			if f.SpecialUse != "" {
				t.Logf("%q has %s on a server declared without SPECIAL-USE", f.Name, f.SpecialUse)
			}
		}
		return
	}
	var sent *migrate.Folder
	fs := e.folders(t)
	for i := range fs {
		if fs[i].SpecialUse == `\Sent` {
			sent = &fs[i]
		}
	}
	if sent == nil {
		t.Fatalf("no folder with \\Sent among %+v", fs)
	}
	if sent.Path[len(sent.Path)-1] != "Sent" {
		t.Errorf("\\Sent folder path %q, want …Sent", sent.Path)
	}
}

func testMetasFields(t *testing.T, e *env) {
	d1 := time.Date(2009, 11, 10, 23, 0, 0, 0, time.UTC)
	d2 := time.Date(2021, 2, 3, 4, 5, 6, 0, time.FixedZone("", 3600))
	raw1 := Message("=?UTF-8?B?R3LDvMOfZQ==?= aus Köln", "hallo")
	raw2 := Message("second", strings.Repeat("line\r\n", 1000))
	u1 := e.append(t, "INBOX", raw1, []string{`\Seen`, `\Flagged`, "$Work"}, d1)
	u2 := e.append(t, "INBOX", raw2, []string{`\Answered`, `\Draft`}, d2)
	ms := e.metas(t, e.folder(t, "INBOX"), 1, 0)
	if !slices.Equal(uidsOf(ms), []uint32{u1, u2}) {
		t.Fatalf("UIDs %v, want [%d %d]", uidsOf(ms), u1, u2)
	}
	for i, tc := range []struct {
		raw   []byte
		flags []string
		date  time.Time
		subj  string
	}{
		{raw1, []string{`\Flagged`, `\Seen`, "$Work"}, d1, "Grüße aus Köln"},
		{raw2, []string{`\Answered`, `\Draft`}, d2, "second"},
	} {
		m := ms[i]
		// Flags and keywords are case-insensitive (imapmemserver lowercases
		// keywords).
		got := lowerSorted(m.Flags)
		want := lowerSorted(tc.flags)
		if !slices.Equal(got, want) {
			t.Errorf("UID %d flags %v, want %v (no \\Recent)", m.UID, m.Flags, tc.flags)
		}
		if !m.InternalDate.Equal(tc.date) {
			t.Errorf("UID %d InternalDate %v, want %v", m.UID, m.InternalDate, tc.date)
		}
		if m.Size != int64(len(tc.raw)) {
			t.Errorf("UID %d Size %d, want %d", m.UID, m.Size, len(tc.raw))
		}
		if want := migrate.HeaderHash(migrate.HeaderBlock(tc.raw)); m.HeaderHash != want {
			t.Errorf("UID %d HeaderHash %s, want %s", m.UID, m.HeaderHash, want)
		}
		if m.SourceKey != "" {
			t.Errorf("UID %d SourceKey %q: the engine assigns it", m.UID, m.SourceKey)
		}
		if m.Subject != tc.subj {
			t.Errorf("UID %d Subject %q, want %q", m.UID, m.Subject, tc.subj)
		}
		if m.Date.IsZero() {
			t.Errorf("UID %d Date not decoded", m.UID)
		}
		if e.opts.CondStore && m.ModSeq == 0 {
			t.Errorf("UID %d ModSeq 0 on a CONDSTORE server", m.UID)
		}
		if !e.opts.CondStore && m.ModSeq != 0 {
			t.Errorf("UID %d ModSeq %d without mod-sequences", m.UID, m.ModSeq)
		}
	}
}

func testMetasRange(t *testing.T, e *env) {
	var uids []uint32
	for i := 0; i < 6; i++ {
		uids = append(uids, e.append(t, "INBOX", Message(fmt.Sprintf("r%d", i), "x"), nil, time.Now()))
	}
	f := e.folder(t, "INBOX")
	for _, tc := range []struct {
		name     string
		from, to uint32
		want     []uint32
	}{
		{"All", 1, 0, uids},
		{"FromMiddle", uids[2], 0, uids[2:]},
		{"Bounded", uids[1], uids[3], uids[1:4]},
		{"BeyondLast", uids[5] + 1, 0, nil},
		{"FarBeyondLast", uids[5] + 1000, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := uidsOf(e.metas(t, f, tc.from, tc.to)); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("Metas(%d, %d) = %v, want %v", tc.from, tc.to, got, tc.want)
			}
		})
	}
}

func testMetasDuplicates(t *testing.T, e *env) {
	raw := Message("dup", "same")
	a := e.append(t, "INBOX", raw, nil, time.Now())
	b := e.append(t, "INBOX", raw, nil, time.Now())
	ms := e.metas(t, e.folder(t, "INBOX"), 1, 0)
	if len(ms) != 2 || ms[0].UID != a || ms[1].UID != b {
		t.Fatalf("metas %v, want UIDs %d %d", uidsOf(ms), a, b)
	}
	if ms[0].HeaderHash != ms[1].HeaderHash {
		t.Errorf("identical copies have different header hashes")
	}
}

var errStop = errors.New("sourcetest: stop")

func testMetasCallbackError(t *testing.T, e *env) {
	e.append(t, "INBOX", Message("cb1", "x"), nil, time.Now())
	e.append(t, "INBOX", Message("cb2", "x"), nil, time.Now())
	n := 0
	err := e.src.Metas(e.ctx, e.folder(t, "INBOX"), 1, 0, func(migrate.MessageMeta) error {
		n++
		return errStop
	})
	if !errors.Is(err, errStop) || n != 1 {
		t.Errorf("Metas with failing callback: err %v after %d calls, want errStop after 1", err, n)
	}
	// The source stays usable.
	if got := e.metas(t, e.folder(t, "INBOX"), 1, 0); len(got) != 2 {
		t.Errorf("after callback error: %d metas, want 2", len(got))
	}
}

func testUIDsAfterExpunge(t *testing.T, e *env) {
	var uids []uint32
	for i := 0; i < 5; i++ {
		uids = append(uids, e.append(t, "INBOX", Message(fmt.Sprintf("x%d", i), "x"), nil, time.Now()))
	}
	e.expunge(t, "INBOX", uids[1], uids[3])
	got, err := e.src.UIDs(e.ctx, e.folder(t, "INBOX"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{uids[0], uids[2], uids[4]}; !slices.Equal(got, want) {
		t.Errorf("UIDs = %v, want %v", got, want)
	}
	e.create(t, "Empty")
	got, err = e.src.UIDs(e.ctx, e.folder(t, "Empty"))
	if err != nil || len(got) != 0 {
		t.Errorf("UIDs(Empty) = %v, %v; want none", got, err)
	}
}

func testFetchRoundTrip(t *testing.T, e *env) {
	raw := Message("body", strings.Repeat("0123456789abcdef\r\n", 5000))
	uid := e.append(t, "INBOX", raw, nil, time.Now())
	f := e.folder(t, "INBOX")
	b, err := e.src.Fetch(e.ctx, f, uid)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size() != int64(len(raw)) {
		t.Errorf("Size %d, want %d", b.Size(), len(raw))
	}
	for i := 0; i < 2; i++ {
		r, err := b.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != string(raw) {
			t.Fatalf("read %d: %d bytes, err %v; want the %d raw bytes", i, len(got), err, len(raw))
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Metadata after a fetch: \Seen must not have been set (BODY.PEEK).
	ms := e.metas(t, f, uid, uid)
	if len(ms) != 1 || slices.Contains(ms[0].Flags, `\Seen`) {
		t.Errorf("after Fetch: %+v, want one message without \\Seen", ms)
	}
}

func testFetchExpunged(t *testing.T, e *env) {
	uid := e.append(t, "INBOX", Message("gone", "x"), nil, time.Now())
	f := e.folder(t, "INBOX")
	e.expunge(t, "INBOX", uid)
	b, err := e.src.Fetch(e.ctx, f, uid)
	if err == nil {
		b.Close()
		t.Fatal("Fetch of an expunged UID succeeded")
	}
	if k := migrate.KindOf(err); k != migrate.KindSkipItem || !errors.Is(err, migrate.ErrMessageGone) {
		t.Errorf("Fetch of expunged UID: %v (kind %v), want skip-item wrapping ErrMessageGone", err, k)
	}
}

func (e *env) changed(t *testing.T, f migrate.Folder, modseq uint64) []migrate.MessageMeta {
	t.Helper()
	var got []migrate.MessageMeta
	if err := e.src.ChangedSince(e.ctx, f, modseq, func(m migrate.MessageMeta) error {
		got = append(got, m)
		return nil
	}); err != nil {
		t.Fatalf("ChangedSince(%q, %d): %v", f.Name, modseq, err)
	}
	if !slices.IsSortedFunc(got, func(a, b migrate.MessageMeta) int { return int(a.UID) - int(b.UID) }) {
		t.Errorf("ChangedSince(%q, %d): UIDs not in order: %v", f.Name, modseq, uidsOf(got))
	}
	return got
}

func flagsOf(ms []migrate.MessageMeta, uid uint32) []string {
	for _, m := range ms {
		if m.UID == uid {
			return lowerSorted(m.Flags)
		}
	}
	return nil
}

// testChangedSince: the contract the engine's flag sync relies on. With
// mod-sequences, ChangedSince(HighestModSeq) is empty and after a STORE it
// is exactly the changed message; without, any call reports every
// message's flags (the engine compares them with its state).
func testChangedSince(t *testing.T, e *env) {
	a := e.append(t, "INBOX", Message("c1", "x"), []string{`\Seen`}, time.Now())
	b := e.append(t, "INBOX", Message("c2", "x"), nil, time.Now())
	f := e.folder(t, "INBOX")
	all := e.changed(t, f, 0)
	if !slices.Equal(uidsOf(all), []uint32{a, b}) {
		t.Fatalf("ChangedSince(0) = %v, want every message [%d %d]", uidsOf(all), a, b)
	}
	if got := flagsOf(all, a); !slices.Equal(got, []string{`\seen`}) {
		t.Errorf("ChangedSince(0): UID %d flags %v, want [\\Seen]", a, got)
	}
	for _, m := range all {
		if (m.ModSeq != 0) != e.opts.CondStore {
			t.Errorf("ChangedSince(0): UID %d ModSeq %d (CONDSTORE %v)", m.UID, m.ModSeq, e.opts.CondStore)
		}
	}
	if e.opts.CondStore {
		if got := e.changed(t, f, f.HighestModSeq); len(got) != 0 {
			t.Fatalf("ChangedSince(current) = %v; want nothing", uidsOf(got))
		}
	}
	e.seed.SetFlags(t, "INBOX", b, []string{`\Flagged`})
	got := e.changed(t, f, f.HighestModSeq)
	want := []uint32{a, b} // without mod-sequences: every message
	if e.opts.CondStore {
		want = []uint32{b}
	}
	if !slices.Equal(uidsOf(got), want) {
		t.Fatalf("ChangedSince(%d) after STORE = %v, want %v", f.HighestModSeq, uidsOf(got), want)
	}
	if fl := flagsOf(got, b); !slices.Equal(fl, []string{`\flagged`}) {
		t.Errorf("UID %d flags %v, want [\\Flagged]", b, fl)
	}
	if e.opts.CondStore {
		if got[0].ModSeq <= f.HighestModSeq {
			t.Errorf("UID %d ModSeq %d, want > %d", b, got[0].ModSeq, f.HighestModSeq)
		}
		if f2 := e.folder(t, "INBOX"); f2.HighestModSeq <= f.HighestModSeq {
			t.Errorf("HighestModSeq %d did not grow from %d", f2.HighestModSeq, f.HighestModSeq)
		}
	}
	e.create(t, "Empty")
	if got := e.changed(t, e.folder(t, "Empty"), 0); len(got) != 0 {
		t.Errorf("ChangedSince(Empty) = %v", uidsOf(got))
	}
}

// testChangedSinceRemoved: a flag cleared is reported as clearly as one set.
func testChangedSinceRemoved(t *testing.T, e *env) {
	u := e.append(t, "INBOX", Message("rm", "x"), []string{`\Seen`, `\Flagged`}, time.Now())
	f := e.folder(t, "INBOX")
	e.seed.SetFlags(t, "INBOX", u, nil)
	got := e.changed(t, f, f.HighestModSeq)
	if len(got) != 1 || got[0].UID != u || len(got[0].Flags) != 0 {
		t.Errorf("after clearing every flag: %+v, want UID %d without flags", got, u)
	}
}

// testMoveByCopyExpunge: without MOVE a client moves with COPY and
// EXPUNGE. The Source reports it as the engine needs for a move: the UID
// gone from the source folder, a new UID with the same HeaderHash in the
// destination.
func testMoveByCopyExpunge(t *testing.T, e *env) {
	e.create(t, "Archiv")
	raw := Message("moved", "x")
	u := e.append(t, "INBOX", raw, []string{`\Seen`}, time.Now())
	keep := e.append(t, "INBOX", Message("stays", "x"), nil, time.Now())
	inbox0, arch0 := e.folder(t, "INBOX"), e.folder(t, "Archiv")
	e.seed.Copy(t, "INBOX", u, e.name("Archiv"))
	e.expunge(t, "INBOX", u)
	inbox, arch := e.folder(t, "INBOX"), e.folder(t, "Archiv")
	if inbox.Messages != inbox0.Messages-1 || arch.Messages != arch0.Messages+1 || arch.UIDNext <= arch0.UIDNext {
		t.Errorf("status after the move: INBOX %d→%d, Archiv %d→%d (UIDNEXT %d→%d)", inbox0.Messages, inbox.Messages,
			arch0.Messages, arch.Messages, arch0.UIDNext, arch.UIDNext)
	}
	uids, err := e.src.UIDs(e.ctx, inbox)
	if err != nil || !slices.Equal(uids, []uint32{keep}) {
		t.Errorf("UIDs(INBOX) = %v, %v; want [%d]", uids, err, keep)
	}
	ms := e.metas(t, arch, arch0.UIDNext, 0)
	if len(ms) != 1 || ms[0].HeaderHash != migrate.HeaderHash(migrate.HeaderBlock(raw)) {
		t.Fatalf("new in Archiv: %+v, want the moved message", ms)
	}
	if fl := lowerSorted(ms[0].Flags); !slices.Equal(fl, []string{`\seen`}) {
		t.Errorf("moved message flags %v, want [\\Seen]", fl)
	}
}

// testFolderRenamed: a renamed folder is listed under its new path only,
// with its messages.
func testFolderRenamed(t *testing.T, e *env) {
	e.create(t, "Alt")
	raw := Message("in renamed", "x")
	e.seed.Append(t, e.name("Alt"), raw, nil, time.Now())
	e.seed.Rename(t, e.name("Alt"), e.name("Neu"))
	for _, f := range e.folders(t) {
		if slices.Equal(f.Path, []string{"Alt"}) {
			t.Errorf("old name still listed: %+v", f)
		}
	}
	ms := e.metas(t, e.folder(t, "Neu"), 1, 0)
	if len(ms) != 1 || ms[0].HeaderHash != migrate.HeaderHash(migrate.HeaderBlock(raw)) {
		t.Errorf("renamed folder holds %+v", ms)
	}
}

// testFolderGone: every call on a folder deleted since it was listed wraps
// migrate.ErrFolderGone (the engine looks at it again next pass).
func testFolderGone(t *testing.T, e *env) {
	e.create(t, "Weg")
	u := e.seed.Append(t, e.name("Weg"), Message("weg", "x"), nil, time.Now())
	f := e.folder(t, "Weg")
	e.seed.Delete(t, e.name("Weg"))
	nop := func(migrate.MessageMeta) error { return nil }
	for name, call := range map[string]func() error{
		"Metas":        func() error { return e.src.Metas(e.ctx, f, 1, 0, nop) },
		"ChangedSince": func() error { return e.src.ChangedSince(e.ctx, f, 0, nop) },
		"UIDs":         func() error { _, err := e.src.UIDs(e.ctx, f); return err },
		"Fetch": func() error {
			b, err := e.src.Fetch(e.ctx, f, u)
			if err == nil {
				b.Close()
			}
			return err
		},
	} {
		if err := call(); !errors.Is(err, migrate.ErrFolderGone) {
			t.Errorf("%s on a deleted folder: %v, want ErrFolderGone", name, err)
		}
	}
}

func testUIDValidityReset(t *testing.T, e *env) {
	e.create(t, "Reset")
	e.seed.Append(t, e.name("Reset"), Message("before", "x"), nil, time.Now())
	old := e.folder(t, "Reset")
	e.seed.Delete(t, e.name("Reset"))
	deadline := time.Now().Add(3 * time.Second)
	var now migrate.Folder
	for {
		e.create(t, "Reset")
		now = e.folder(t, "Reset")
		if now.UIDValidity != old.UIDValidity || time.Now().After(deadline) {
			break
		}
		// Servers that derive UIDVALIDITY from the clock need a new second.
		e.seed.Delete(t, e.name("Reset"))
		time.Sleep(300 * time.Millisecond)
	}
	if now.UIDValidity == old.UIDValidity {
		t.Fatalf("UIDVALIDITY unchanged after delete+create: %d", now.UIDValidity)
	}
	if now.Messages != 0 {
		t.Errorf("recreated folder has %d messages", now.Messages)
	}
	nop := func(migrate.MessageMeta) error { return nil }
	if err := e.src.Metas(e.ctx, old, 1, 0, nop); !errors.Is(err, migrate.ErrUIDValidityChanged) {
		t.Errorf("Metas with the old UIDVALIDITY: %v; want ErrUIDValidityChanged", err)
	}
	if err := e.src.ChangedSince(e.ctx, old, 0, nop); !errors.Is(err, migrate.ErrUIDValidityChanged) {
		t.Errorf("ChangedSince with the old UIDVALIDITY: %v; want ErrUIDValidityChanged", err)
	}
	if ms := e.metas(t, now, 1, 0); len(ms) != 0 {
		t.Errorf("Metas of recreated folder: %v", uidsOf(ms))
	}
}

func lowerSorted(fs []string) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = strings.ToLower(f)
	}
	slices.Sort(out)
	return out
}
