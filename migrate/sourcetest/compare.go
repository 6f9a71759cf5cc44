package sourcetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// Subject is one Source under Compare: a connector and the backend it reads.
type Subject struct {
	Name      string
	Connector migrate.SourceConnector
	Backend   Backend
}

// Compare runs the same scripted session (seed, read, change the mailbox
// as a mail client without MOVE would, read again) against a and b and
// fails on the first answer that differs. Folders a new user already has
// (a server's defaults) are left out. Answers are compared as the
// engine uses them: UIDVALIDITY and MODSEQ values only as "same/changed"
// and "zero/non-zero", flags case-insensitively.
func Compare(t *testing.T, a, b Subject) {
	ta, tb := Transcript(t, a), Transcript(t, b)
	for i := 0; i < max(len(ta), len(tb)); i++ {
		var la, lb string
		if i < len(ta) {
			la = ta[i]
		}
		if i < len(tb) {
			lb = tb[i]
		}
		if la != lb {
			t.Fatalf("answers differ at line %d:\n%s: %s\n%s: %s\n(%d lines agreed before)", i+1, a.Name, la, b.Name, lb, i)
		}
	}
	t.Logf("%s and %s gave the same %d answers", a.Name, b.Name, len(ta))
}

// Transcript runs the script of Compare and returns its answers.
func Transcript(t *testing.T, s Subject) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	login := s.Backend.NewUser(t)
	sd := s.Backend.Seeder(t, login)
	defer sd.Close()
	src, err := s.Connector.Connect(ctx, login)
	if err != nil {
		t.Fatalf("%s: Connect: %v", s.Name, err)
	}
	r := &recorder{t: t, ctx: ctx, src: src, sd: sd, conn: s.Connector, login: login, validity: map[string]uint32{}}
	defer func() { r.src.Close() }()
	r.script()
	return r.out
}

type recorder struct {
	t        *testing.T
	ctx      context.Context
	conn     migrate.SourceConnector
	login    migrate.Login
	src      migrate.Source
	sd       Seeder
	out      []string
	validity map[string]uint32 // first UIDVALIDITY seen per path
	listed   map[string]migrate.Folder
	// baseline are the folders a new user has before the script (a
	// server's default folders): left out of the answers.
	baseline map[string]bool
}

func (r *recorder) say(format string, args ...any) {
	r.out = append(r.out, fmt.Sprintf(format, args...))
}

func (r *recorder) name(path ...string) string {
	if len(path) == 1 && path[0] == "INBOX" {
		return "INBOX"
	}
	return r.sd.Prefix() + strings.Join(path, string(r.sd.Delim()))
}

// errClass is what the engine distinguishes about an error.
func errClass(err error) string {
	if err == nil {
		return "ok"
	}
	var cls []string
	for _, s := range []error{migrate.ErrFolderGone, migrate.ErrUIDValidityChanged, migrate.ErrMessageGone, migrate.ErrNoCondStore} {
		if errors.Is(err, s) {
			cls = append(cls, s.Error())
		}
	}
	return fmt.Sprintf("error kind=%v %v", migrate.KindOf(err), cls)
}

func nz[T comparable](v T) bool { var zero T; return v != zero }

func (r *recorder) folders() {
	fs, err := r.src.Folders(r.ctx)
	if err != nil {
		r.t.Fatalf("Folders: %v", err)
	}
	r.listed = map[string]migrate.Folder{}
	slices.SortFunc(fs, func(a, b migrate.Folder) int {
		return strings.Compare(strings.Join(a.Path, "\x00"), strings.Join(b.Path, "\x00"))
	})
	for _, f := range fs {
		p := strings.Join(f.Path, "/")
		r.listed[p] = f
		if r.baseline[p] {
			continue
		}
		v, seen := r.validity[p]
		if !seen {
			r.validity[p] = f.UIDValidity
		}
		r.say("folder %q noselect=%v special=%q messages=%d uidnext=%d uidvalidity-set=%v uidvalidity-changed=%v highestmodseq-set=%v",
			p, f.NoSelect, f.SpecialUse, f.Messages, f.UIDNext, nz(f.UIDValidity), seen && v != f.UIDValidity, nz(f.HighestModSeq))
	}
}

// reconnect replaces the Source by a new one, as the engine's next pass
// would open: Dovecot's list index can hide, from a session that had it
// selected, a folder another session deleted and created again.
func (r *recorder) reconnect() {
	if err := r.src.Close(); err != nil {
		r.t.Fatalf("Close: %v", err)
	}
	src, err := r.conn.Connect(r.ctx, r.login)
	if err != nil {
		r.t.Fatalf("Connect: %v", err)
	}
	r.src = src
}

func (r *recorder) folder(path string) migrate.Folder {
	f, ok := r.listed[path]
	if !ok {
		r.t.Fatalf("folder %q not listed; answers so far:\n%s", path, strings.Join(r.out, "\n"))
	}
	return f
}

