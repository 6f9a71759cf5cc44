package migrate_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
)

// flakyConnector fails every Connect with a retryable error while down is
// set, like an IMAP server that is unreachable.
type flakyConnector struct {
	migrate.SourceConnector
	down  atomic.Bool
	tries atomic.Int64
}

func (f *flakyConnector) Connect(ctx context.Context, l migrate.Login) (migrate.Source, error) {
	if f.down.Load() {
		f.tries.Add(1)
		return nil, migrate.Retryable(errors.New("dial tcp: connection refused"))
	}
	return f.SourceConnector.Connect(ctx, l)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func eventsContain(t *testing.T, h *harness, batch, want string) bool {
	t.Helper()
	evs, err := h.eng.Events(batch, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if strings.Contains(e.Message, want) {
			return true
		}
	}
	return false
}

// TestEngine_FailedUserNeverFlattersScoreTotalsStatsOrReport: a batch with
// one synced, complete user and one that failed (no mailbox) is not
// Perfect anywhere: the failed user's messages are in scope and missing.
func TestEngine_FailedUserNeverFlattersScoreTotalsStatsOrReport(t *testing.T) {
	src := newFakeServer()
	seedBasic(src)
	h, tgt := newWorld(t, src, 5, func(o *migrate.Options) { o.ReportSender = "migration@contoso.com" }, "ann@contoso.com", "migration@contoso.com") // ghost has no mailbox; the report sender has one
	h.startBatch("b", state.BatchOptions{MigrateDeletedItems: true, SyncInterval: time.Hour, NotificationEmails: []string{"admin@contoso.com"}}, batchUser{"ann@contoso.com", "ann", "pw"}, batchUser{"ghost@contoso.com", "ghost", "pw"})
	ann := h.waitUser("ann@contoso.com", model.UserSynced)
	ghost := h.waitUser("ghost@contoso.com", model.UserFailed)
	if ann.DataConsistencyScore != migrate.ScorePerfect {
		t.Fatalf("ann: %s", ann.DataConsistencyScore)
	}
	// The failed user's source was counted although its target failed first.
	if ghost.EstimatedTotalCount != ann.EstimatedTotalCount || ghost.SyncedItemCount != 0 {
		t.Errorf("ghost estimate %d (ann %d), synced %d", ghost.EstimatedTotalCount, ann.EstimatedTotalCount, ghost.SyncedItemCount)
	}
	v, err := h.eng.Batch("b")
	if err != nil {
		t.Fatal(err)
	}
	if v.DataConsistencyScore != migrate.ScorePoor || v.FailedCount != 1 || v.NotSyncedCount != 1 ||
		v.EstimatedTotalCount != 2*ann.EstimatedTotalCount || v.MissingItemCount != ann.EstimatedTotalCount {
		t.Errorf("batch: score %q failed %d notsynced %d estimated %d missing %d (ann has %d)", v.DataConsistencyScore, v.FailedCount,
			v.NotSyncedCount, v.EstimatedTotalCount, v.MissingItemCount, ann.EstimatedTotalCount)
	}
	s, err := h.eng.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.DataConsistencyScore != migrate.ScorePoor || s.MissingItemCount != v.MissingItemCount || s.EstimatedTotalCount != v.EstimatedTotalCount {
		t.Errorf("stats: %+v", s)
	}
	waitFor(t, "the report mail", func() bool { return len(tgt.Sent()) > 0 })
	m := tgt.Sent()[0]
	for _, want := range []string{`<td id="score">Poor</td>`, `<td id="missing">` + strconv.FormatInt(ann.EstimatedTotalCount, 10),
		"1 of 2 users failed", `<td id="failed">1</td>`} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(m.HTML, `id="verdict"><b>Perfect`) {
		t.Error("report says Perfect")
	}

	// Once every user is synced and complete, it is Perfect.
	if err := h.eng.RemoveUser(context.Background(), "ghost@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if v, _ := h.eng.Batch("b"); v.DataConsistencyScore != migrate.ScorePerfect || v.MissingItemCount != 0 {
		t.Errorf("batch of synced users: %q, missing %d", v.DataConsistencyScore, v.MissingItemCount)
	}
}

// TestEngine_NeverSyncedUsersKeepTheBatchFromPerfect: while a user has no
// successful pass, the batch has no score yet, not Perfect.
func TestEngine_NeverSyncedUsersKeepTheBatchFromPerfect(t *testing.T) {
	src := newFakeServer()
	seedBasic(src)
	h, _ := newWorld(t, src, 5, nil, "ann@contoso.com", "bob@contoso.com")
	h.startBatch("b", state.BatchOptions{SyncInterval: time.Hour}, batchUser{"ann@contoso.com", "ann", "pw"})
	h.waitUser("ann@contoso.com", model.UserSynced)
	// bob is added to a stopped batch: he is never synced.
	if err := h.eng.StopBatch(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.AddUsers(context.Background(), "b", []byte("EmailAddress,UserName,Password\nbob@contoso.com,bob,pw\n"), "", false); err != nil {
		t.Fatal(err)
	}
	v, _ := h.eng.Batch("b")
	if v.DataConsistencyScore != "" || v.NotSyncedCount != 1 {
		t.Errorf("batch with a never-synced user: score %q, not synced %d", v.DataConsistencyScore, v.NotSyncedCount)
	}
}

// TestEngine_ConsecutiveFailedPassesShowFailedUntilAGoodPass: a synced
// user whose incremental passes keep failing shows Failed (with the reason
// and error) after the limit, the batch counts it, the event log says so;
// it is still retried, and the first good pass clears it.
func TestEngine_ConsecutiveFailedPassesShowFailedUntilAGoodPass(t *testing.T) {
	fake := newFakeServer()
	seedBasic(fake)
	src := &flakyConnector{SourceConnector: fake}
	h, _ := newWorld(t, src, 5, func(o *migrate.Options) { o.UserRetries = 3; o.RetryAttempts = 1 }, "ann@contoso.com", "bob@contoso.com")
	h.batch("b", "ann@contoso.com", "bob@contoso.com")
	h.waitUser("ann@contoso.com", model.UserSynced)
	h.waitUser("bob@contoso.com", model.UserSynced)

	src.down.Store(true)
	if err := h.eng.SyncNowUser(context.Background(), "ann@contoso.com"); err != nil {
		t.Fatal(err)
	}
	u := h.waitUser("ann@contoso.com", model.UserFailed)
	// Failed at the third failure; a Failed user is still retried, so on
	// a loaded machine a fourth may have failed before this look (the
	// event below pins the third).
	if u.Failures < 3 || u.ErrorReason == "" || !strings.Contains(u.LastError, "connection refused") {
		t.Errorf("after 3 failed passes: failures %d, reason %q, error %q", u.Failures, u.ErrorReason, u.LastError)
	}
	v, _ := h.eng.Batch("b")
	if v.Status != model.BatchSyncedWithErrors || v.FailedCount != 1 || v.DataConsistencyScore != migrate.ScoreInvestigate {
		t.Errorf("batch: %s, failed %d, score %s", v.Status, v.FailedCount, v.DataConsistencyScore)
	}
	if !eventsContain(t, h, "b", "user failed after 3 failed passes in a row") {
		t.Error("no event for the failure")
	}
	uv, _ := h.eng.User("ann@contoso.com")
	if uv.Status != model.UserFailed || uv.ErrorReason == "" || uv.LastError == "" {
		t.Errorf("user view: %+v", uv)
	}
	// Still retried while Failed.
	tries := src.tries.Load()
	waitFor(t, "a retry of the Failed user", func() bool { return src.tries.Load() > tries })

	src.down.Store(false)
	waitFor(t, "the failure to clear", func() bool {
		u, _ := h.st.User("ann@contoso.com")
		return u.Status == model.UserSynced && !h.eng.Running("ann@contoso.com")
	})
	u, _ = h.st.User("ann@contoso.com")
	if u.ErrorReason != "" || u.LastError != "" || u.Failures != 0 {
		t.Errorf("after a good pass: %q %q %d", u.ErrorReason, u.LastError, u.Failures)
	}
	if v, _ := h.eng.Batch("b"); v.Status != model.BatchSynced || v.FailedCount != 0 || v.DataConsistencyScore != migrate.ScorePerfect {
		t.Errorf("batch after recovery: %s failed %d score %s", v.Status, v.FailedCount, v.DataConsistencyScore)
	}
	if !eventsContain(t, h, "b", "user recovered") {
		t.Error("no event for the recovery")
	}
}

// TestEngine_FailedUserInACompletedBatchSaysHowToRetry: a completed batch
// cannot be started again; the refusal (and a user syncnow) says how to
// migrate its Failed users again, and that way works.
func TestEngine_FailedUserInACompletedBatchSaysHowToRetry(t *testing.T) {
	src := newFakeServer()
	seedBasic(src)
	h, _ := newWorld(t, src, 5, nil, "ann@contoso.com")
	h.batch("b", "ann@contoso.com", "ghost@contoso.com")
	h.waitUser("ann@contoso.com", model.UserSynced)
	h.waitUser("ghost@contoso.com", model.UserFailed)
	if err := h.eng.CompleteBatch(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the batch to complete", func() bool {
		v, _ := h.eng.Batch("b")
		return v.Status == model.BatchCompletedWithErrors
	})
	err := h.eng.StartBatch(context.Background(), "b")
	if err == nil || !strings.Contains(err.Error(), "imapmig user remove") || !strings.Contains(err.Error(), "new batch") {
		t.Errorf("start of a completed batch: %v", err)
	}
	err = h.eng.SyncNowUser(context.Background(), "ghost@contoso.com")
	if err == nil || !strings.Contains(err.Error(), "imapmig user remove ghost@contoso.com") {
		t.Errorf("syncnow of a Failed user in a completed batch: %v", err)
	}
	// The way it names works: remove, then a new batch with the user.
	if err := h.eng.RemoveUser(context.Background(), "ghost@contoso.com"); err != nil {
		t.Fatal(err)
	}
	h.batch("b2", "ghost@contoso.com")
	if u := h.waitUser("ghost@contoso.com", model.UserFailed); u.Batch != "b2" {
		t.Errorf("ghost in %s", u.Batch)
	}
}
