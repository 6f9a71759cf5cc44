// A running batch's status, derived from its users' statuses.

package migrate

import "github.com/imapmig/imapmig/state"

// updateBatchStatus derives a running batch's status from its users.
func (e *Engine) updateBatchStatus(name string) {
	us, err := e.store.Users(name)
	if err != nil {
		return
	}
	counts := map[state.UserStatus]int{}
	for _, u := range us {
		counts[u.Status]++
	}
	_, _ = e.store.UpdateBatch(name, func(b *state.Batch) error {
		b.Status = deriveBatchStatus(b.Status, counts, len(us))
		return nil
	})
}

// deriveBatchStatus is the rule of docs/ARCHITECTURE.md, "Objects and statuses": a batch is Syncing while any
// user's initial sync is pending, then Synced, SyncedWithErrors (some
// failed) or Failed (all failed); a completing batch is Completed when every
// user is done.
func deriveBatchStatus(cur state.BatchStatus, c map[state.UserStatus]int, total int) state.BatchStatus {
	switch cur {
	case state.BatchCreated, state.BatchStopped, state.BatchStopping, state.BatchRemoving, state.BatchCompleted, state.BatchCompletedWithErrors:
		return cur
	case state.BatchCompleting:
		if c[state.UserCompleting] > 0 {
			return cur
		}
		if c[state.UserFailed] > 0 || c[state.UserCompletedWithWarnings] > 0 {
			return state.BatchCompletedWithErrors
		}
		return state.BatchCompleted
	}
	if total == 0 {
		return cur
	}
	if c[state.UserQueued]+c[state.UserValidating]+c[state.UserSyncing] > 0 {
		return state.BatchSyncing
	}
	if c[state.UserFailed] == total {
		return state.BatchFailed
	}
	if c[state.UserFailed] > 0 {
		return state.BatchSyncedWithErrors
	}
	return state.BatchSynced
}
