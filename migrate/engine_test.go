package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
)

type harness struct {
	t      testing.TB
	eng    *migrate.Engine
	st     *state.Store
	src    migrate.SourceConnector
	tgt    migrate.Target
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, st *state.Store, src *fakeServer, tgt *memtarget.Target, maxConc int, tweak func(*migrate.Options)) *harness {
	t.Helper()
	return newHarnessWith(t, st, src, tgt, maxConc, tweak)
}

// newHarnessWith runs an engine over any source and target.
func newHarnessWith(t testing.TB, st *state.Store, src migrate.SourceConnector, tgt migrate.Target, maxConc int, tweak func(*migrate.Options)) *harness {
	t.Helper()
	statetest.PutEndpoint(t, st, "x", maxConc)
	opts := migrate.Options{
		Store:            st,
		Sources:          func(context.Context, state.Endpoint) (migrate.SourceConnector, error) { return src, nil },
		Targets:          func(context.Context, state.Tenant) (migrate.Target, error) { return tgt, nil },
		RetryBackoff:     time.Millisecond,
		UserRetryBackoff: 10 * time.Millisecond,
		ScanInterval:     20 * time.Millisecond,
		MinScanGap:       time.Millisecond,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if tweak != nil {
		tweak(&opts)
	}
	h := &harness{t: t, eng: migrate.New(opts), st: st, src: src, tgt: tgt, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.eng.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

// newWorld runs an engine over a fresh store, src and a memtarget holding
// the mailboxes.
func newWorld(t testing.TB, src migrate.SourceConnector, maxConc int, tweak func(*migrate.Options), mailboxes ...string) (*harness, *memtarget.Target) {
	t.Helper()
	tgt := memtarget.New(mailboxes...)
	return newHarnessWith(t, statetest.MustOpen(t), src, tgt, maxConc, tweak), tgt
}

func (h *harness) stop() {
	if h.cancel != nil {
		h.cancel()
		<-h.done
		h.cancel = nil
	}
}

// batchUser is one row of a batch's CSV: the target address and the
// source login.
type batchUser struct{ email, userName, password string }

// startBatch creates the batch name of users with opts and starts it.
func (h *harness) startBatch(name string, opts state.BatchOptions, users ...batchUser) {
	h.t.Helper()
	var csv strings.Builder
	csv.WriteString("EmailAddress,UserName,Password\n")
	for _, u := range users {
		fmt.Fprintf(&csv, "%s,%s,%s\n", u.email, u.userName, u.password)
	}
	if _, err := h.eng.CreateBatch(context.Background(), migrate.BatchSpec{Name: name, Endpoint: "ep", Tenant: "tn", CSV: []byte(csv.String()),
		Autostart: true, Options: opts}); err != nil {
		h.t.Fatal(err)
	}
}

// batch starts the batch name of users (each its own source login, password
// "pw"), deleted items included, synced hourly.
func (h *harness) batch(name string, users ...string) {
	h.t.Helper()
	rows := make([]batchUser, 0, len(users))
	for _, u := range users {
		rows = append(rows, batchUser{u, u, "pw"})
	}
	h.startBatch(name, state.BatchOptions{MigrateDeletedItems: true, SyncInterval: time.Hour}, rows...)
}

// waitUser waits until the user reaches one of the statuses.
func (h *harness) waitUser(email string, want ...state.UserStatus) state.User {
	h.t.Helper()
	return h.waitUserFor(email, 30*time.Second, want...)
}

// waitUserFor is waitUser with a time limit.
func (h *harness) waitUserFor(email string, limit time.Duration, want ...state.UserStatus) state.User {
	h.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		u, err := h.st.User(email)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, w := range want {
			if u.Status == w && !h.eng.Running(email) {
				return u
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("user %s is %s (%s), want %v", email, u.Status, u.LastError, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncNow runs one incremental pass of a Synced user and waits for it.
func (h *harness) syncNow(email string) state.User {
	h.t.Helper()
	before, _ := h.st.User(email)
	if err := h.eng.SyncNowUser(context.Background(), email); err != nil {
		h.t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		u, _ := h.st.User(email)
		if u.LastSuccessfulSyncTime.After(before.LastSuccessfulSyncTime) && u.Status == model.UserSynced && !h.eng.Running(email) {
			return u
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("sync now of %s did not finish: %s %s", email, u.Status, u.LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var day0 = time.Date(2021, 3, 1, 12, 0, 0, 0, time.UTC)

func seedBasic(s *fakeServer) {
	s.addFolder("Sent", `\Sent`)
	s.addFolder("Drafts", "")
	s.addFolder("Projects", "")
	s.addFolder("Projects/Alpha", "")
	for i := 0; i < 5; i++ {
		s.append("INBOX", rawMsg(fmt.Sprintf("inbox %d", i), 300), day0.AddDate(0, 0, i), `\Seen`)
	}
	s.append("INBOX", rawMsg("dup", 200), day0, `\Flagged`)
	s.append("INBOX", rawMsg("dup", 200), day0) // an exact duplicate: both are copied
	s.append("Sent", rawMsg("sent 1", 300), day0, `\Seen`)
	s.append("Drafts", rawMsg("draft 1", 300), day0, `\Draft`)
	s.append("Projects/Alpha", rawMsg("alpha 1", 300), day0, "$label2", "$MDNSent")
}

func TestEngine_InitialSyncCopiesEveryFolderOnce(t *testing.T) {
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	seedBasic(src)
	src.append("INBOX", rawMsg("huge", 9000), day0, `\Seen`)
	src.append("INBOX", append(rawMsg("bad", 300), "MALFORMED"...), day0)
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, func(o *migrate.Options) { o.MaxMessageBytes = 5000 })
	h.batch("b", "ann@contoso.com")
	u := h.waitUser("ann@contoso.com", model.UserSynced)

	mb := tgt.Box("ann@contoso.com")
	if n := len(mb.InFolder(migrate.WellKnownInbox)); n != 7 {
		t.Errorf("inbox has %d items, want 7", n)
	}
	if n := len(mb.InFolder(migrate.WellKnownSentItems)); n != 1 {
		t.Errorf("sentitems has %d, want 1", n)
	}
	drafts := mb.InFolder(migrate.WellKnownDrafts)
	if len(drafts) != 1 || !drafts[0].Draft {
		t.Errorf("drafts: %+v", drafts)
	}
	alpha := mb.InFolder(mb.FolderByName("Alpha"))
	if len(alpha) != 1 || len(alpha[0].Flags.Categories) != 1 || alpha[0].Flags.Categories[0] != "Work" {
		t.Errorf("Projects/Alpha: %+v", alpha)
	}
	if d := mb.Duplicates(); d != 0 {
		t.Errorf("%d duplicate keys in the target", d)
	}
	if u.SyncedItemCount != 10 || u.EstimatedTotalCount != 12 || u.SkippedItemCount != 2 {
		t.Errorf("figures: synced %d of %d, skipped %d", u.SyncedItemCount, u.EstimatedTotalCount, u.SkippedItemCount)
	}
	if u.DataConsistencyScore != migrate.ScoreInvestigate {
		t.Errorf("score %q, want Investigate", u.DataConsistencyScore)
	}
	sk, _ := h.st.Skipped("ann@contoso.com")
	reasons := map[string]string{}
	for _, it := range sk {
		reasons[it.Subject] = it.Reason
	}
	if reasons["huge"] != migrate.ReasonMessageTooLarge || reasons["bad"] != migrate.ReasonMalformedMessage {
		t.Errorf("skipped: %+v", sk)
	}
	b, _ := h.eng.Batch("b")
	if b.Status != model.BatchSynced || b.SyncedCount != 1 {
		t.Errorf("batch: %s synced=%d", b.Status, b.SyncedCount)
	}
	// A second pass with nothing changed fetches nothing and writes nothing.
	fetches, creates := src.fetches, mb.Counts().Creates
	h.syncNow("ann@contoso.com")
	if src.fetches != fetches || mb.Counts().Creates != creates || mb.Counts().Patches != 0 || mb.Counts().Deletes != 0 {
		t.Errorf("no-change pass did work: fetches %d→%d creates %d→%d patches %d deletes %d", fetches, src.fetches, creates, mb.Counts().Creates, mb.Counts().Patches, mb.Counts().Deletes)
	}
}

// syncedBasic is ann's basic mailbox (seedBasic) on a fake server, tweaked
// by tweak, migrated once into a memtarget by a harness that runs on.
func syncedBasic(t *testing.T, tweak func(*fakeServer)) (*fakeServer, *memtarget.Target, *harness) {
	t.Helper()
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	if tweak != nil {
		tweak(src)
	}
	seedBasic(src)
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, nil)
	h.batch("b", "ann@contoso.com")
	h.waitUser("ann@contoso.com", model.UserSynced)
	return src, tgt, h
}

func TestEngine_RerunFromEmptyStateNeverDuplicates(t *testing.T) {
	src, tgt, h := syncedBasic(t, nil)
	h.stop()
	mb := tgt.Box("ann@contoso.com")
	creates := mb.Counts().Creates

	// A new state file, a new batch: the target's source keys prevent copies.
	h2 := newHarness(t, statetest.MustOpen(t), src, tgt, 5, nil)
	h2.batch("again", "ann@contoso.com")
	u := h2.waitUser("ann@contoso.com", model.UserSynced)
	if mb.Counts().Creates != creates {
		t.Errorf("re-run created %d messages", mb.Counts().Creates-creates)
	}
	if mb.Duplicates() != 0 {
		t.Errorf("duplicates after re-run: %d", mb.Duplicates())
	}
	if u.SyncedItemCount != int64(len(mb.Items())) || u.DataConsistencyScore != migrate.ScorePerfect {
		t.Errorf("after re-run: synced %d (target has %d), score %s", u.SyncedItemCount, len(mb.Items()), u.DataConsistencyScore)
	}
}

func TestEngine_IncrementalReplaysSourceChanges(t *testing.T) {
	for _, noCond := range []bool{false, true} {
		t.Run(fmt.Sprintf("noCondStore=%v", noCond), func(t *testing.T) {
			src, tgt, h := syncedBasic(t, func(src *fakeServer) { src.noCond = noCond })
			mb := tgt.Box("ann@contoso.com")
			byKeyFolder := func(subject string) *memtarget.Item {
				for _, it := range mb.Items() {
					for _, fo := range src.folders {
						for _, m := range fo.msgs {
							if strings.Contains(string(m.raw), "Subject: "+subject+"\r") && migrate.HeaderHash(migrate.HeaderBlock(m.raw)) == strings.Split(it.Key, "#")[0] {
								return &it
							}
						}
					}
				}
				return nil
			}
			inbox0 := byKeyFolder("inbox 0")
			movedID := inbox0.ID

			src.append("INBOX", rawMsg("new mail", 300), day0.AddDate(1, 0, 0)) // new
			src.expunge("INBOX", 2)                                             // hard delete of "inbox 1"
			src.move("INBOX", 1, "Projects")                                    // move of "inbox 0"
			src.setFlags("INBOX", 3, `\Flagged`)                                // "inbox 2": \Seen off, \Flagged on
			userDeleted := byKeyFolder("inbox 3")                               // deleted in Outlook by the user
			mb.Remove(userDeleted.ID)
			src.setFlags("INBOX", 4, `\Seen`, `\Answered`) // "inbox 3" changes too: must not be re-copied
			u := h.syncNow("ann@contoso.com")

			if it := byKeyFolder("new mail"); it == nil || it.Folder != migrate.WellKnownInbox {
				t.Errorf("new mail not copied")
			}
			if byKeyFolder("inbox 1") != nil {
				t.Errorf("expunged message still in the target")
			}
			if it, ok := mb.Item(movedID); !ok || it.Folder != mb.FolderByName("Projects") {
				t.Errorf("moved message: %+v (want same id in Projects)", it)
			}
			if mb.Counts().Moves != 1 {
				t.Errorf("%d Graph moves, want 1", mb.Counts().Moves)
			}
			if it := byKeyFolder("inbox 2"); it == nil || it.Flags.Seen || !it.Flags.Flagged {
				t.Errorf("flags not replayed: %+v", it)
			}
			if byKeyFolder("inbox 3") != nil {
				t.Errorf("a message deleted in the target was copied again")
			}
			if mb.Duplicates() != 0 {
				t.Errorf("duplicates: %d", mb.Duplicates())
			}
			if u.DataConsistencyScore == migrate.ScorePoor {
				t.Errorf("score Poor after incremental: %+v", u)
			}

			// UIDVALIDITY reset: the folder is rebuilt from the target's keys.
			creates := mb.Counts().Creates
			src.recreate("INBOX")
			h.syncNow("ann@contoso.com")
			if mb.Counts().Creates != creates || mb.Duplicates() != 0 {
				t.Errorf("UIDVALIDITY reset created %d, dups %d", mb.Counts().Creates-creates, mb.Duplicates())
			}
		})
	}
}

func TestEngine_FailuresAreTyped(t *testing.T) {
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	src.password = "other-secret"
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, nil)
	h.batch("b", "ann@contoso.com", "ghost@contoso.com")
	u := h.waitUser("ann@contoso.com", model.UserFailed)
	if u.ErrorReason != migrate.ReasonImapAuthenticationFailed || !strings.Contains(u.LastError, "AUTHENTICATIONFAILED") {
		t.Errorf("auth failure: %s %q", u.ErrorReason, u.LastError)
	}
	if strings.Contains(u.LastError, "pw") && strings.Contains(u.LastError, ",pw") {
		t.Errorf("password in error: %q", u.LastError)
	}
	g := h.waitUser("ghost@contoso.com", model.UserFailed)
	if g.ErrorReason != migrate.ReasonRecipientNotFound {
		t.Errorf("missing recipient: %s", g.ErrorReason)
	}
	b, _ := h.eng.Batch("b")
	if b.Status != model.BatchFailed || b.FailedCount != 2 {
		t.Errorf("batch %s failed=%d", b.Status, b.FailedCount)
	}
}

func TestEngine_TransientFetchErrorRetriesWithoutDuplicates(t *testing.T) {
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	seedBasic(src)
	src.failNext = migrate.Retryable(fmt.Errorf("connection reset"))
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, func(o *migrate.Options) { o.RetryAttempts = 1 })
	h.batch("b", "ann@contoso.com")
	u := h.waitUser("ann@contoso.com", model.UserSynced)
	mb := tgt.Box("ann@contoso.com")
	if mb.Duplicates() != 0 || u.SyncedItemCount != int64(len(mb.Items())) || u.DataConsistencyScore != migrate.ScorePerfect {
		t.Errorf("after retry: synced %d, target %d, dups %d, score %s", u.SyncedItemCount, len(mb.Items()), mb.Duplicates(), u.DataConsistencyScore)
	}
}

// scanClock is the engine's clock (Options.Now). The scheduler reads it
// once per scan, so its calls count scans; shift sets the engine's time
// back.
type scanClock struct {
	calls atomic.Int64
	shift atomic.Int64
}

func (c *scanClock) now() time.Time {
	c.calls.Add(1)
	return time.Now().Add(-time.Duration(c.shift.Load()))
}

// waitScans waits until the engine has read the clock n more times: at
// least n scheduler scans when nothing else reads it meanwhile (passes are
// held, nobody reads views).
func (c *scanClock) waitScans(t *testing.T, n int64) {
	t.Helper()
	target := c.calls.Load() + n
	for deadline := time.Now().Add(30 * time.Second); c.calls.Load() < target; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler did not scan %d more times", n)
		}
	}
}

func TestEngine_PoolLimitsConcurrentUsers(t *testing.T) {
	src := newFakeServer()
	var users []string
	for i := 0; i < 6; i++ {
		users = append(users, fmt.Sprintf("u%d@contoso.com", i))
	}
	tgt := memtarget.New(users...)
	src.hold = make(chan struct{})
	clock := &scanClock{}
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 2, func(o *migrate.Options) { o.Now = clock.now })
	h.batch("b", users...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := h.eng.Batch("b")
		if b.ActiveCount == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("active %d queued %d, want 2 active", b.ActiveCount, b.QueuedCount)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The scheduler scans again while the pool is full: its chances to
	// overshoot.
	clock.waitScans(t, 5)
	b, _ := h.eng.Batch("b")
	if b.QueuedCount != 4 || b.ActiveCount != 2 {
		t.Errorf("queued %d active %d while the pool is full, want 4 and 2", b.QueuedCount, b.ActiveCount)
	}
	close(src.hold)
	for _, u := range users {
		h.waitUser(u, model.UserSynced)
	}
	if src.peak != 2 {
		t.Errorf("peak concurrent sessions %d, want 2", src.peak)
	}
}

func TestEngine_MailboxItemLimitKeepsNewest(t *testing.T) {
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	for i := 0; i < 5; i++ {
		src.append("INBOX", rawMsg(fmt.Sprintf("m%d", i), 200), day0.AddDate(0, i, 0))
	}
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, func(o *migrate.Options) { o.MaxMailboxItems = 3 })
	h.batch("b", "ann@contoso.com")
	u := h.waitUser("ann@contoso.com", model.UserSynced)
	mb := tgt.Box("ann@contoso.com")
	if len(mb.Items()) != 3 {
		t.Fatalf("%d items, want 3", len(mb.Items()))
	}
	for _, it := range mb.Items() {
		if it.Received.Before(day0.AddDate(0, 2, 0)) {
			t.Errorf("an old message was kept: %v", it.Received)
		}
	}
	sk, _ := h.st.Skipped("ann@contoso.com")
	if len(sk) != 2 || sk[0].Reason != migrate.ReasonMailboxItemLimit || u.DataConsistencyScore != migrate.ScoreInvestigate {
		t.Errorf("skipped %+v score %s", sk, u.DataConsistencyScore)
	}
}

func TestEngine_VerifyFindsTargetSideDeleteAndApprovalScores(t *testing.T) {
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	seedBasic(src)
	src.append("INBOX", rawMsg("huge", 9000), day0)
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, func(o *migrate.Options) { o.MaxMessageBytes = 5000 })
	h.batch("b", "ann@contoso.com")
	u := h.waitUser("ann@contoso.com", model.UserSynced)
	if u.DataConsistencyScore != migrate.ScoreInvestigate {
		t.Fatalf("score %s, want Investigate (one oversize item)", u.DataConsistencyScore)
	}
	v, err := h.eng.VerifyUser(context.Background(), "ann@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Differences) != 0 || v.DataConsistencyScore != migrate.ScoreInvestigate {
		t.Fatalf("clean verify: %+v", v)
	}
	if n, err := h.eng.ApproveSkipped(context.Background(), "ann@contoso.com"); err != nil || n != 1 {
		t.Fatalf("approve: %d %v", n, err)
	}
	if u, _ := h.st.User("ann@contoso.com"); u.DataConsistencyScore != migrate.ScoreGood {
		t.Fatalf("after approval: %s, want Good", u.DataConsistencyScore)
	}
	// Delete one item behind the engine's back.
	mb := tgt.Box("ann@contoso.com")
	for _, it := range mb.Items() {
		if it.Folder == migrate.WellKnownSentItems {
			mb.Remove(it.ID)
		}
	}
	v, err = h.eng.VerifyUser(context.Background(), "ann@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if v.DataConsistencyScore != migrate.ScorePoor || len(v.Differences) != 1 || v.Differences[0].Kind != "MissingInTarget" || v.Differences[0].Folder != "Sent" {
		t.Fatalf("verify after a target-side delete: %+v", v)
	}
	if u, _ := h.st.User("ann@contoso.com"); u.DataConsistencyScore != migrate.ScorePoor {
		t.Fatalf("user score %s, want Poor", u.DataConsistencyScore)
	}
}

func TestEngine_ReportMailAfterInitialSync(t *testing.T) {
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com", "bob@contoso.com", "migration@contoso.com") // the sender is a mailbox, as Graph requires
	seedBasic(src)
	src.append("INBOX", rawMsg("huge", 9000), day0)
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, func(o *migrate.Options) {
		o.MaxMessageBytes = 5000
		o.ReportSender = "migration@contoso.com"
	})
	h.startBatch("r", state.BatchOptions{MigrateDeletedItems: true, SyncInterval: time.Hour, NotificationEmails: []string{"admin@contoso.com"}}, batchUser{"ann@contoso.com", "ann", "pw"}, batchUser{"ghost@contoso.com", "g", "pw"})
	h.waitUser("ann@contoso.com", model.UserSynced)
	h.waitUser("ghost@contoso.com", model.UserFailed)
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := len(tgt.Sent())
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no report mail")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The batch records the one-off report as sent: no second one can follow.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, err := h.st.Batch("r"); err == nil && b.ReportedSynced {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch does not record the report as sent")
		}
	}
	sent := tgt.Sent()
	if len(sent) != 1 {
		t.Fatalf("%d report mails, want 1", len(sent))
	}
	m := sent[0]
	if m.From != "migration@contoso.com" || len(m.To) != 1 || m.To[0] != "admin@contoso.com" {
		t.Errorf("report addressing: %+v", m)
	}
	if !strings.Contains(m.Subject, "SyncedWithErrors") || !strings.Contains(m.Subject, "1 failed") {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{`<td id="total">2</td>`, `<td id="failed">1</td>`, "ghost@contoso.com", "RecipientNotFound",
		"MessageTooLarge", `<td id="score">Poor</td>`, `<td id="items">10 of 22</td>`} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestEngine_FolderRenamedOnSourceIsRenamedInTarget(t *testing.T) {
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	seedBasic(src)
	for i := 0; i < 4; i++ {
		src.append("Projects/Alpha", rawMsg(fmt.Sprintf("alpha more %d", i), 300), day0)
	}
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, nil)
	h.batch("b", "ann@contoso.com")
	h.waitUser("ann@contoso.com", model.UserSynced)
	mb := tgt.Box("ann@contoso.com")
	oldID := mb.FolderByName("Alpha")
	items := mb.InFolder(oldID)
	if len(items) != 5 {
		t.Fatalf("Projects/Alpha has %d items", len(items))
	}
	before := mb.Counts()
	src.rename("Projects/Alpha", "Projects/Beta")
	src.append("Projects/Beta", rawMsg("after the rename", 300), day0)
	u := h.syncNow("ann@contoso.com")
	c := mb.Counts()
	if c.Renames != before.Renames+1 || c.Moves != before.Moves || c.Deletes != before.Deletes || c.Creates != before.Creates+1 {
		t.Errorf("rename: %+v → %+v, want one folder rename, one create (the new message) and nothing else", before, c)
	}
	if mb.FolderByName("Beta") != oldID || mb.FolderByName("Alpha") != "" {
		t.Errorf("target folder not renamed: Beta=%q Alpha=%q (was %q)", mb.FolderByName("Beta"), mb.FolderByName("Alpha"), oldID)
	}
	if n := len(mb.InFolder(oldID)); n != 6 {
		t.Errorf("renamed folder holds %d items, want 6", n)
	}
	if u.DataConsistencyScore != migrate.ScorePerfect {
		t.Errorf("score after rename: %s", u.DataConsistencyScore)
	}
	if fs, _ := h.st.Folders("ann@contoso.com"); fs["Projects/Beta"].TargetID != oldID || fs["Projects/Alpha"].Name != "" {
		t.Errorf("state after rename: %+v", fs)
	}
	events, _ := h.eng.Events("b", 0)
	found := false
	for _, e := range events {
		found = found || strings.Contains(e.Message, `folder "Projects/Alpha" was renamed on the source to "Projects/Beta"`)
	}
	if !found {
		t.Error("no event about the rename")
	}
}