func (r *recorder) metas(path string, from uint32) {
	err := r.src.Metas(r.ctx, r.folder(path), from, 0, func(m migrate.MessageMeta) error {
		r.say("meta %s uid=%d flags=%v size=%d hash=%s subject=%q date=%s internal=%s modseq-set=%v",
			path, m.UID, lowerSorted(m.Flags), m.Size, m.HeaderHash, m.Subject, m.Date.UTC().Format(time.RFC3339),
			m.InternalDate.UTC().Format(time.RFC3339), nz(m.ModSeq))
		return nil
	})
	r.say("metas %s from %d: %s", path, from, errClass(err))
}

func (r *recorder) changed(path string, modseq uint64) {
	err := r.src.ChangedSince(r.ctx, r.folder(path), modseq, func(m migrate.MessageMeta) error {
		r.say("changed %s uid=%d flags=%v", path, m.UID, lowerSorted(m.Flags))
		return nil
	})
	r.say("changedsince %s: %s", path, errClass(err))
}

func (r *recorder) uids(path string) {
	u, err := r.src.UIDs(r.ctx, r.folder(path))
	r.say("uids %s = %v: %s", path, u, errClass(err))
}

func (r *recorder) fetch(path string, uid uint32) {
	b, err := r.src.Fetch(r.ctx, r.folder(path), uid)
	if err != nil {
		r.say("fetch %s %d: %s", path, uid, errClass(err))
		return
	}
	defer b.Close()
	rc, err := b.Open()
	if err != nil {
		r.t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	r.say("fetch %s %d: %d bytes sha256 %x size %d: %s", path, uid, n, h.Sum(nil)[:8], b.Size(), errClass(err))
}

func (r *recorder) script() {
	t, sd := r.t, r.sd
	fs, err := r.src.Folders(r.ctx)
	if err != nil {
		t.Fatalf("Folders: %v", err)
	}
	r.baseline = map[string]bool{}
	for _, f := range fs {
		if p := strings.Join(f.Path, "/"); p != "INBOX" {
			r.baseline[p] = true
		}
	}
	d := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	sd.Create(t, r.name("Projekte"))
	sd.Create(t, r.name("Projekte", "2019"))
	sd.Create(t, r.name("Archiv"))
	m1 := sd.Append(t, "INBOX", Message("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= eins", "a"), []string{`\Seen`}, d)
	m2 := sd.Append(t, "INBOX", Message("zwei", "b"), []string{`\Flagged`, "$Work"}, d.Add(time.Hour))
	m3 := sd.Append(t, "INBOX", Message("drei", strings.Repeat("c\r\n", 3000)), nil, d.Add(2*time.Hour))
	sd.Append(t, r.name("Projekte", "2019"), Message("vier", "d"), []string{`\Answered`}, d)
	sd.Append(t, r.name("Projekte", "2019"), Message("vier", "d"), nil, d) // an exact duplicate
	r.folders()
	inbox := r.folder("INBOX")
	r.metas("INBOX", 1)
	r.metas("Projekte/2019", 1)
	r.changed("INBOX", 0)
	r.uids("INBOX")
	r.fetch("INBOX", m3)

	// What a client without MOVE does between two passes.
	sd.SetFlags(t, "INBOX", m1, nil)
	sd.SetFlags(t, "INBOX", m3, []string{`\Seen`, `\Flagged`})
	m5 := sd.Append(t, "INBOX", Message("fünf", "e"), nil, d.Add(3*time.Hour))
	sd.Expunge(t, "INBOX", m2)
	sd.Copy(t, "INBOX", m3, r.name("Archiv"))
	sd.Expunge(t, "INBOX", m3)
	sd.Create(t, r.name("Neu"))
	sd.Append(t, r.name("Neu"), Message("sechs", "f"), nil, d)
	sd.Rename(t, r.name("Projekte", "2019"), r.name("Projekte", "2020"))

	r.folders()
	r.changed("INBOX", inbox.HighestModSeq)
	r.metas("INBOX", inbox.UIDNext)
	r.uids("INBOX")
	r.metas("Archiv", 1)
	r.metas("Neu", 1)
	r.metas("Projekte/2020", 1)
	r.fetch("INBOX", m5)
	r.fetch("INBOX", m2)
	r.uids("Archiv")

	// A folder deleted and created again: a new UIDVALIDITY.
	old := r.folder("Neu")
	sd.Delete(t, r.name("Neu"))
	r.listed["Neu"] = old
	r.metas("Neu", 1)
	sd.Create(t, r.name("Neu"))
	r.reconnect()
	r.folders()
	r.listed["Neu-old"] = old
	r.metas("Neu-old", 1)
	r.changed("Neu-old", 0)
	r.metas("Neu", 1)
}
