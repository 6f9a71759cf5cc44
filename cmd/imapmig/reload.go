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
	top := func(key string, a, b any, live bool) {
		if reflect.DeepEqual(a, b) {
			return
		}
		if live {
			r.Applied = append(r.Applied, key)
		} else {
			r.NeedsRestart = append(r.NeedsRestart, key)
		}
	}
	top("listen", prev.Listen, next.Listen, false)
	top("metrics_listen", prev.MetricsListen, next.MetricsListen, false)
	top("data_dir", prev.DataDir, next.DataDir, false)
	top("tls_cert_file", prev.TLSCertFile, next.TLSCertFile, false)
	top("tls_key_file", prev.TLSKeyFile, next.TLSKeyFile, false)
	top("max_message_bytes", prev.MaxMessageBytes, next.MaxMessageBytes, false)
	top("max_mailbox_items", prev.MaxMailboxItems, next.MaxMailboxItems, false)
	top("log_level", prev.LogLevel, next.LogLevel, true)
	top("report_sender", prev.ReportSender, next.ReportSender, true)
	top("report_interval", prev.ReportInterval, next.ReportInterval, true)
	top("failed_pass_limit", prev.FailedPassLimit, next.FailedPassLimit, true)
	top("csv_dir", csvDir(prev), csvDir(next), true)
	if d.api != nil {
		d.api.SetCSVDir(csvDir(next))
	}
	if d.level != nil {
		setLevel(d.level, next.LogLevel)
	}
	d.engine.SetLiveOptions(migrate.LiveOptions{ReportSender: next.ReportSender,
		ReportInterval: time.Duration(next.ReportInterval), UserRetries: next.FailedPassLimit})

	var endpoints, tenants []string
	for _, e := range next.Endpoints {
		old, ok := prev.Endpoint(e.Name)
		switch {
		case !ok:
			r.Applied = append(r.Applied, "endpoints["+e.Name+"] (added)")
		case !reflect.DeepEqual(old, e):
			r.Applied = append(r.Applied, "endpoints["+e.Name+"]")
			endpoints = append(endpoints, e.Name)
		}
	}
	for _, t := range next.Tenants {
		old, ok := prev.Tenant(t.Name)
		switch {
		case !ok:
			r.Applied = append(r.Applied, "tenants["+t.Name+"] (added)")
		case !reflect.DeepEqual(old, t):
			r.Applied = append(r.Applied, "tenants["+t.Name+"]")
			tenants = append(tenants, t.Name)
		}
	}
	for _, e := range prev.Endpoints {
		if _, ok := next.Endpoint(e.Name); !ok {
			r.NotApplied = append(r.NotApplied, "endpoints["+e.Name+"] (removed from the config; its batches keep it)")
		}
	}
	for _, t := range prev.Tenants {
		if _, ok := next.Tenant(t.Name); !ok {
			r.NotApplied = append(r.NotApplied, "tenants["+t.Name+"] (removed from the config; its batches fail with TenantNotFound)")
		}
	}
	d.engine.ForgetAdapters(endpoints, tenants)

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
