// A running batch's status, derived from its users' statuses.

package migrate

import (
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
)

// updateBatchStatus derives a running batch's status from its users. It
// writes only a status that changed: every pass calls it twice, and most
// passes (a synced user's delta) leave the batch as it was; a write is a
// commit with its fsyncs and, through bbolt's Batch, up to 10 ms of
// waiting for other writers.
func (e *Engine) updateBatchStatus(name string) {
	counts, total, err := e.store.BatchUserStatuses(name)
	if err != nil {
		return
	}
	if b, err := e.store.Batch(name); err == nil && deriveBatchStatus(b.Status, counts, total) == b.Status {
		return
	}
	_, _ = e.store.UpdateBatch(name, func(b *state.Batch) error {
		b.Status = deriveBatchStatus(b.Status, counts, total)
		return nil
	})
}

// deriveBatchStatus is the rule of docs/ARCHITECTURE.md, "Objects and statuses": a batch is Syncing while any
// user's initial sync is pending, then Synced, SyncedWithErrors (some
// failed) or Failed (all failed); a completing batch is Completed when every
// user is done.
func deriveBatchStatus(cur state.BatchStatus, c map[state.UserStatus]int, total int) state.BatchStatus {
	switch cur {
	case model.BatchCreated, model.BatchStopped, model.BatchStopping, model.BatchRemoving, model.BatchCompleted, model.BatchCompletedWithErrors:
		return cur
	case model.BatchCompleting:
		if c[model.UserCompleting] > 0 {
			return cur
		}
		if c[model.UserFailed] > 0 || c[model.UserCompletedWithWarnings] > 0 {
			return model.BatchCompletedWithErrors
		}
		return model.BatchCompleted
	}
	if total == 0 {
		return cur
	}
	if c[model.UserQueued]+c[model.UserValidating]+c[model.UserSyncing] > 0 {
		return model.BatchSyncing
	}
	if c[model.UserFailed] == total {
		return model.BatchFailed
	}
	if c[model.UserFailed] > 0 {
		return model.BatchSyncedWithErrors
	}
	return model.BatchSynced
}