func TestEngine_StalledUserIsFlagged(t *testing.T) {
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	seedBasic(src)
	src.fetchHold = make(chan struct{})
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, func(o *migrate.Options) { o.StallAfter = 100 * time.Millisecond })
	h.batch("b", "ann@contoso.com")
	deadline := time.Now().Add(30 * time.Second)
	for {
		u, _ := h.eng.User("ann@contoso.com")
		v, _ := h.eng.Batch("b")
		if u.Stalled && v.StalledCount == 1 && u.StalledDuration >= 0.1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not flagged as stalled: user %+v, batch stalled %d", u, v.StalledCount)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(src.fetchHold)
	h.waitUser("ann@contoso.com", model.UserSynced)
	if u, _ := h.eng.User("ann@contoso.com"); u.Stalled {
		t.Error("still stalled after the sync finished")
	}
}

func TestEngine_StartAfterAndCompleteAfter(t *testing.T) {
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	seedBasic(src)
	// The engine's clock starts two hours back: start_after is ahead of
	// it until the test moves it on.
	clock := &scanClock{}
	clock.shift.Store(int64(2 * time.Hour))
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, func(o *migrate.Options) { o.Now = clock.now })
	start := time.Now().Add(-time.Second)
	h.startBatch("later", state.BatchOptions{MigrateDeletedItems: true, SyncInterval: time.Hour, StartAfter: start, CompleteAfter: start.Add(200 * time.Millisecond)}, batchUser{"ann@contoso.com", "ann", "pw"})
	clock.waitScans(t, 10)
	if u, _ := h.st.User("ann@contoso.com"); u.Status != model.UserQueued || tgt.Box("ann@contoso.com").Counts().Creates != 0 {
		t.Fatalf("before start_after: %s, %d creates", u.Status, tgt.Box("ann@contoso.com").Counts().Creates)
	}
	clock.shift.Store(0) // now past start_after and complete_after
	u := h.waitUser("ann@contoso.com", model.UserCompleted, model.UserCompletedWithWarnings)
	if u.StartedAt.Before(start) {
		t.Errorf("started at %v, before start_after %v", u.StartedAt, start)
	}
	v, _ := h.eng.Batch("later")
	if v.Status != model.BatchCompleted {
		t.Errorf("batch after complete_after: %s", v.Status)
	}
}

