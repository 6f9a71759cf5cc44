package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/imapmig/imapmig/state"
)

// LiveOptions are the engine options a config reload changes while the
// engine runs.
type LiveOptions struct {
	ReportSender   string
	ReportInterval time.Duration
	UserRetries    int // failed passes in a row before a user shows Failed
}

func (e *Engine) live() LiveOptions {
	e.liveMu.RLock()
	defer e.liveMu.RUnlock()
	return LiveOptions{ReportSender: e.opts.ReportSender, ReportInterval: e.opts.ReportInterval, UserRetries: e.opts.UserRetries}
}

// SetLiveOptions applies a reloaded config's report sender, report interval
// and failed-pass limit; zero values keep the defaults.
func (e *Engine) SetLiveOptions(o LiveOptions) {
	e.liveMu.Lock()
	e.opts.ReportSender, e.opts.ReportInterval = o.ReportSender, o.ReportInterval
	if o.UserRetries > 0 {
		e.opts.UserRetries = o.UserRetries
	}
	e.liveMu.Unlock()
	e.notify()
}

// ForgetAdapters drops the cached IMAP connectors of endpoints and Graph
// targets of tenants whose settings changed: the next pass builds them
// anew. Passes in flight finish with the ones they have.
func (e *Engine) ForgetAdapters(endpoints, tenants []string) {
	r := e.reg()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range endpoints {
		delete(r.sources, n)
	}
	for _, n := range tenants {
		delete(r.targets, n)
	}
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
		if b.Status == state.BatchRemoving {
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
			if u.Status != state.UserSynced || u.LastSuccessfulSyncTime.IsZero() {
				continue
			}
			next := u.LastSuccessfulSyncTime.Add(jittered(b.Options.SyncInterval, u.EmailAddress))
			if _, err := e.store.UpdateUser(u.EmailAddress, func(u *state.User) error {
				if u.Status == state.UserSynced {
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
