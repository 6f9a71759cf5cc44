package migrate_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state/statetest"
)

// budgetTarget lets free creates through, then makes every create wait for
// a "budget" that never comes, as graphdst's governor does: the wait ends
// only with the create's context or the pass's stop (migrate.StopWaiting).
type budgetTarget struct {
	hookTarget
	free    atomic.Int64
	waiting chan struct{} // gets a value each time a create starts waiting
}

func newBudgetTarget(tgt migrate.Target, free int64) *budgetTarget {
	t := &budgetTarget{waiting: make(chan struct{}, 1)}
	t.free.Store(free)
	t.hookTarget = hookTarget{Target: tgt, create: func(ctx context.Context, next migrate.Mailbox, folderID string, nm migrate.NewMessage) (string, error) {
		if t.free.Add(-1) < 0 {
			stop, stopErr := migrate.StopWaiting(ctx)
			select {
			case t.waiting <- struct{}{}:
			default:
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-stop:
				return "", stopErr()
			}
		}
		return next.Create(ctx, folderID, nm)
	}}
	return t
}

// TestEngine_ShutdownEndsCreatesWaitingForBudget: in-flight creates are
// detached from the pass's cancellation, but a create that is waiting for
// the target's budget ends when the engine shuts down; the state maps
// exactly the messages the target holds, and a restart copies the rest
// once.
func TestEngine_ShutdownEndsCreatesWaitingForBudget(t *testing.T) {
	const n, free = 20, 6
	src := newFakeServer()
	for i := range n {
		src.append("INBOX", rawMsg(fmt.Sprintf("paced %d", i), 300), day0.AddDate(0, 0, i))
	}
	mem := memtarget.New("ann@contoso.com")
	tgt := newBudgetTarget(mem, free)
	st := statetest.MustOpen(t)
	h := newHarnessWith(t, st, src, tgt, 1, nil)
	h.batch("b", "ann@contoso.com")
	select {
	case <-tgt.waiting:
	case <-time.After(30 * time.Second):
		t.Fatal("no create waited for the budget")
	}
	stopped := make(chan struct{})
	go func() { h.stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the engine did not stop while a create waited for the budget")
	}
	box := mem.Box("ann@contoso.com")
	copied := len(box.Items())
	if copied != free {
		t.Errorf("%d messages in the target, want the %d free creates", copied, free)
	}
	if c, _ := st.MessageCount("ann@contoso.com", "INBOX"); c != copied {
		t.Errorf("state maps %d messages, the target holds %d", c, copied)
	}

	tgt.free.Store(1 << 30)
	h2 := newHarnessWith(t, st, src, tgt, 1, nil)
	h2.waitUser("ann@contoso.com", model.UserSynced)
	if got := len(box.Items()); got != n || box.Duplicates() != 0 || box.Counts().Creates != n {
		t.Errorf("after the restart: %d items, %d duplicates, %d creates; want %d, 0, %d", got, box.Duplicates(), box.Counts().Creates, n, n)
	}
}
