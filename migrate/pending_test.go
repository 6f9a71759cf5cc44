package migrate_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state/statetest"
)

// pendingTarget behaves like graphdst for large messages: the create of a
// message whose subject says "big" leaves an incomplete item under a
// "pending:" key and fails (the process dies mid-upload, so the item is not
// removed at once). Keys never reports pending items; SweepPending removes
// them.
type pendingTarget struct {
	*memtarget.Target
	swept atomic.Int64
}

type pendingMailbox struct {
	*memtarget.Mailbox
	t *pendingTarget
}

func (t *pendingTarget) Mailbox(ctx context.Context, addr string) (migrate.Mailbox, error) {
	if _, err := t.Target.Mailbox(ctx, addr); err != nil {
		return nil, err
	}
	return pendingMailbox{t.Box(addr), t}, nil
}

func (m pendingMailbox) Create(ctx context.Context, folderID string, nm migrate.NewMessage) (string, error) {
	if !strings.Contains(nm.Meta.Subject, "big") {
		return m.Mailbox.Create(ctx, folderID, nm)
	}
	for _, it := range m.InFolder(folderID) {
		if it.Key == "pending:"+nm.Meta.SourceKey {
			return "", migrate.Retryable(errors.New("upload interrupted"))
		}
	}
	nm.Meta.SourceKey = "pending:" + nm.Meta.SourceKey
	if _, err := m.Mailbox.Create(ctx, folderID, nm); err != nil {
		return "", err
	}
	return "", migrate.Retryable(errors.New("upload interrupted"))
}

func (m pendingMailbox) Keys(ctx context.Context, folderID string, fn func(migrate.KeyedItem) error) error {
	return m.Mailbox.Keys(ctx, folderID, func(k migrate.KeyedItem) error {
		if strings.HasPrefix(k.SourceKey, "pending:") {
			return nil
		}
		return fn(k)
	})
}

func (m pendingMailbox) SweepPending(ctx context.Context, folderID string) (int, error) {
	n := 0
	for _, it := range m.InFolder(folderID) {
		if strings.HasPrefix(it.Key, "pending:") {
			m.Remove(it.ID)
			n++
		}
	}
	m.t.swept.Add(int64(n))
	return n, nil
}

// An incomplete item whose source message is gone before the retry is
// removed by the next pass (issue 11), which copies nothing else.
func TestEngine_IncompleteItemRemovedWhenSourceMessageIsGone(t *testing.T) {
	src := newFakeServer()
	src.append("INBOX", rawMsg("small", 300), day0, `\Seen`)
	big := src.append("INBOX", rawMsg("big one", 5000), day0.AddDate(0, 0, 1))
	tgt := &pendingTarget{Target: memtarget.New("ann@contoso.com")}
	h := newHarnessWith(t, statetest.MustOpen(t), src, tgt, 1, nil)
	h.batch("b", "ann@contoso.com")
	box := tgt.Box("ann@contoso.com")
	pending := func() int {
		n := 0
		for _, it := range box.Items() {
			if strings.HasPrefix(it.Key, "pending:") {
				n++
			}
		}
		return n
	}
	waitFor(t, "an incomplete item in the target", func() bool { return pending() > 0 })
	src.expunge("INBOX", big)
	h.waitUser("ann@contoso.com", model.UserSynced)
	if n := pending(); n != 0 {
		t.Fatalf("%d incomplete items left in the target", n)
	}
	if tgt.swept.Load() == 0 {
		t.Fatal("SweepPending was never called")
	}
	if items := box.Items(); len(items) != 1 {
		t.Fatalf("target holds %d items, want the small one", len(items))
	}
}
