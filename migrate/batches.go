// The engine's batch verbs: create, add users, start, stop, sync now, complete, remove, approve, options.

package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/imapmig/imapmig/csvbatch"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
)

// BatchSpec describes a batch to create.
type BatchSpec struct {
	Name     string
	Endpoint string
	Tenant   string
	// CSVPath or CSV gives the users (CSV wins when both are set).
	CSVPath         string
	CSV             []byte
	Options         state.BatchOptions
	Autostart       bool
	SkipInvalidRows bool
	FromConfig      bool
}

// CreateResult tells what CreateBatch did.
type CreateResult struct {
	Batch       BatchView          `json:"Batch"`
	Users       int                `json:"UserCount"`
	SkippedRows []csvbatch.Problem `json:"SkippedRows,omitempty"`
}

// CreateBatch validates the CSV and stores the batch with its users. With
// Autostart it starts it too.
func (e *Engine) CreateBatch(ctx context.Context, spec BatchSpec) (*CreateResult, error) {
	if !ValidName(spec.Name) {
		return nil, ErrInvalidName
	}
	if err := e.checkRefs(spec.Endpoint, spec.Tenant); err != nil {
		return nil, err
	}
	var res *csvbatch.Result
	var err error
	if spec.CSV != nil {
		res, err = csvbatch.Parse(strings.NewReader(string(spec.CSV)))
	} else {
		res, err = csvbatch.ParseFile(spec.CSVPath)
	}
	if err != nil {
		return nil, err
	}
	if !res.Valid() && !spec.SkipInvalidRows {
		return nil, &CSVError{Problems: res.Problems}
	}
	users := make([]state.NewUser, len(res.Users))
	for i, u := range res.Users {
		users[i] = state.NewUser{EmailAddress: u.EmailAddress, UserName: u.UserName, Password: u.Password, UserRoot: u.UserRoot}
	}
	b := state.Batch{
		Name: spec.Name, Endpoint: spec.Endpoint, Tenant: spec.Tenant, CSVPath: spec.CSVPath,
		Options: spec.Options, FromConfig: spec.FromConfig, CreatedAt: e.now().UTC(),
	}
	if b.Options.SyncInterval == 0 {
		b.Options.SyncInterval = 24 * time.Hour
	}
	e.mu.Lock()
	err = e.store.CreateBatch(b, users)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	e.event(spec.Name, "", "info", fmt.Sprintf("batch created with %d users (%d bad rows left out)", len(users), len(res.Problems)))
	if spec.Autostart {
		if err := e.StartBatch(ctx, spec.Name); err != nil {
			return nil, err
		}
	}
	v, err := e.Batch(spec.Name)
	if err != nil {
		return nil, err
	}
	return &CreateResult{Batch: v, Users: len(users), SkippedRows: res.Problems}, nil
}

func (e *Engine) checkRefs(endpoint, tenant string) error {
	eps, err := e.store.Endpoints()
	if err != nil {
		return err
	}
	if !hasName(eps, endpoint, func(x state.Endpoint) string { return x.Name }) {
		return &RefError{Kind: "endpoint", Name: endpoint}
	}
	ts, err := e.store.Tenants()
	if err != nil {
		return err
	}
	if !hasName(ts, tenant, func(x state.Tenant) string { return x.Name }) {
		return &RefError{Kind: "tenant", Name: tenant}
	}
	return nil
}

func hasName[T any](xs []T, name string, key func(T) string) bool {
	for _, x := range xs {
		if key(x) == name {
			return true
		}
	}
	return false
}

// ValidName reports whether s can name a batch or an endpoint: 1-64
// letters, digits, '-', '_' or '.' (it appears in URLs and file names).
func ValidName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
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
	return e.store.UpdateBatchUsers(batch, func(u *state.User) bool {
		if !slices.Contains(from, u.Status) {
			return false
		}
		fn(u)
		return true
	})
}