func TestEngine_FolderDeletedOnSourceKeepsTargetMail(t *testing.T) {
	src, tgt, h := syncedBasic(t, nil)
	mb := tgt.Box("ann@contoso.com")
	before := mb.Counts()
	src.mu.Lock()
	delete(src.folders, "Projects/Alpha")
	src.mu.Unlock()
	h.syncNow("ann@contoso.com")
	if c := mb.Counts(); c != before || len(mb.InFolder(mb.FolderByName("Alpha"))) != 1 {
		t.Errorf("deleting a source folder changed the target: %+v → %+v", before, c)
	}
	events, _ := h.eng.Events("b", 0)
	found := false
	for _, e := range events {
		found = found || strings.Contains(e.Message, `folder "Projects/Alpha" is gone from the source; 1 of its messages stay in the target`)
	}
	if !found {
		t.Error("no event about the folder gone from the source")
	}
}

// holdTarget is a Target whose creates wait until release is closed;
// started is closed when the first create begins.
type holdTarget struct {
	hookTarget
	release chan struct{}
	started chan struct{}
	once    sync.Once
}

func newHoldTarget(tgt migrate.Target) *holdTarget {
	t := &holdTarget{release: make(chan struct{}), started: make(chan struct{})}
	t.hookTarget = hookTarget{Target: tgt, create: func(ctx context.Context, next migrate.Mailbox, folderID string, nm migrate.NewMessage) (string, error) {
		t.once.Do(func() { close(t.started) })
		<-t.release
		return next.Create(ctx, folderID, nm)
	}}
	return t
}

