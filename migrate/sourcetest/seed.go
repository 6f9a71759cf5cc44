package sourcetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/migrate"
)

// Seeder changes one user's mailbox behind the Source's back, as the user's
// mail client would. Folder names are full server names (with the
// namespace prefix and delimiter, see Prefix and Delim). Every method fails
// the test on error.
type Seeder interface {
	// Delim is the hierarchy delimiter; Prefix the personal namespace
	// prefix ("" or e.g. "INBOX.").
	Delim() rune
	Prefix() string
	Create(t testing.TB, name string)
	Delete(t testing.TB, name string)
	Rename(t testing.TB, from, to string)
	// Append stores a message and returns its UID.
	Append(t testing.TB, folder string, raw []byte, flags []string, date time.Time) uint32
	// SetFlags replaces a message's flags.
	SetFlags(t testing.TB, folder string, uid uint32, flags []string)
	// Expunge removes messages (without touching the others).
	Expunge(t testing.TB, folder string, uids ...uint32)
	// Copy copies a message (IMAP COPY; a move without MOVE is Copy then
	// Expunge).
	Copy(t testing.TB, folder string, uid uint32, dest string)
	Close()
}

// Backend is what the suite runs against: a way to make users and to
// change their mailboxes. A real IMAP server is adapted by IMAPBackend;
// an in-memory fake implements it directly.
type Backend interface {
	NewUser(t testing.TB) migrate.Login
	Seeder(t testing.TB, login migrate.Login) Seeder
}

// IMAPBackend seeds a real server through Server.Admin sessions. It needs
// only IMAP4rev1 (no UIDPLUS, MOVE or NAMESPACE).
func IMAPBackend(s Server) Backend { return imapBackend{s} }

type imapBackend struct{ s Server }

func (b imapBackend) NewUser(t testing.TB) migrate.Login { return b.s.NewUser(t) }

func (b imapBackend) Seeder(t testing.TB, login migrate.Login) Seeder {
	c := b.s.Admin(t, login)
	sd := &imapSeeder{c: c}
	l, err := c.List("", "", nil).Collect()
	if err != nil || len(l) == 0 {
		t.Fatalf(`LIST "" "": %v %v`, l, err)
	}
	sd.delim = l[0].Delim
	if c.Caps().Has(imap.CapNamespace) || c.Caps().Has(imap.CapIMAP4rev2) {
		ns, err := c.Namespace().Wait()
		if err != nil {
			t.Fatalf("NAMESPACE: %v", err)
		}
		if len(ns.Personal) > 0 {
			sd.prefix = ns.Personal[0].Prefix
		}
	}
	return sd
}

type imapSeeder struct {
	c      *imapclient.Client
	delim  rune
	prefix string
}

func (s *imapSeeder) Delim() rune    { return s.delim }
func (s *imapSeeder) Prefix() string { return s.prefix }
func (s *imapSeeder) Close()         { s.c.Logout().Wait(); s.c.Close() }

func (s *imapSeeder) Create(t testing.TB, name string) {
	t.Helper()
	if strings.EqualFold(name, "INBOX") {
		return
	}
	if err := s.c.Create(name, nil).Wait(); err != nil {
		var ie *imap.Error
		// Cyrus answers "NO Mailbox already exists" without the code.
		if !errors.As(err, &ie) || (ie.Code != imap.ResponseCodeAlreadyExists && !strings.Contains(strings.ToLower(ie.Text), "already exists")) {
			t.Fatalf("CREATE %q: %v", name, err)
		}
	}
}

func (s *imapSeeder) Delete(t testing.TB, name string) {
	t.Helper()
	if err := s.c.Delete(name).Wait(); err != nil {
		t.Fatalf("DELETE %q: %v", name, err)
	}
}

func (s *imapSeeder) Rename(t testing.TB, from, to string) {
	t.Helper()
	if err := s.c.Rename(from, to, nil).Wait(); err != nil {
		t.Fatalf("RENAME %q %q: %v", from, to, err)
	}
}

func (s *imapSeeder) uidNext(t testing.TB, folder string) uint32 {
	t.Helper()
	st, err := s.c.Status(folder, &imap.StatusOptions{UIDNext: true}).Wait()
	if err != nil {
		t.Fatalf("STATUS %q: %v", folder, err)
	}
	return uint32(st.UIDNext)
}

func (s *imapSeeder) Append(t testing.TB, folder string, raw []byte, flags []string, date time.Time) uint32 {
	t.Helper()
	before := uint32(0)
	if !s.c.Caps().Has(imap.CapUIDPlus) {
		before = s.uidNext(t, folder)
	}
	fl := make([]imap.Flag, len(flags))
	for i, f := range flags {
		fl[i] = imap.Flag(f)
	}
	a := s.c.Append(folder, int64(len(raw)), &imap.AppendOptions{Flags: fl, Time: date})
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
	if d.UID != 0 {
		return uint32(d.UID)
	}
	// No APPENDUID (no UIDPLUS): this session is the only writer, so the
	// message took the UIDNEXT seen before.
	if after := s.uidNext(t, folder); after != before+1 {
		t.Fatalf("APPEND to %q without APPENDUID: UIDNEXT %d → %d", folder, before, after)
	}
	return before
}

func (s *imapSeeder) selectRW(t testing.TB, folder string) {
	t.Helper()
	if _, err := s.c.Select(folder, nil).Wait(); err != nil {
		t.Fatalf("SELECT %q: %v", folder, err)
	}
}

func (s *imapSeeder) unselect(t testing.TB) {
	t.Helper()
	// CLOSE would expunge; UNSELECT is not IMAP4rev1, EXAMINE of INBOX is.
	if s.c.Caps().Has(imap.CapUnselect) || s.c.Caps().Has(imap.CapIMAP4rev2) {
		if err := s.c.Unselect().Wait(); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := s.c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
}

func (s *imapSeeder) SetFlags(t testing.TB, folder string, uid uint32, flags []string) {
	t.Helper()
	s.selectRW(t, folder)
	fl := make([]imap.Flag, len(flags))
	for i, f := range flags {
		fl[i] = imap.Flag(f)
	}
	if err := s.c.Store(imap.UIDSetNum(imap.UID(uid)), &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: fl}, nil).Close(); err != nil {
		t.Fatalf("STORE %q %d: %v", folder, uid, err)
	}
	s.unselect(t)
}

func (s *imapSeeder) Expunge(t testing.TB, folder string, uids ...uint32) {
	t.Helper()
	s.selectRW(t, folder)
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	if err := s.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.c.Caps().Has(imap.CapUIDPlus) || s.c.Caps().Has(imap.CapIMAP4rev2) {
		err = s.c.UIDExpunge(set).Close()
	} else {
		err = s.c.Expunge().Close() // nothing else is \Deleted in the suite
	}
	if err != nil {
		t.Fatalf("EXPUNGE %q: %v", folder, err)
	}
	s.unselect(t)
}

func (s *imapSeeder) Copy(t testing.TB, folder string, uid uint32, dest string) {
	t.Helper()
	s.selectRW(t, folder)
	if _, err := s.c.Copy(imap.UIDSetNum(imap.UID(uid)), dest).Wait(); err != nil {
		t.Fatalf("COPY %q %d → %q: %v", folder, uid, dest, err)
	}
	s.unselect(t)
}
