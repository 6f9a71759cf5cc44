package migrate_test

// The engine over the real IMAP source against a real Dovecot. The target is
// memtarget here (the engine's decisions are under test); the end-to-end
// tests in cmd/imapmig run the same scenarios through graphdst and the
// Graph emulator.

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/mailgen"
	"github.com/imapmig/imapmig/testenv/testmain"
)

var dc dovecot.Shared

func TestMain(m *testing.M) { testmain.Run(m, &dc, &cy) }

// dovecotWorld is an engine over a Dovecot user and a memtarget.
type dovecotWorld struct {
	h   *harness
	srv *dovecot.Server
	tgt *memtarget.Target
}

// dovecotConnector is imapsrc over srv's implicit-TLS port, spooling to a
// directory of the test's and logging nothing; tweak (if not nil) changes
// the config.
func dovecotConnector(tb testing.TB, srv *dovecot.Server, tweak func(*imapsrc.Config)) *imapsrc.Connector {
	tb.Helper()
	return tlsConnector(tb, srv.Host, srv.TLSPort, srv.CertPool, tweak)
}

// tlsConnector is imapsrc over implicit TLS to host:port (certificates
// from pool), spooling to a directory of the test's and logging nothing;
// tweak (if not nil) changes the config.
func tlsConnector(tb testing.TB, host string, port int, pool *x509.CertPool, tweak func(*imapsrc.Config)) *imapsrc.Connector {
	tb.Helper()
	cfg := imapsrc.Config{Host: host, Port: port, Security: imapsrc.SecuritySSL, RootCAs: pool,
		SpoolDir: tb.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if tweak != nil {
		tweak(&cfg)
	}
	conn, err := imapsrc.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return conn
}

// worldOptions change the parts of a dovecotWorld; each may be nil.
type worldOptions struct {
	source func(*imapsrc.Config)                            // the connector's config
	wrap   func(*imapsrc.Connector) migrate.SourceConnector // the connector as the engine gets it
	engine func(*migrate.Options)                           // the engine's options
}

// newDovecotWorld runs an engine over a fresh store, srv's user u and a
// memtarget with u's address (returned), with u in the started batch "dc".
func newDovecotWorld(tb testing.TB, srv *dovecot.Server, u *dovecot.User, o worldOptions) (*dovecotWorld, string) {
	tb.Helper()
	h, tgt, addr := newIMAPWorld(tb, dovecotConnector(tb, srv, o.source), u.Name, u.Password, o)
	return &dovecotWorld{h: h, srv: srv, tgt: tgt}, addr
}

// newIMAPWorld runs an engine over a fresh store, conn's user (name,
// password) and a memtarget with the user's address (returned), with the
// user in the started batch "dc"; o.source is the caller's to apply.
func newIMAPWorld(tb testing.TB, conn *imapsrc.Connector, name, password string, o worldOptions) (*harness, *memtarget.Target, string) {
	tb.Helper()
	var src migrate.SourceConnector = conn
	if o.wrap != nil {
		src = o.wrap(conn)
	}
	addr := name + "@contoso.example"
	tgt := memtarget.New(addr)
	h := newHarnessWith(tb, statetest.MustOpen(tb), src, tgt, 10, o.engine)
	h.startBatch("dc", state.BatchOptions{MigrateDeletedItems: true, SyncInterval: time.Hour}, batchUser{addr, name, password})
	return h, tgt, addr
}

func TestDovecot_IncrementalReplaysEveryKindOfChange(t *testing.T) {
	srv := dc.Get(t)
	ctx := context.Background()
	u := srv.MustNewUser(t, "inc", dovecot.LayoutSlash)
	mb := mailgen.Generate(mailgen.Options{Seed: 7, Messages: 60})
	if err := srv.Seed(u.Name, mb); err != nil {
		t.Fatal(err)
	}
	w, addr := newDovecotWorld(t, srv, u, worldOptions{})
	tgt := w.tgt
	first := w.h.waitUser(addr, model.UserSynced)
	box := tgt.Box(addr)
	if box.Duplicates() != 0 {
		t.Fatalf("duplicates after the initial sync: %d", box.Duplicates())
	}
	items0 := len(box.Items())
	t.Logf("initial sync: %d items in the target, %d skipped, score %s", items0, first.SkippedItemCount, first.DataConsistencyScore)

	// What the target holds for a source UID in INBOX, by its source key.
	keyOf := func(folder string, uid uint32) string {
		rec, ok, err := w.h.st.Message(addr, folder, uid)
		if err != nil || !ok {
			t.Fatalf("no record for %s/%d: %v", folder, uid, err)
		}
		return rec.SourceKey
	}
	itemOf := func(key string) (memtarget.Item, bool) {
		for _, it := range box.Items() {
			if it.Key == key {
				return it, true
			}
		}
		return memtarget.Item{}, false
	}

	// All kinds of change in one pass.
	newMsg := mailgen.Message{Raw: []byte("From: x@example.org\r\nTo: y@example.org\r\nSubject: fresh\r\nMessage-ID: <fresh@x>\r\n\r\nhello\r\n"),
		InternalDate: time.Date(2025, 7, 1, 9, 0, 0, 0, time.UTC)}
	if _, err := srv.Append(ctx, u.Name, "INBOX", newMsg); err != nil {
		t.Fatal(err)
	}
	uids := inboxUIDs(t, w, addr)
	expunged, moved, reflagged, userDeleted := uids[0], uids[1], uids[2], uids[3]
	expKey, movKey, flagKey, delKey := keyOf("INBOX", expunged), keyOf("INBOX", moved), keyOf("INBOX", reflagged), keyOf("INBOX", userDeleted)
	movedItem, _ := itemOf(movKey)
	delItem, _ := itemOf(delKey)
	box.Remove(delItem.ID) // the user deleted it in Outlook
	if err := srv.Expunge(ctx, u.Name, "INBOX", expunged); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Move(ctx, u.Name, "INBOX", "Projekte", moved); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetFlags(ctx, u.Name, "INBOX", []uint32{reflagged}, []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetFlags(ctx, u.Name, "INBOX", []uint32{userDeleted}, []string{`\Seen`, `\Answered`}); err != nil {
		t.Fatal(err)
	}
	before := box.Counts()
	w.h.syncNow(addr)
	after := box.Counts()

	if _, ok := itemOf(expKey); ok {
		t.Error("the expunged message is still in the target")
	}
	if it, ok := itemOf(movKey); !ok || it.ID != movedItem.ID || it.Folder != box.FolderByName("Projekte") {
		t.Errorf("moved message: %+v, want id %s in Projekte", it, movedItem.ID)
	}
	if it, ok := itemOf(flagKey); !ok || it.Flags.Seen || !it.Flags.Flagged {
		t.Errorf("flag change not replayed: %+v", it.Flags)
	}
	if _, ok := itemOf(delKey); ok {
		t.Error("a message the user deleted in the target was copied again")
	}
	found := false
	for _, it := range box.Items() {
		found = found || it.Received.Equal(newMsg.InternalDate)
	}
	if !found {
		t.Error("the new message was not copied")
	}
	if d := (memtarget.Counts{Creates: 1, Moves: 1, Deletes: 1}); after.Creates-before.Creates != d.Creates ||
		after.Moves-before.Moves != d.Moves || after.Deletes-before.Deletes != d.Deletes {
		t.Errorf("writes in the pass: %+v → %+v, want 1 create, 1 move, 1 delete", before, after)
	}
	if box.Duplicates() != 0 {
		t.Errorf("duplicates: %d", box.Duplicates())
	}

	// UIDVALIDITY reset: recreate a folder on the server, nothing is copied twice.
	if _, err := srv.RecreateFolder(ctx, u.Name, "Projekte"); err != nil {
		t.Fatal(err)
	}
	before = box.Counts()
	projekte := len(box.InFolder(box.FolderByName("Projekte")))
	w.h.syncNow(addr)
	if c := box.Counts(); c.Creates != before.Creates || box.Duplicates() != 0 {
		t.Errorf("UIDVALIDITY reset: %d creates, %d duplicates", c.Creates-before.Creates, box.Duplicates())
	}
	if n := len(box.InFolder(box.FolderByName("Projekte"))); n != projekte || n < 2 {
		t.Errorf("Projekte has %d items after the reset, had %d", n, projekte)
	}
	if c, _ := w.h.st.MessageCount(addr, "Projekte"); c != projekte {
		t.Errorf("state maps %d messages of Projekte after the reset, want %d", c, projekte)
	}

	// A restart of the engine between passes changes nothing.
	w.h.stop()
	h2 := newHarnessWith(t, w.h.st, w.h.src, tgt, 10, nil)
	before = box.Counts()
	h2.syncNow(addr)
	if c := box.Counts(); c != before {
		t.Errorf("a pass after a restart wrote %+v → %+v", before, c)
	}
}

func inboxUIDs(t *testing.T, w *dovecotWorld, addr string) []uint32 {
	t.Helper()
	var uids []uint32
	if err := w.h.st.Messages(addr, "INBOX", func(r state.MessageRecord) error {
		if r.ItemID != "" {
			uids = append(uids, r.UID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(uids) < 4 {
		t.Fatalf("INBOX has only %d copied messages", len(uids))
	}
	return uids
}

// seedBig writes n small messages straight into a user's INBOX.
func seedBig(tb testing.TB, srv *dovecot.Server, user string, n int) {
	tb.Helper()
	bigMessages(tb, user, n, func(msgs []mailgen.Message) error {
		return srv.WriteMaildir(user, []string{"INBOX"}, msgs)
	})
}

// bigMessages makes the n small messages of a big folder of user's and
// hands them to put 10,000 at a time.
func bigMessages(tb testing.TB, user string, n int, put func([]mailgen.Message) error) {
	tb.Helper()
	msgs := make([]mailgen.Message, 0, 10000)
	base := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		raw := fmt.Sprintf("From: sender%d@example.org\r\nTo: %s@example.org\r\nSubject: message %d\r\nMessage-ID: <m%d@bench>\r\nDate: %s\r\n\r\nbody %d\r\n",
			i%97, user, i, i, base.Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z), i)
		var flags []string
		if i%3 == 0 {
			flags = []string{`\Seen`}
		}
		msgs = append(msgs, mailgen.Message{Raw: []byte(raw), InternalDate: base.Add(time.Duration(i) * time.Minute), Flags: flags})
		if len(msgs) == cap(msgs) || i == n-1 {
			if err := put(msgs); err != nil {
				tb.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
}

// benchMessages is n, or IMAPMIG_BENCH_MESSAGES where that is over 1000
// (for a quick run).
func benchMessages(n int) int {
	if v, err := strconv.Atoi(os.Getenv("IMAPMIG_BENCH_MESSAGES")); err == nil && v > 1000 {
		return v
	}
	return n
}

// benchDelta prepares a synced mailbox of n messages (see benchMessages).
func benchDelta(b *testing.B, n int) (*dovecotWorld, string, *dovecot.User) {
	b.Helper()
	n = benchMessages(n)
	srv := dc.Get(b)
	u := srv.MustNewUser(b, "bench", dovecot.LayoutSlash)
	seedBig(b, srv, u.Name, n)
	start := time.Now()
	w, addr := newDovecotWorld(b, srv, u, worldOptions{})
	usr := w.h.waitUserFor(addr, 30*time.Minute, model.UserSynced)
	b.Logf("initial sync of %d messages: %s (%d in the target)", n, time.Since(start), usr.SyncedItemCount)
	return w, addr, u
}

// benchNoChange times delta syncs of addr in which nothing changed and
// fails when one writes to the target.
func benchNoChange(b *testing.B, w *dovecotWorld, addr string) {
	box := w.tgt.Box(addr)
	before := box.Counts()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.h.syncNow(addr)
	}
	b.StopTimer()
	if c := box.Counts(); c != before {
		b.Fatalf("a no-change delta wrote to the target: %+v → %+v", before, c)
	}
	b.ReportMetric(0, "target-writes/op")
}

// BenchmarkDelta_NoChange100k measures a delta sync of a 100,000-message
// mailbox in which nothing changed: one LIST-STATUS round trip, no SELECT,
// no target write.
func BenchmarkDelta_NoChange100k(b *testing.B) {
	w, addr, _ := benchDelta(b, 100000)
	benchNoChange(b, w, addr)
}

// BenchmarkDelta_OnePercentChanged100k changes 1% of a 100,000-message
// mailbox before each delta: 500 flag changes, 250 expunges, 250 new. The
// changes are made in the maildir directly (as a delivery agent and another
// client would), outside the timer: through IMAP they cost Dovecot minutes
// on a folder this size.
func BenchmarkDelta_OnePercentChanged100k(b *testing.B) {
	w, addr, u := benchDelta(b, 100000)
	box := w.tgt.Box(addr)
	dir, err := w.srv.MaildirDir(u.Name, []string{"INBOX"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var writes int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		mutateMaildir(b, w.srv, u.Name, dir, i)
		before := box.Counts()
		b.StartTimer()
		w.h.syncNow(addr)
		b.StopTimer()
		writes += targetWrites(before, box.Counts())
		b.StartTimer()
	}
	reportDeltaWrites(b, box, writes)
}

// targetWrites is the creates, flag patches and deletes from before to
// after.
func targetWrites(before, after memtarget.Counts) int {
	return after.Creates - before.Creates + after.Patches - before.Patches + after.Deletes - before.Deletes
}

// reportDeltaWrites stops the timer, fails when box holds a duplicate and
// reports the target writes of a delta on average.
func reportDeltaWrites(b *testing.B, box *memtarget.Mailbox, writes int) {
	b.StopTimer()
	if box.Duplicates() != 0 {
		b.Fatalf("%d duplicates", box.Duplicates())
	}
	b.ReportMetric(float64(writes)/float64(b.N), "target-writes/op")
}

// mutateMaildir flags 500 messages, deletes 250 and delivers 250 new ones
// in a maildir folder.
func mutateMaildir(b *testing.B, srv *dovecot.Server, user, dir string, round int) {
	b.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "cur"))
	if err != nil {
		b.Fatal(err)
	}
	off := (round * 1000) % (len(entries) - 1000)
	for _, e := range entries[off : off+500] {
		name := e.Name()
		base, info, _ := strings.Cut(name, ":2,")
		if !strings.Contains(info, "F") {
			info = "F" + info
		} else {
			info = strings.ReplaceAll(info, "F", "")
		}
		if err := os.Rename(filepath.Join(dir, "cur", name), filepath.Join(dir, "cur", base+":2,"+sortedLetters(info))); err != nil {
			b.Fatal(err)
		}
	}
	for _, e := range entries[off+500 : off+750] {
		if err := os.Remove(filepath.Join(dir, "cur", e.Name())); err != nil {
			b.Fatal(err)
		}
	}
	var fresh []mailgen.Message
	for j := 0; j < 250; j++ {
		fresh = append(fresh, mailgen.Message{Raw: []byte(fmt.Sprintf("From: a@b.c\r\nSubject: new %d-%d\r\nMessage-ID: <n%d.%d@bench>\r\n\r\nx\r\n", round, j, round, j)),
			InternalDate: time.Now()})
	}
	if err := srv.WriteMaildir(user, []string{"INBOX"}, fresh); err != nil {
		b.Fatal(err)
	}
}

func sortedLetters(s string) string {
	r := []byte(s)
	slices.Sort(r)
	return string(r)
}
