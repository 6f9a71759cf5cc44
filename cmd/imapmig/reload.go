package main

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/config"
)

// reloadResult says what a reload did with each changed key.
type reloadResult struct {
	Applied      []string // changed and in effect now
	NeedsRestart []string // changed, in effect after a restart
	NotApplied   []string // changed, but never applied to what exists (with why)
}

// reload applies a new, valid config to the running daemon: everything
// that can change live does (log level, report settings, the failed-pass
// limit, endpoints, tenants, new batches, a config batch's options); each
// key that cannot is logged as "needs restart: KEY".
func (d *daemon) reload(ctx context.Context, next *config.Config) reloadResult {
	prev := d.cfg.Load()
	var r reloadResult
	r.topLevel(prev, next)
	if d.api != nil {
		d.api.SetCSVDir(csvDir(next))
	}
	if d.level != nil {
		setLevel(d.level, next.LogLevel)
	}
	d.engine.SetLiveOptions(migrate.LiveOptions{ReportSender: next.ReportSender,
		ReportInterval: time.Duration(next.ReportInterval), UserRetries: next.FailedPassLimit})

	endpoints := diffNamed(&r, "endpoints", prev.Endpoints, next.Endpoints,
		func(e config.Endpoint) string { return e.Name }, "its batches keep it")
	tenants := diffNamed(&r, "tenants", prev.Tenants, next.Tenants,
		func(t config.Tenant) string { return t.Name }, "its batches fail with TenantNotFound")
	d.engine.ForgetAdapters(endpoints, tenants)
	d.reloadBatches(ctx, &r, prev, next)

	err := d.reconcile(ctx, next)
	d.log.Info("config reloaded", "applied", r.Applied)
	for _, k := range r.NeedsRestart {
		d.log.Warn("config reload: needs restart: " + k)
	}
	for _, k := range r.NotApplied {
		d.log.Warn("config reload: not applied: " + k)
	}
	if err != nil {
		d.log.Error("config reload: not everything could be applied", "err", err)
	}
	return r
}

// topLevelKeys are the top-level keys a reload compares, each with whether
// a change takes effect at once (live) or after a restart.
var topLevelKeys = []struct {
	key  string
	live bool
	get  func(*config.Config) any
}{
	{"listen", false, func(c *config.Config) any { return c.Listen }},
	{"metrics_listen", false, func(c *config.Config) any { return c.MetricsListen }},
	{"data_dir", false, func(c *config.Config) any { return c.DataDir }},
	{"tls_cert_file", false, func(c *config.Config) any { return c.TLSCertFile }},
	{"tls_key_file", false, func(c *config.Config) any { return c.TLSKeyFile }},
	{"max_message_bytes", false, func(c *config.Config) any { return c.MaxMessageBytes }},
	{"max_mailbox_items", false, func(c *config.Config) any { return c.MaxMailboxItems }},
	{"log_level", true, func(c *config.Config) any { return c.LogLevel }},
	{"report_sender", true, func(c *config.Config) any { return c.ReportSender }},
	{"report_interval", true, func(c *config.Config) any { return c.ReportInterval }},
	{"failed_pass_limit", true, func(c *config.Config) any { return c.FailedPassLimit }},
	{"graph_outage_limit", false, func(c *config.Config) any { return c.GraphOutageLimit }},
	{"csv_dir", true, func(c *config.Config) any { return csvDir(c) }},
}

// topLevel sorts the changed top-level keys into Applied and NeedsRestart.
func (r *reloadResult) topLevel(prev, next *config.Config) {
	for _, k := range topLevelKeys {
		switch {
		case reflect.DeepEqual(k.get(prev), k.get(next)):
		case k.live:
			r.Applied = append(r.Applied, k.key)
		default:
			r.NeedsRestart = append(r.NeedsRestart, k.key)
		}
	}
}

