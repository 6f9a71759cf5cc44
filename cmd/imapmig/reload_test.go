package main

import (
	"encoding/json"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// poll runs cond until it holds, failing after a generous deadline.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestServe_SIGHUPAppliesWhatItCanAndNamesWhatNeedsRestart: a reload adds a
// tenant that a batch added in the same reload finds, applies a config
// batch's changed exclude_folders and sync_interval and the log level, and
// logs "needs restart: KEY" for what it cannot apply live.
func TestServe_SIGHUPAppliesWhatItCanAndNamesWhatNeedsRestart(t *testing.T) {
	wave1 := "batches:\n  - {name: wave1, endpoint: old, tenant: contoso, csv: one.csv, sync_interval: 24h}\n"
	dd := newDaemonDir(t, `log_level: info
endpoints: [{name: old, host: 127.0.0.1, port: 1}]
tenants:
  - {name: contoso, tenant_id: t, client_id: c, client_secret_env: TEST_CLIENT_SECRET, authority_host: "https://127.0.0.1:1"}
`+wave1)
	base, cfg, env := strings.TrimSuffix(dd.yaml, wave1), dd.cfg, dd.env
	dd.file(t, "one.csv", csvRows(1))
	dd.file(t, "two.csv", "EmailAddress,UserName,Password\nnew@fabrikam.com,n,Pw-new-secret\n")
	d, logs := startServeLogs(t, cfg, dd.addr, []string{"TEST_CLIENT_SECRET=unused-test-secret"})
	batch := func(name string) (migrate.BatchView, bool) {
		out, _, code := runCLI(t, env, "batch", "get", name, "-o", "json")
		var v migrate.BatchView
		if code != 0 {
			return v, false
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		return v, true
	}

	next := strings.Replace(base, "log_level: info", "log_level: debug\nmax_message_bytes: 1000000\nreport_sender: mig@contoso.com", 1) +
		"  - {name: fabrikam, tenant_id: f, client_id: c, client_secret_env: TEST_CLIENT_SECRET, authority_host: \"https://127.0.0.1:1\"}\n" +
		"batches:\n  - {name: wave1, endpoint: old, tenant: contoso, csv: one.csv, sync_interval: 2h, exclude_folders: [Junk, Archiv]}\n" +
		"  - {name: wave2, endpoint: old, tenant: fabrikam, csv: two.csv, autostart: true}\n"
	writeFile(t, cfg, next)
	d.Process.Signal(syscall.SIGHUP)
	poll(t, "the reload", func() bool { return strings.Contains(logs.String(), "config reloaded") })
	v, ok := batch("wave1")
	if !ok || v.Options.SyncInterval != 2*time.Hour || !slices.Equal(v.Options.ExcludeFolders, []string{"Junk", "Archiv"}) {
		t.Errorf("wave1 options after reload: %+v", v.Options)
	}
	if _, ok := batch("wave2"); !ok {
		t.Fatal("wave2 not created by the reload")
	}
	for _, want := range []string{"needs restart: max_message_bytes", "log_level", "report_sender", "batches[wave1].sync_interval", "batches[wave1].exclude_folders", "tenants[fabrikam] (added)"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("reload log lacks %q", want)
		}
	}
	if !strings.Contains(logs.String(), "level=DEBUG") {
		t.Error("log_level: debug not applied (no debug lines)")
	}
	// wave2's user tries its tenant, which the reload added: whatever fails
	// (nothing answers on its authority), it is not TenantNotFound.
	poll(t, "wave2's user to try its tenant", func() bool {
		out, _, _ := runCLI(t, env, "user", "get", "new@fabrikam.com", "-o", "json")
		var u migrate.UserView
		_ = json.Unmarshal([]byte(out), &u)
		if u.ErrorReason == "TenantNotFound" {
			t.Fatalf("a tenant added by the reload is not found: %s", u.LastError)
		}
		return u.ErrorReason != ""
	})
}

func TestBatchSet_ChangesOptionsAtRunTime(t *testing.T) {
	dd := newDaemonDir(t, `endpoints: [{name: old, host: 127.0.0.1, port: 1}]
tenants: [{name: contoso, tenant_id: t, client_id: c, client_secret_env: TEST_CLIENT_SECRET}]
`)
	csv := dd.file(t, "one.csv", csvRows(2))
	startServe(t, dd.cfg, dd.addr)
	env := dd.env
	if _, errOut, code := runCLI(t, env, "batch", "new", "w", "--endpoint", "old", "--tenant", "contoso", "--csv", csv, "--exclude-folders", "Spam"); code != 0 {
		t.Fatal(errOut)
	}
	out, errOut, code := runCLI(t, env, "batch", "set", "w", "--sync-interval", "90m", "--exclude-folders", "Junk,Trash", "-o", "json")
	if code != 0 {
		t.Fatalf("batch set: %d %s", code, errOut)
	}
	var v migrate.BatchView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	if v.Options.SyncInterval != 90*time.Minute || !slices.Equal(v.Options.ExcludeFolders, []string{"Junk", "Trash"}) || !v.Options.MigrateDeletedItems {
		t.Errorf("after batch set: %+v", v.Options)
	}
	// Only the flags given change; "" clears a list.
	out, errOut, _ = runCLI(t, env, "batch", "set", "w", "--exclude-folders", "", "-o", "json")
	v = migrate.BatchView{}
	json.Unmarshal([]byte(out), &v)
	if v.Options.SyncInterval != 90*time.Minute || len(v.Options.ExcludeFolders) != 0 {
		t.Errorf("after clearing exclude_folders: %+v %s", v.Options, errOut)
	}
	evs, _, _ := runCLI(t, env, "batch", "events", "w")
	if !strings.Contains(evs, "sync_interval=1h30m0s") {
		t.Errorf("no event for the change:\n%s", evs)
	}
	for _, bad := range [][]string{{"batch", "set", "w"}, {"batch", "set", "w", "--sync-interval", "10s"}, {"batch", "set", "nosuch", "--sync-interval", "1h"}} {
		if _, errOut, code := runCLI(t, env, bad...); code == 0 {
			t.Errorf("%v accepted: %s", bad, errOut)
		}
	}
}
