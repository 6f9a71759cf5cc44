package migrate

import (
	"context"
	"slices"

	"github.com/imapmig/imapmig/state"
)

// Batch returns one batch with its counts.
func (e *Engine) Batch(name string) (BatchView, error) {
	b, err := e.store.Batch(name)
	if err != nil {
		return BatchView{}, err
	}
	us, err := e.store.Users(name)
	if err != nil {
		return BatchView{}, err
	}
	v := batchView(b, us)
	e.addLive(&v, us)
	return v, nil
}

// addLive adds running passes' figures and stalls to a batch view.
func (e *Engine) addLive(v *BatchView, us []state.User) {
	for _, u := range us {
		lv := e.liveView(u)
		if lv.Stalled {
			v.StalledCount++
		}
		v.SyncedItemCount += lv.SyncedItemCount - u.SyncedItemCount
		v.SyncedBytes += lv.SyncedBytes - u.SyncedBytes
		live := u
		live.SyncedItemCount, live.EstimatedTotalCount = lv.SyncedItemCount, lv.EstimatedTotalCount
		v.MissingItemCount += missingOf(live) - missingOf(u)
	}
}

// Batches lists all batches with their counts.
func (e *Engine) Batches() ([]BatchView, error) {
	bs, err := e.store.Batches()
	if err != nil {
		return nil, err
	}
	all, err := e.store.Users("")
	if err != nil {
		return nil, err
	}
	byBatch := map[string][]state.User{}
	for _, u := range all {
		byBatch[u.Batch] = append(byBatch[u.Batch], u)
	}
	out := make([]BatchView, 0, len(bs))
	for _, b := range bs {
		v := batchView(b, byBatch[b.Name])
		e.addLive(&v, byBatch[b.Name])
		out = append(out, v)
	}
	return out, nil
}

// Users lists a batch's users ("" = all).
func (e *Engine) Users(batch string) ([]UserView, error) {
	if batch != "" {
		if _, err := e.store.Batch(batch); err != nil {
			return nil, err
		}
	}
	us, err := e.store.Users(batch)
	if err != nil {
		return nil, err
	}
	out := make([]UserView, len(us))
	for i, u := range us {
		out[i] = e.liveView(u)
	}
	return out, nil
}

// User returns one user.
func (e *Engine) User(email string) (UserView, error) {
	u, err := e.store.User(email)
	if err != nil {
		return UserView{}, err
	}
	v := e.liveView(u)
	v.Folders, err = e.folderViews(u)
	return v, err
}

// liveView is userView with a running pass's figures.
func (e *Engine) liveView(u state.User) UserView {
	v := userView(u)
	now := e.now()
	if u.Status == state.UserQueued && !u.QueuedAt.IsZero() {
		v.QueuedDuration = now.Sub(u.QueuedAt).Seconds()
	}
	if !u.LastSuccessfulSyncTime.IsZero() {
		v.SyncedDuration = now.Sub(u.LastSuccessfulSyncTime).Seconds()
	}
	if s, ok := e.liveProgress(u.EmailAddress); ok {
		v.SyncedItemCount, v.SyncedBytes = s.SyncedItems, s.SyncedBytes
		v.ItemsPerSecond, v.BytesPerSecond = s.ItemsPerSec, s.BytesPerSec
		v.EstimatedSecondsLeft = s.SecondsLeft
		v.InProgressDuration = now.Sub(s.Started).Seconds()
		lp := s.LastProgress
		v.LastProgressTime = &lp
		if idle := now.Sub(lp); idle >= e.opts.StallAfter {
			v.Stalled, v.StalledDuration = true, idle.Seconds()
		}
		if t, ok := e.pacingUntil(u.EmailAddress); ok {
			v.PacingUntil = &t
		}
	}
	if why, until, ok := e.waiting(u.EmailAddress); ok {
		v.WaitingFor, v.WaitingUntil = why, timePtr(until)
	}
	return v
}

// Skipped lists a user's skipped items.
func (e *Engine) Skipped(email string) ([]state.SkippedItem, error) {
	if _, err := e.store.User(email); err != nil {
		return nil, err
	}
	return e.store.Skipped(email)
}

// Events returns the last n events of a batch.
func (e *Engine) Events(batch string, n int) ([]state.Event, error) {
	if _, err := e.store.Batch(batch); err != nil {
		return nil, err
	}
	return e.store.Events(batch, n)
}