// StartBatch starts a created or stopped batch, and resumes failed users
// (Exchange's Start/Resume). Its users wait in Queued for the scheduler.
func (e *Engine) StartBatch(ctx context.Context, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.batchFor("start", name,
		[]state.BatchStatus{model.BatchCreated, model.BatchStopped, model.BatchFailed, model.BatchSyncedWithErrors, model.BatchSyncing, model.BatchSynced},
		"a completed or completing batch cannot be started; to migrate its Failed users again, remove each (`imapmig user remove EMAIL`, the mail already copied stays) and add them to a new batch (`imapmig batch new`)")
	if err != nil {
		return err
	}
	now := e.now().UTC()
	n, err := e.setUsers(name, []state.UserStatus{model.UserCreated, model.UserStopped, model.UserFailed, model.UserStopping}, func(u *state.User) {
		u.Status = model.UserQueued
		u.QueuedAt = now
		u.ErrorReason, u.LastError = "", ""
		u.Failures = 0 // a resumed user gets failed_pass_limit passes again
	})
	if err != nil {
		return err
	}
	if _, err := e.store.UpdateBatch(name, func(b *state.Batch) error {
		b.Status = model.BatchSyncing
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
		[]state.BatchStatus{model.BatchStarting, model.BatchSyncing, model.BatchSynced, model.BatchSyncedWithErrors},
		"only a running or synced batch can be stopped")
	if err != nil {
		return err
	}
	if _, err := e.setUsers(name, []state.UserStatus{model.UserQueued, model.UserSynced}, func(u *state.User) {
		u.Status = model.UserStopped
	}); err != nil {
		return err
	}
	if _, err := e.setUsers(name, []state.UserStatus{model.UserValidating, model.UserSyncing, model.UserIncrementalSyncing}, func(u *state.User) {
		u.Status = model.UserStopping
	}); err != nil {
		return err
	}
	e.cancelBatch(name)
	if _, err := e.store.UpdateBatch(name, func(b *state.Batch) error { b.Status = model.BatchStopped; return nil }); err != nil {
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
		[]state.BatchStatus{model.BatchSyncing, model.BatchSynced, model.BatchSyncedWithErrors},
		"SyncNow needs a started batch; start it first (start also resumes failed users)")
	if err != nil {
		return 0, err
	}
	now := e.now().UTC()
	n, err := e.setUsers(name, []state.UserStatus{model.UserSynced}, func(u *state.User) { u.NextSyncAt = now })
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
		[]state.BatchStatus{model.BatchSynced, model.BatchSyncedWithErrors},
		"a batch can be completed once its initial sync is done (Synced or SyncedWithErrors)")
	if err != nil {
		return err
	}
	now := e.now().UTC()
	if _, err := e.setUsers(name, []state.UserStatus{model.UserSynced}, func(u *state.User) {
		u.Status = model.UserCompleting
		u.NextSyncAt = now
	}); err != nil {
		return err
	}
	if _, err := e.store.UpdateBatch(name, func(b *state.Batch) error { b.Status = model.BatchCompleting; return nil }); err != nil {
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
	if _, err := e.store.UpdateBatch(name, func(b *state.Batch) error { b.Status = model.BatchRemoving; return nil }); err != nil {
		return err
	}
	e.cancelBatch(name)
	e.log.Info("batch removed", "batch", name)
	return e.store.RemoveBatch(name)
}

// AddUsers adds the users of a CSV to an existing batch (Exchange's
// Set-MigrationBatch -AddUsers). When the batch is running they are queued.
func (e *Engine) AddUsers(ctx context.Context, batch string, csv []byte, csvPath string, skipInvalid bool) (*CreateResult, error) {
	b, err := e.store.Batch(batch)
	if err != nil {
		return nil, err
	}
	switch b.Status {
	case model.BatchCompleting, model.BatchCompleted, model.BatchCompletedWithErrors, model.BatchRemoving:
		return nil, &ActionError{Object: "batch", Name: batch, Status: string(b.Status), Action: "add users to", Hint: "create a new batch for them"}
	}
	var res *csvbatch.Result
	if csv != nil {
		res, err = csvbatch.Parse(strings.NewReader(string(csv)))
	} else {
		res, err = csvbatch.ParseFile(csvPath)
	}
	if err != nil {
		return nil, err
	}
	if !res.Valid() && !skipInvalid {
		return nil, &CSVError{Problems: res.Problems}
	}
	users := make([]state.NewUser, len(res.Users))
	for i, u := range res.Users {
		users[i] = state.NewUser{EmailAddress: u.EmailAddress, UserName: u.UserName, Password: u.Password, UserRoot: u.UserRoot}
	}
	e.mu.Lock()
	err = e.store.AddUsers(batch, users)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	e.event(batch, "", "info", fmt.Sprintf("%d users added", len(users)))
	if b.Status != model.BatchCreated && b.Status != model.BatchStopped {
		if err := e.StartBatch(ctx, batch); err != nil {
			return nil, err
		}
	}
	v, err := e.Batch(batch)
	if err != nil {
		return nil, err
	}
	return &CreateResult{Batch: v, Users: len(users), SkippedRows: res.Problems}, nil
}

// ApproveBatch approves the skipped items of every user of a batch.
func (e *Engine) ApproveBatch(ctx context.Context, name string) (int, error) {
	us, err := e.Users(name)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, u := range us {
		n, err := e.ApproveSkipped(ctx, u.EmailAddress)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// BatchOptionsPatch changes some of a batch's options; nil fields stay.
type BatchOptionsPatch struct {
	ExcludeFolders      *[]string
	IncludeFolders      *[]string
	NotificationEmails  *[]string
	SyncInterval        *time.Duration
	ReceivedAfter       *time.Time
	StartAfter          *time.Time
	CompleteAfter       *time.Time
	MigrateDeletedItems *bool
}

// Empty reports whether the patch changes nothing.
func (p BatchOptionsPatch) Empty() bool {
	return p.ExcludeFolders == nil && p.IncludeFolders == nil && p.NotificationEmails == nil && p.SyncInterval == nil &&
		p.ReceivedAfter == nil && p.StartAfter == nil && p.CompleteAfter == nil && p.MigrateDeletedItems == nil
}

// SetBatchOptions edits a batch at run time (Exchange's Set-MigrationBatch).
// Folder filters and the received-after date apply from each user's next
// pass; a new sync interval reschedules the synced users' next sync from
// their last one.
func (e *Engine) SetBatchOptions(ctx context.Context, name string, p BatchOptionsPatch) (BatchView, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p.SyncInterval != nil && *p.SyncInterval < time.Minute {
		return BatchView{}, fmt.Errorf("sync interval %s: must be at least 1m", *p.SyncInterval)
	}
	var changed []string
	b, err := e.store.UpdateBatch(name, func(b *state.Batch) error {
		if b.Status == model.BatchRemoving {
			return &ActionError{Object: "batch", Name: name, Status: string(b.Status), Action: "change"}
		}
		o := &b.Options
		setList := func(key string, dst *[]string, v *[]string) {
			if v != nil && !slices.Equal(*dst, *v) {
				*dst = slices.Clone(*v)
				changed = append(changed, fmt.Sprintf("%s=%s", key, strings.Join(*v, ",")))
			}
		}
		setTime := func(key string, dst *time.Time, v *time.Time) {
			if v != nil && !dst.Equal(*v) {
				*dst = *v
				changed = append(changed, fmt.Sprintf("%s=%s", key, v.Format(time.RFC3339)))
			}
		}
		setList("exclude_folders", &o.ExcludeFolders, p.ExcludeFolders)
		setList("include_folders", &o.IncludeFolders, p.IncludeFolders)
		setList("notification_emails", &o.NotificationEmails, p.NotificationEmails)
		setTime("received_after", &o.ReceivedAfter, p.ReceivedAfter)
		setTime("start_after", &o.StartAfter, p.StartAfter)
		setTime("complete_after", &o.CompleteAfter, p.CompleteAfter)
		if p.SyncInterval != nil && o.SyncInterval != *p.SyncInterval {
			o.SyncInterval = *p.SyncInterval
			changed = append(changed, "sync_interval="+p.SyncInterval.String())
		}
		if p.MigrateDeletedItems != nil && o.MigrateDeletedItems != *p.MigrateDeletedItems {
			o.MigrateDeletedItems = *p.MigrateDeletedItems
			changed = append(changed, fmt.Sprintf("migrate_deleted_items=%v", *p.MigrateDeletedItems))
		}
		return nil
	})
	if err != nil {
		return BatchView{}, err
	}
	if p.SyncInterval != nil {
		us, err := e.store.Users(name)
		if err != nil {
			return BatchView{}, err
		}
		for _, u := range us {
			if u.Status != model.UserSynced || u.LastSuccessfulSyncTime.IsZero() {
				continue
			}
			next := u.LastSuccessfulSyncTime.Add(jittered(b.Options.SyncInterval, u.EmailAddress))
			if _, err := e.store.UpdateUser(u.EmailAddress, func(u *state.User) error {
				if u.Status == model.UserSynced {
					u.NextSyncAt = next
				}
				return nil
			}); err != nil {
				return BatchView{}, err
			}
		}
	}
	if len(changed) > 0 {
		e.event(name, "", "info", "batch options changed: "+strings.Join(changed, "; "))
		e.notify()
	}
	return e.Batch(name)
}
