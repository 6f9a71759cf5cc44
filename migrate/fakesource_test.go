package migrate_test

// The engine's fake source under the same conformance suite as imapsrc
// (migrate/sourcetest): the fake must keep the contract of migrate.Source
// that the engine relies on, in a full (CONDSTORE) and a bare IMAP4rev1
// mode, so engine tests on the fake mean the same as on a real server.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/migrate/sourcetest"
)

// fakeBackend serves one fakeServer per user; it is a sourcetest.Backend
// and a migrate.SourceConnector at once.
type fakeBackend struct {
	noCond bool
	mu     sync.Mutex
	users  map[string]*fakeServer
}

func newFakeBackend(noCond bool) *fakeBackend {
	return &fakeBackend{noCond: noCond, users: map[string]*fakeServer{}}
}

func (b *fakeBackend) NewUser(t testing.TB) migrate.Login {
	b.mu.Lock()
	defer b.mu.Unlock()
	name := fmt.Sprintf("fake%d", len(b.users)+1)
	s := newFakeServer()
	s.noCond, s.password = b.noCond, "pw-"+name
	b.users[name] = s
	return migrate.Login{UserName: name, Password: s.password}
}

func (b *fakeBackend) user(name string) *fakeServer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.users[name]
}

func (b *fakeBackend) Seeder(t testing.TB, login migrate.Login) sourcetest.Seeder {
	return fakeSeeder{b.user(login.UserName)}
}

func (b *fakeBackend) Connect(ctx context.Context, l migrate.Login) (migrate.Source, error) {
	s := b.user(l.UserName)
	if s == nil {
		return nil, migrate.FailUser(migrate.ReasonImapAuthenticationFailed, migrate.ErrAuthFailed)
	}
	return s.Connect(ctx, l)
}

// fakeSeeder changes a fake mailbox as a mail client would (no MOVE: a
// move is Copy then Expunge, as on a bare server).
type fakeSeeder struct{ s *fakeServer }

func (fakeSeeder) Delim() rune    { return '/' }
func (fakeSeeder) Prefix() string { return "" }
func (fakeSeeder) Close()         {}

func (f fakeSeeder) must(t testing.TB, name string) *ffolder {
	t.Helper()
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	x := f.s.folders[name]
	if x == nil {
		t.Fatalf("fake: no folder %q", name)
	}
	return x
}

func (f fakeSeeder) Create(t testing.TB, name string) {
	f.s.mu.Lock()
	_, ok := f.s.folders[name]
	f.s.mu.Unlock()
	if !ok {
		f.s.addFolder(name, "")
	}
}

func (f fakeSeeder) Delete(t testing.TB, name string) {
	f.must(t, name)
	f.s.mu.Lock()
	delete(f.s.folders, name)
	f.s.mu.Unlock()
}

func (f fakeSeeder) Rename(t testing.TB, from, to string) {
	f.must(t, from)
	f.s.rename(from, to)
}

func (f fakeSeeder) Append(t testing.TB, folder string, raw []byte, flags []string, date time.Time) uint32 {
	f.must(t, folder)
	return f.s.append(folder, raw, date, flags...)
}

func (f fakeSeeder) SetFlags(t testing.TB, folder string, uid uint32, flags []string) {
	f.must(t, folder)
	f.s.setFlags(folder, uid, flags...)
}

func (f fakeSeeder) Expunge(t testing.TB, folder string, uids ...uint32) {
	f.must(t, folder)
	for _, u := range uids {
		f.s.expunge(folder, u)
	}
}

func (f fakeSeeder) Copy(t testing.TB, folder string, uid uint32, dest string) {
	x := f.must(t, folder)
	f.must(t, dest)
	f.s.mu.Lock()
	var m *fmsg
	for _, c := range x.msgs {
		if c.uid == uid {
			m = c
		}
	}
	f.s.mu.Unlock()
	if m == nil {
		t.Fatalf("fake: no UID %d in %q", uid, folder)
	}
	f.s.append(dest, m.raw, m.date, m.flags...)
}

func TestConformance_FakeSource(t *testing.T) {
	for _, noCond := range []bool{false, true} {
		t.Run(fmt.Sprintf("noCondStore=%v", noCond), func(t *testing.T) {
			b := newFakeBackend(noCond)
			sourcetest.Run(t, sourcetest.Options{Connector: b, Backend: b, CondStore: !noCond})
		})
	}
}

// TestEngine_CapabilityGapIsHandledOrPermanent: a Source that refuses
// CHANGEDSINCE (ErrNoCondStore) still gets its flag changes carried by a
// full flag scan; one that refuses that too fails the user at once with
// ImapCapabilityMissing naming CONDSTORE, never a retry loop.
func TestEngine_CapabilityGapIsHandledOrPermanent(t *testing.T) {
	src, tgt, h := syncedBasic(t, func(src *fakeServer) { src.refuseCondStore = true })
	src.setFlags("INBOX", 3, `\Flagged`)
	h.syncNow("ann@contoso.com")
	flagged := 0
	for _, it := range tgt.Box("ann@contoso.com").Items() {
		if it.Flags.Flagged {
			flagged++
		}
	}
	if flagged != 2 { // the seeded flagged "dup" and UID 3
		t.Errorf("%d flagged items after the fallback scan, want 2", flagged)
	}

	src.mu.Lock()
	src.refuseAll = true
	src.mu.Unlock()
	src.setFlags("INBOX", 4, `\Flagged`)
	if err := h.eng.SyncNowUser(context.Background(), "ann@contoso.com"); err != nil {
		t.Fatal(err)
	}
	u := h.waitUser("ann@contoso.com", model.UserFailed)
	if u.ErrorReason != migrate.ReasonImapCapabilityMissing || !strings.Contains(u.LastError, "CONDSTORE") || u.Failures != 1 {
		t.Errorf("user %s reason %q error %q after %d failures; want Failed at once with %s naming CONDSTORE",
			u.Status, u.ErrorReason, u.LastError, u.Failures, migrate.ReasonImapCapabilityMissing)
	}
}
