package migrate_test

// The engine over imapsrc against a bare IMAP4rev1 server (go-imap's
// imapmemserver with no extension: no CONDSTORE, ESEARCH, MOVE, UIDPLUS,
// NAMESPACE, LIST-STATUS or SPECIAL-USE), and the proof that the engine's
// fake source answers like imapsrc there.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/migrate/sourcetest"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/memimap"
)

// bareServer is imapmemserver announcing only IMAP4rev1 on loopback.
type bareServer struct{ *memimap.Server }

func startBareServer(t testing.TB) bareServer {
	return bareServer{memimap.Start(t, memimap.Options{UserPrefix: "bare"})}
}

func (b bareServer) connector(t testing.TB) *imapsrc.Connector {
	c, err := imapsrc.New(imapsrc.Config{Host: b.Host, Port: b.Port, Security: imapsrc.SecurityNone, SpoolDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSource_FakeAndImapsrcAgreeOnBareServer: the same calls give the same
// answers from the engine's fake (bare mode) and from imapsrc on a server
// without CONDSTORE, ESEARCH and MOVE, through initial reads, a client's
// changes without MOVE (flags both ways, new mail, expunge, COPY+EXPUNGE,
// new folder, rename) and a UIDVALIDITY reset.
func TestSource_FakeAndImapsrcAgreeOnBareServer(t *testing.T) {
	bare := startBareServer(t)
	fake := newFakeBackend(true)
	sourcetest.Compare(t,
		sourcetest.Subject{Name: "fake source", Connector: fake, Backend: fake},
		sourcetest.Subject{Name: "imapsrc on bare IMAP4rev1", Connector: bare.connector(t), Backend: sourcetest.IMAPBackend(bare)})
}

// TestBareIMAP_IncrementalReplaysEveryKindOfChange: on a server without
// CONDSTORE, ESEARCH and MOVE every incremental pass succeeds and carries
// every kind of change, with exactly the writes it needs.
func TestBareIMAP_IncrementalReplaysEveryKindOfChange(t *testing.T) {
	bare := startBareServer(t)
	login := bare.NewUser(t)
	sd := sourcetest.IMAPBackend(bare).Seeder(t, login)
	defer sd.Close()
	day := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	for _, f := range []string{"Gesendet", "Projekte", "Projekte/Alt"} {
		sd.Create(t, f)
	}
	var inbox []uint32
	for i := range 6 {
		inbox = append(inbox, sd.Append(t, "INBOX", sourcetest.Message(fmt.Sprintf("inbox %d", i), "x"), []string{`\Seen`}, day.Add(time.Duration(i)*time.Hour)))
	}
	sd.Append(t, "Gesendet", sourcetest.Message("sent 0", "x"), []string{`\Seen`}, day)
	sd.Append(t, "Projekte/Alt", sourcetest.Message("alt 0", "x"), nil, day)
	sd.Append(t, "Projekte/Alt", sourcetest.Message("alt 1", "x"), nil, day)

	addr := login.UserName + "@contoso.example"
	tgt := memtarget.New(addr)
	st := statetest.MustOpen(t)
	h := newHarnessWith(t, st, bare.connector(t), tgt, 5, nil)
	h.startBatch("bare", state.BatchOptions{MigrateDeletedItems: true, SyncInterval: time.Hour}, batchUser{addr, login.UserName, login.Password})
	h.waitUser(addr, model.UserSynced)
	box := tgt.Box(addr)
	if n := len(box.Items()); n != 9 {
		t.Fatalf("initial sync: %d items, want 9", n)
	}
	item := func(subject string) (memtarget.Item, bool) {
		key := migrate.HeaderHash(migrate.HeaderBlock(sourcetest.Message(subject, "x")))
		for _, it := range box.Items() {
			if strings.Split(it.Key, "#")[0] == key {
				return it, true
			}
		}
		return memtarget.Item{}, false
	}
	// A pass with nothing changed writes nothing (it scans every folder's
	// flags: without CONDSTORE nothing else tells a flag change).
	before := box.Counts()
	syncPass(t, h, addr)
	if c := box.Counts(); c != before {
		t.Fatalf("a pass without changes wrote %+v → %+v", before, c)
	}

	moved, _ := item("inbox 1")
	sd.Append(t, "INBOX", sourcetest.Message("new mail", "x"), nil, day.Add(24*time.Hour)) // new
	sd.Expunge(t, "INBOX", inbox[0])                                                       // hard delete
	sd.Copy(t, "INBOX", inbox[1], "Projekte")                                              // move without MOVE
	sd.Expunge(t, "INBOX", inbox[1])
	sd.SetFlags(t, "INBOX", inbox[2], []string{`\Flagged`})          // \Seen off, \Flagged on
	sd.SetFlags(t, "INBOX", inbox[3], []string{`\Seen`, `\Flagged`}) // \Flagged on
	sd.Create(t, "Neu")                                              // a new folder with mail
	sd.Append(t, "Neu", sourcetest.Message("neu 0", "x"), nil, day)
	before = box.Counts()
	syncPass(t, h, addr)
	after := box.Counts()
	if d := (memtarget.Counts{Creates: after.Creates - before.Creates, Moves: after.Moves - before.Moves,
		Deletes: after.Deletes - before.Deletes, Patches: after.Patches - before.Patches}); d != (memtarget.Counts{Creates: 2, Moves: 1, Deletes: 1, Patches: 2}) {
		t.Errorf("writes in the delta: %+v, want 2 creates, 1 move, 1 delete, 2 flag updates", d)
	}
	if _, ok := item("inbox 0"); ok {
		t.Error("the expunged message is still in the target")
	}
	if it, ok := box.Item(moved.ID); !ok || it.Folder != box.FolderByName("Projekte") {
		t.Errorf("the message moved by COPY+EXPUNGE: %+v, want the same item in Projekte", it)
	}
	if it, _ := item("inbox 2"); it.Flags.Seen || !it.Flags.Flagged {
		t.Errorf("inbox 2 flags %+v, want unread and flagged", it.Flags)
	}
	if it, _ := item("inbox 3"); !it.Flags.Seen || !it.Flags.Flagged {
		t.Errorf("inbox 3 flags %+v, want read and flagged", it.Flags)
	}
	if it, ok := item("neu 0"); !ok || it.Folder != box.FolderByName("Neu") {
		t.Errorf("the new folder's mail: %+v %v", it, ok)
	}
	// Flags back: unflag and read again.
	sd.SetFlags(t, "INBOX", inbox[2], []string{`\Seen`})
	syncPass(t, h, addr)
	if it, _ := item("inbox 2"); !it.Flags.Seen || it.Flags.Flagged {
		t.Errorf("inbox 2 flags %+v after the way back, want read and not flagged", it.Flags)
	}

	// A folder renamed: the target folder is renamed, nothing copied.
	alt, _ := item("alt 0")
	sd.Rename(t, "Projekte/Alt", "Projekte/Archiv 2019")
	before = box.Counts()
	syncPass(t, h, addr)
	if c := box.Counts(); c.Creates != before.Creates || c.Renames != before.Renames+1 {
		t.Errorf("rename: %+v → %+v, want one rename and no create", before, c)
	}
	if it, ok := box.Item(alt.ID); !ok || it.Folder != box.FolderByName("Archiv 2019") {
		t.Errorf("after the rename: %+v %v", it, ok)
	}

	// A UIDVALIDITY reset (the folder deleted and created with the same
	// mail): nothing copied twice.
	sd.Delete(t, "Gesendet")
	sd.Create(t, "Gesendet")
	sd.Append(t, "Gesendet", sourcetest.Message("sent 0", "x"), []string{`\Seen`}, day)
	before = box.Counts()
	syncPass(t, h, addr)
	if c := box.Counts(); c.Creates != before.Creates || box.Duplicates() != 0 {
		t.Errorf("UIDVALIDITY reset: %+v → %+v, %d duplicates", before, c, box.Duplicates())
	}

	// A restart between passes changes nothing.
	h.stop()
	h2 := newHarnessWith(t, st, bare.connector(t), tgt, 5, nil)
	before = box.Counts()
	u := syncPass(t, h2, addr)
	if c := box.Counts(); c != before {
		t.Errorf("a pass after a restart wrote %+v → %+v", before, c)
	}
	if box.Duplicates() != 0 || u.LastError != "" {
		t.Errorf("duplicates %d, last error %q", box.Duplicates(), u.LastError)
	}
}

// syncPass runs one incremental pass and fails the test as soon as the pass
// fails (a retry loop or a failed user), instead of waiting for Synced.
func syncPass(t *testing.T, h *harness, email string) state.User {
	t.Helper()
	before, _ := h.st.User(email)
	if err := h.eng.SyncNowUser(context.Background(), email); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		u, _ := h.st.User(email)
		if u.LastSuccessfulSyncTime.After(before.LastSuccessfulSyncTime) && u.Status == model.UserSynced && !h.eng.Running(email) {
			return u
		}
		if u.Status == model.UserFailed || u.LastError != "" && u.LastError != before.LastError {
			t.Fatalf("the pass failed: %s: %s", u.Status, u.LastError)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pass of %s did not finish: %s %s", email, u.Status, u.LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startOldHoster starts a Dovecot of its own with ProfileOldHoster for one
// test (its per-user connection limit must not be shared), stopped at the
// test's end.
func startOldHoster(tb testing.TB) *dovecot.Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := dovecot.Start(ctx, dovecot.Options{Profile: dovecot.ProfileOldHoster})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Stop() })
	return srv
}

// TestSource_FakeAndImapsrcAgreeOnOldHosterDovecot: the same comparison
// against a real Dovecot configured as an old hoster (IMAP4rev1 LITERAL+
// SASL-IR LOGIN-REFERRALS IDLE NAMESPACE UIDPLUS CHILDREN UNSELECT,
// "INBOX." prefix and "." separator).
func TestSource_FakeAndImapsrcAgreeOnOldHosterDovecot(t *testing.T) {
	srv := startOldHoster(t)
	conn, err := imapsrc.New(imapsrc.Config{Host: srv.Host, Port: srv.Port, Security: imapsrc.SecurityTLS, RootCAs: srv.CertPool,
		SpoolDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeBackend(true)
	sourcetest.Compare(t,
		sourcetest.Subject{Name: "fake source", Connector: fake, Backend: fake},
		sourcetest.Subject{Name: "imapsrc on old-hoster Dovecot", Connector: conn, Backend: sourcetest.IMAPBackend(dovecot.SuiteServer{Srv: srv, Layout: dovecot.LayoutINBOXDot})})
}

// BenchmarkDelta_NoChange100kNoCondStore is BenchmarkDelta_NoChange100k on
// the old-hoster Dovecot (no CONDSTORE, ESEARCH or LIST-STATUS): every
// pass reads every message's flags (UID SEARCH ALL and UID FETCH (UID
// FLAGS) in chunks of 5,000) and writes nothing.
func BenchmarkDelta_NoChange100kNoCondStore(b *testing.B) {
	n := benchMessages(100000)
	srv := startOldHoster(b)
	u := srv.MustNewUser(b, "bench", dovecot.LayoutINBOXDot)
	seedBig(b, srv, u.Name, n)
	start := time.Now()
	w, addr := newDovecotWorld(b, srv, u, worldOptions{})
	w.h.waitUserFor(addr, 30*time.Minute, model.UserSynced)
	b.Logf("initial sync of %d messages without CONDSTORE: %s", n, time.Since(start))
	benchNoChange(b, w, addr)
}