// transition checks that a batch's status is one of allowed.
func (e *Engine) batchFor(action, name string, allowed []state.BatchStatus, hint string) (state.Batch, error) {
	b, err := e.store.Batch(name)
	if err != nil {
		return b, err
	}
	if !slices.Contains(allowed, b.Status) {
		return b, &ActionError{Object: "batch", Name: name, Status: string(b.Status), Action: action, Hint: hint}
	}
	return b, nil
}

// setUsers applies fn to every user of a batch whose status is in from.
func (e *Engine) setUsers(batch string, from []state.UserStatus, fn func(*state.User)) (int, error) {
	us, err := e.store.Users(batch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range us {
		if !slices.Contains(from, u.Status) {
			continue
		}
		if _, err := e.store.UpdateUser(u.EmailAddress, func(u *state.User) error {
			if slices.Contains(from, u.Status) {
				fn(u)
			}
			return nil
		}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// StartBatch starts a created or stopped batch, and resumes failed users
// (Exchange's Start/Resume). Its users wait in Queued for the scheduler.
func (e *Engine) StartBatch(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.batchFor("start", name,
		[]state.BatchStatus{state.BatchCreated, state.BatchStopped, state.BatchFailed, state.BatchSyncedWithErrors, state.BatchSyncing, state.BatchSynced},
		"a completed or completing batch cannot be started; to migrate its Failed users again, remove each (`imapmig user remove EMAIL`, the mail already copied stays) and add them to a new batch (`imapmig batch new`)")
	if err != nil {
		return err
	}
	now := e.now().UTC()
	n, err := e.setUsers(name, []state.UserStatus{state.UserCreated, state.UserStopped, state.UserFailed, state.UserStopping}, func(u *state.User) {
		u.Status = state.UserQueued
		u.QueuedAt = now
		u.ErrorReason, u.LastError = "", ""
		u.Failures = 0 // a resumed user gets failed_pass_limit passes again
	})
	if err != nil {
		return err
	}
	if _, err := e.store.UpdateBatch(name, func(b *state.Batch) error {
		b.Status = state.BatchSyncing
		if b.StartedAt.IsZero() {
			b.StartedAt = now
		}
		return nil
	}); err != nil {
		return err
	}
	e.event(name, "", "info", "batch started")
	_ = n
	e.notify()
	return nil
}

// StopBatch pauses a batch: queued users leave the queue, running syncs stop
// at the next message boundary, incremental syncs stop.
func (e *Engine) StopBatch(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.batchFor("stop", name,
		[]state.BatchStatus{state.BatchStarting, state.BatchSyncing, state.BatchSynced, state.BatchSyncedWithErrors},
		"only a running or synced batch can be stopped")
	if err != nil {
		return err
	}
	if _, err := e.setUsers(name, []state.UserStatus{state.UserQueued, state.UserSynced}, func(u *state.User) {
		u.Status = state.UserStopped
	}); err != nil {
		return err
	}
	if _, err := e.setUsers(name, []state.UserStatus{state.UserValidating, state.UserSyncing, state.UserIncrementalSyncing}, func(u *state.User) {
		u.Status = state.UserStopping
	}); err != nil {
		return err
	}
	e.cancelBatch(name)
	if _, err := e.store.UpdateBatch(name, func(b *state.Batch) error { b.Status = state.BatchStopped; return nil }); err != nil {
		return err
	}
	e.event(name, "", "info", "batch stopped")
	return nil
}

// SyncNowBatch runs an incremental sync of every Synced user of the batch
// now, ahead of its schedule. Failed users are not resumed (use start).
func (e *Engine) SyncNowBatch(ctx context.Context, name string) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.batchFor("sync now", name,
		[]state.BatchStatus{state.BatchSyncing, state.BatchSynced, state.BatchSyncedWithErrors},
		"SyncNow needs a started batch; start it first (start also resumes failed users)")
	if err != nil {
		return 0, err
	}
	now := e.now().UTC()
	n, err := e.setUsers(name, []state.UserStatus{state.UserSynced}, func(u *state.User) { u.NextSyncAt = now })
	if err != nil {
		return 0, err
	}
	e.event(name, "", "info", "sync now requested")
	e.notify()
	return n, nil
}

// CompleteBatch asks for one final incremental sync per user, after which
// the users are Completed and no further syncs run.
func (e *Engine) CompleteBatch(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.batchFor("complete", name,
		[]state.BatchStatus{state.BatchSynced, state.BatchSyncedWithErrors},
		"a batch can be completed once its initial sync is done (Synced or SyncedWithErrors)")
	if err != nil {
		return err
	}
	now := e.now().UTC()
	if _, err := e.setUsers(name, []state.UserStatus{state.UserSynced}, func(u *state.User) {
		u.Status = state.UserCompleting
		u.NextSyncAt = now
	}); err != nil {
		return err
	}
	if _, err := e.store.UpdateBatch(name, func(b *state.Batch) error { b.Status = state.BatchCompleting; return nil }); err != nil {
		return err
	}
	e.event(name, "", "info", "batch completing")
	e.notify()
	return nil
}

// RemoveBatch stops a batch's syncs and deletes its state. Mail already in
// the target is kept.
func (e *Engine) RemoveBatch(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.store.Batch(name); err != nil {
		return err
	}
	if _, err := e.store.UpdateBatch(name, func(b *state.Batch) error { b.Status = state.BatchRemoving; return nil }); err != nil {
		return err
	}
	e.cancelBatch(name)
	e.log.Info("batch removed", "batch", name)
	return e.store.RemoveBatch(name)
}

// SyncNowUser runs an incremental sync of one Synced user now.
func (e *Engine) SyncNowUser(ctx context.Context, email string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.store.User(email)
	if err != nil {
		return err
	}
	if u.Status != state.UserSynced {
		hint := "SyncNow applies to users whose initial sync is done (Synced)"
		if u.Status == state.UserFailed {
			hint = "a Failed user is resumed with `imapmig batch start " + u.Batch + "`"
			if b, err := e.store.Batch(u.Batch); err == nil && (b.Status == state.BatchCompleted || b.Status == state.BatchCompletedWithErrors || b.Status == state.BatchCompleting) {
				hint = "its batch " + u.Batch + " is " + string(b.Status) + ": remove the user (`imapmig user remove " + u.EmailAddress + "`, the mail already copied stays) and add it to a new batch (`imapmig batch new`)"
			}
		}
		return &ActionError{Object: "user", Name: u.EmailAddress, Status: string(u.Status), Action: "sync now", Hint: hint}
	}
	if _, err := e.store.UpdateUser(email, func(u *state.User) error { u.NextSyncAt = e.now().UTC(); return nil }); err != nil {
		return err
	}
	e.notify()
	return nil
}

// StopUser stops one user: out of the queue, or at the next message
// boundary when running.
func (e *Engine) StopUser(ctx context.Context, email string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.store.User(email)
	if err != nil {
		return err
	}
	var next state.UserStatus
	switch u.Status {
	case state.UserQueued, state.UserSynced, state.UserCreated:
		next = state.UserStopped
	case state.UserValidating, state.UserSyncing, state.UserIncrementalSyncing:
		next = state.UserStopping
	default:
		return &ActionError{Object: "user", Name: u.EmailAddress, Status: string(u.Status), Action: "stop", Hint: "only a queued, running or synced user can be stopped"}
	}
	if _, err := e.store.UpdateUser(email, func(u *state.User) error { u.Status = next; return nil }); err != nil {
		return err
	}
	e.cancelUser(u.EmailAddress)
	e.event(u.Batch, u.EmailAddress, "info", "user stopped")
	return nil
}

// RemoveUser stops a user and deletes its state; its target mail is kept.
func (e *Engine) RemoveUser(ctx context.Context, email string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.store.User(email)
	if err != nil {
		return err
	}
	e.cancelUser(u.EmailAddress)
	if err := e.store.RemoveUser(email); err != nil {
		return err
	}
	e.event(u.Batch, u.EmailAddress, "info", "user removed")
	return nil
}

// ApproveSkipped approves a user's skipped items and returns how many.
func (e *Engine) ApproveSkipped(ctx context.Context, email string) (int, error) {
	if _, err := e.store.User(email); err != nil {
		return 0, err
	}
	n, err := e.store.ApproveSkipped(email)
	if err != nil {
		return n, err
	}
	if _, err := e.rescore(email); err != nil {
		return n, err
	}
	return n, nil
}