// A user removed while its uploads are in flight: the uploads finish (a
// stop lands on a message boundary), their commits find no user, and the
// engine goes on with the others.
func TestEngine_RemovingARunningUserKeepsTheEngineGoing(t *testing.T) {
	src := newFakeServer()
	seedBasic(src)
	mem := memtarget.New("ann@contoso.com", "bob@contoso.com")
	tgt := newHoldTarget(mem)
	h := newHarnessWith(t, statetest.MustOpen(t), src, tgt, 1, nil)
	h.batch("b", "ann@contoso.com")
	select {
	case <-tgt.started:
	case <-time.After(30 * time.Second):
		t.Fatal("no upload started")
	}
	if err := h.eng.RemoveUser(context.Background(), "ann@contoso.com"); err != nil {
		t.Fatal(err)
	}
	close(tgt.release)
	for deadline := time.Now().Add(30 * time.Second); h.eng.Running("ann@contoso.com"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the removed user's pass did not end")
		}
	}
	// The engine is still running: checked here, and proved below by a
	// new batch that syncs.
	select {
	case err := <-h.done:
		t.Fatalf("the engine stopped: %v", err)
	default:
	}
	if _, err := h.st.User("ann@contoso.com"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("removed user came back: %v", err)
	}
	if fs, _ := h.st.Folders("ann@contoso.com"); len(fs) != 0 {
		t.Fatalf("a removed user's pass wrote folder state: %v", fs)
	}
	// The engine still works: a new batch syncs.
	h.startBatch("b2", state.BatchOptions{SyncInterval: time.Hour}, batchUser{"bob@contoso.com", "bob", "pw"})
	h.waitUser("bob@contoso.com", model.UserSynced)
}
