// The engine's read-only queries: batches, users, skipped items, events, statistics.

package migrate

import (
	"github.com/imapmig/imapmig/migrate/model"
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
	if u.Status == model.UserQueued && !u.QueuedAt.IsZero() {
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

// Stats are the daemon-wide totals.
type Stats struct {
	Batches          int                       `json:"BatchCount"`
	Users            int                       `json:"UserCount"`
	UsersByStatus    map[state.UserStatus]int  `json:"UsersByStatus"`
	BatchesByStatus  map[state.BatchStatus]int `json:"BatchesByStatus"`
	SyncedItemCount  int64                     `json:"SyncedItemCount"`
	SyncedBytes      int64                     `json:"SyncedBytes"`
	SkippedItemCount int64                     `json:"SkippedItemCount"`
	// EstimatedTotalCount, MissingItemCount, NotSyncedCount and
	// DataConsistencyScore are as on a batch, over all batches: failed and
	// not yet synced users count as missing, and the score is the worst.
	EstimatedTotalCount  int64  `json:"EstimatedTotalCount"`
	EstimatedTotalSize   int64  `json:"EstimatedTotalSize"`
	MissingItemCount     int64  `json:"MissingItemCount"`
	NotSyncedCount       int    `json:"NotSyncedCount"`
	DataConsistencyScore string `json:"DataConsistencyScore"`
}

// Stats sums all batches.
func (e *Engine) Stats() (Stats, error) {
	s := Stats{UsersByStatus: map[state.UserStatus]int{}, BatchesByStatus: map[state.BatchStatus]int{}}
	bs, err := e.store.Batches()
	if err != nil {
		return s, err
	}
	for _, b := range bs {
		s.Batches++
		s.BatchesByStatus[b.Status]++
	}
	us, err := e.store.Users("")
	if err != nil {
		return s, err
	}
	for _, u := range us {
		s.Users++
		s.UsersByStatus[u.Status]++
		s.SyncedItemCount += u.SyncedItemCount
		s.SyncedBytes += u.SyncedBytes
		s.SkippedItemCount += u.SkippedItemCount
		s.EstimatedTotalCount += u.EstimatedTotalCount
		s.EstimatedTotalSize += u.EstimatedTotalSize
		s.MissingItemCount += missingOf(u)
		if u.LastSuccessfulSyncTime.IsZero() {
			s.NotSyncedCount++
		}
	}
	s.DataConsistencyScore = batchScore(us)
	return s, nil
}
