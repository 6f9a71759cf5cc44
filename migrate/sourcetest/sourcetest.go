// Package sourcetest is the conformance suite every migrate.Source must pass
// (in the style of rclone's fstests): Run seeds a real IMAP server through
// an admin IMAP session and checks what the Source reports.
//
// It must not depend on any particular Source implementation, and it never
// mocks the server: the caller provides a real one (Dovecot, imapmemserver).
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

	"github.com/emersion/go-imap/v2"
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
	Server    Server
	// CondStore: the server has CONDSTORE, so folders report HIGHESTMODSEQ
	// and ChangedSince works; otherwise ChangedSince must return
	// migrate.ErrNoCondStore.
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
	admin *imapclient.Client
	delim rune
	src   migrate.Source
	ctx   context.Context
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &env{opts: opts, ctx: ctx}
	e.login = opts.Server.NewUser(t)
	e.admin = opts.Server.Admin(t, e.login)
	t.Cleanup(func() { e.admin.Logout().Wait(); e.admin.Close() })
	l, err := e.admin.List("", "", nil).Collect()
	if err != nil || len(l) == 0 {
		t.Fatalf(`LIST "" "": %v %v`, l, err)
	}
	e.delim = l[0].Delim
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

// Message builds a CRLF message whose header is unique per subject.
func Message(subject string, body string) []byte {
	return []byte("From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: " + subject +
		"\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") +
		"@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
}

func (e *env) create(t *testing.T, name string) {
	t.Helper()
	if strings.EqualFold(name, "INBOX") {
		return
	}
	if err := e.admin.Create(name, nil).Wait(); err != nil {
		var ie *imap.Error
		if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeAlreadyExists {
			t.Fatalf("CREATE %q: %v", name, err)
		}
	}
}

func (e *env) append(t *testing.T, folder string, raw []byte, flags []string, date time.Time) uint32 {
	t.Helper()
	fl := make([]imap.Flag, len(flags))
	for i, f := range flags {
		fl[i] = imap.Flag(f)
	}
	a := e.admin.Append(folder, int64(len(raw)), &imap.AppendOptions{Flags: fl, Time: date})
	if _, err := a.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := a.Wait()
	if err != nil {
		t.Fatalf("APPEND to %q: %v", folder, err)
	}
	return uint32(d.UID)
}

func (e *env) expunge(t *testing.T, folder string, uids ...uint32) {
	t.Helper()
	if _, err := e.admin.Select(folder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	if err := e.admin.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.UIDExpunge(set).Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
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
	d := string(e.delim)
	names := map[string][]string{
		"Projekte":                  {"Projekte"},
		"Projekte" + d + "2019":     {"Projekte", "2019"},
		"Gelöschte Elemente":        {"Gelöschte Elemente"},
		"Entwürfe" + d + "日本語 & Co": {"Entwürfe", "日本語 & Co"},
	}
	for name := range names {
		e.create(t, "Projekte")
		e.create(t, "Entwürfe")
		e.create(t, name)
	}
	e.append(t, "Projekte"+d+"2019", Message("one", "x"), nil, time.Now())
	e.append(t, "Projekte"+d+"2019", Message("two", "y"), nil, time.Now())
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
	if k := migrate.KindOf(err); k != migrate.KindSkipItem {
		t.Errorf("Fetch of expunged UID: %v (kind %v), want skip-item", err, k)
	}
}

func testChangedSince(t *testing.T, e *env) {
	a := e.append(t, "INBOX", Message("c1", "x"), nil, time.Now())
	b := e.append(t, "INBOX", Message("c2", "x"), nil, time.Now())
	f := e.folder(t, "INBOX")
	var got []migrate.MessageMeta
	collect := func(m migrate.MessageMeta) error { got = append(got, m); return nil }
	err := e.src.ChangedSince(e.ctx, f, f.HighestModSeq, collect)
	if !e.opts.CondStore {
		if !errors.Is(err, migrate.ErrNoCondStore) {
			t.Errorf("ChangedSince without CONDSTORE: %v, want ErrNoCondStore", err)
		}
		return
	}
	if err != nil || len(got) != 0 {
		t.Fatalf("ChangedSince(current) = %v, %v; want nothing", got, err)
	}
	if _, err := e.admin.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.Store(imap.UIDSetNum(imap.UID(b)), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	e.admin.Unselect().Wait()
	if err := e.src.ChangedSince(e.ctx, f, f.HighestModSeq, collect); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].UID != b || !slices.Contains(got[0].Flags, `\Flagged`) || got[0].ModSeq <= f.HighestModSeq {
		t.Errorf("ChangedSince = %+v, want UID %d \\Flagged with MODSEQ > %d (not %d)", got, b, f.HighestModSeq, a)
	}
	f2 := e.folder(t, "INBOX")
	if f2.HighestModSeq <= f.HighestModSeq {
		t.Errorf("HighestModSeq %d did not grow from %d", f2.HighestModSeq, f.HighestModSeq)
	}
}

func testUIDValidityReset(t *testing.T, e *env) {
	e.create(t, "Reset")
	e.append(t, "Reset", Message("before", "x"), nil, time.Now())
	old := e.folder(t, "Reset")
	if err := e.admin.Delete("Reset").Wait(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	var now migrate.Folder
	for {
		e.create(t, "Reset")
		now = e.folder(t, "Reset")
		if now.UIDValidity != old.UIDValidity || time.Now().After(deadline) {
			break
		}
		// Servers that derive UIDVALIDITY from the clock need a new second.
		e.admin.Delete("Reset").Wait()
		time.Sleep(300 * time.Millisecond)
	}
	if now.UIDValidity == old.UIDValidity {
		t.Fatalf("UIDVALIDITY unchanged after delete+create: %d", now.UIDValidity)
	}
	if now.Messages != 0 {
		t.Errorf("recreated folder has %d messages", now.Messages)
	}
	err := e.src.Metas(e.ctx, old, 1, 0, func(migrate.MessageMeta) error { return nil })
	if err == nil {
		t.Errorf("Metas with the old UIDVALIDITY succeeded; want an error")
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