// diffNamed records the entries of a named list (endpoints, tenants) that
// were added, changed or removed (removed: with why it is not applied) and
// returns the names of the changed ones.
func diffNamed[T any](r *reloadResult, kind string, prev, next []T, name func(T) string, whenRemoved string) []string {
	find := func(list []T, n string) (T, bool) {
		i := slices.IndexFunc(list, func(x T) bool { return name(x) == n })
		if i < 0 {
			var zero T
			return zero, false
		}
		return list[i], true
	}
	var changed []string
	for _, x := range next {
		old, ok := find(prev, name(x))
		switch {
		case !ok:
			r.Applied = append(r.Applied, kind+"["+name(x)+"] (added)")
		case !reflect.DeepEqual(old, x):
			r.Applied = append(r.Applied, kind+"["+name(x)+"]")
			changed = append(changed, name(x))
		}
	}
	for _, x := range prev {
		if _, ok := find(next, name(x)); !ok {
			r.NotApplied = append(r.NotApplied, kind+"["+name(x)+"] (removed from the config; "+whenRemoved+")")
		}
	}
	return changed
}

// reloadBatches applies the changed options of the batches both configs
// name; a new batch is left to reconcile.
func (d *daemon) reloadBatches(ctx context.Context, r *reloadResult, prev, next *config.Config) {
	for _, b := range next.Batches {
		i := slices.IndexFunc(prev.Batches, func(o config.Batch) bool { return o.Name == b.Name })
		if i < 0 {
			continue // new: reconcile creates it
		}
		old := prev.Batches[i]
		key := "batches[" + b.Name + "]."
		for k, same := range map[string]bool{"endpoint": old.Endpoint == b.Endpoint, "tenant": old.Tenant == b.Tenant, "csv": old.CSV == b.CSV} {
			if !same {
				r.NotApplied = append(r.NotApplied, key+k+" (a created batch keeps it; add users with 'batch add-users')")
			}
		}
		p, keys := optionsPatch(old, b)
		if p.Empty() {
			continue
		}
		if _, err := d.engine.SetBatchOptions(ctx, b.Name, p); err != nil {
			r.NotApplied = append(r.NotApplied, fmt.Sprintf("%s* (%v)", key, err))
			continue
		}
		for _, k := range keys {
			r.Applied = append(r.Applied, key+k)
		}
	}
}

// optionsPatch is what changed in a config batch's options between two
// loads of the config, and the keys.
func optionsPatch(old, b config.Batch) (migrate.BatchOptionsPatch, []string) {
	var p migrate.BatchOptionsPatch
	var keys []string
	if !slices.Equal(old.ExcludeFolders, b.ExcludeFolders) {
		p.ExcludeFolders, keys = &b.ExcludeFolders, append(keys, "exclude_folders")
	}
	if !slices.Equal(old.IncludeFolders, b.IncludeFolders) {
		p.IncludeFolders, keys = &b.IncludeFolders, append(keys, "include_folders")
	}
	if !slices.Equal(old.NotificationEmails, b.NotificationEmails) {
		p.NotificationEmails, keys = &b.NotificationEmails, append(keys, "notification_emails")
	}
	if old.SyncInterval != b.SyncInterval {
		v := time.Duration(b.SyncInterval)
		p.SyncInterval, keys = &v, append(keys, "sync_interval")
	}
	for _, t := range []struct {
		key      string
		old, new config.Time
		dst      **time.Time
	}{{"received_after", old.ReceivedAfter, b.ReceivedAfter, &p.ReceivedAfter}, {"start_after", old.StartAfter, b.StartAfter, &p.StartAfter},
		{"complete_after", old.CompleteAfter, b.CompleteAfter, &p.CompleteAfter}} {
		if !t.old.Equal(t.new.Time) {
			v := t.new.Time
			*t.dst, keys = &v, append(keys, t.key)
		}
	}
	if old.DeletedItems() != b.DeletedItems() {
		v := b.DeletedItems()
		p.MigrateDeletedItems, keys = &v, append(keys, "migrate_deleted_items")
	}
	return p, keys
}
