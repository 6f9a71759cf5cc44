package main

import (
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// `user get -o json` shows every source folder with its figures: the real
// binary over Dovecot and the Graph emulator. Each folder's source count is
// the generated mailbox's, and its in-target count is what the emulator
// holds in the folder named by TargetPath.
func TestE2E_UserGetShowsPerFolderFigures(t *testing.T) {
	e := newE2E(t, "fold", 1, mailgen.Options{Messages: 40}, graphemu.Options{TimeScale: 60})
	e.start()
	e.newBatch("folders", "--autostart")
	if v := e.waitSynced("folders", 5*time.Minute); v.Status == "Failed" {
		t.Fatalf("batch: %+v", v)
	}
	u := e.user(e.users[0].email)
	dump, ok := e.emu.Dump(e.users[0].email)
	if !ok {
		t.Fatal("no target mailbox")
	}
	inTarget := map[string]int64{}
	for _, m := range dump.Messages {
		inTarget[m.FolderPath]++
	}
	source := map[string]int64{}
	for _, f := range e.users[0].mb.Folders {
		source[strings.Join(f.Path, "/")] = int64(len(f.Messages))
	}
	if len(u.Folders) != len(source) {
		t.Errorf("%d folders shown, the source has %d: %+v", len(u.Folders), len(source), u.Folders)
	}
	if len(u.Folders) == 0 || u.Folders[0].Name != "INBOX" || u.Folders[0].TargetPath != "Inbox" {
		t.Fatalf("first folder: %+v", u.Folders)
	}
	var synced, skipped int64
	for _, f := range u.Folders {
		n, ok := source[f.Name]
		if !ok {
			t.Errorf("folder %q is not in the source", f.Name)
		}
		if f.SourceItemCount != n {
			t.Errorf("%s: SourceItemCount %d, the source has %d", f.Name, f.SourceItemCount, n)
		}
		if f.TargetPath == "" || f.SyncedItemCount != inTarget[f.TargetPath] {
			t.Errorf("%s: SyncedItemCount %d, the emulator holds %d in %q", f.Name, f.SyncedItemCount, inTarget[f.TargetPath], f.TargetPath)
		}
		if f.SyncedItemCount+f.SkippedItemCount != f.SourceItemCount || f.LastSyncTime == nil || !f.InitialSyncComplete {
			t.Errorf("%s: %+v", f.Name, f)
		}
		synced += f.SyncedItemCount
		skipped += f.SkippedItemCount
	}
	if synced != u.SyncedItemCount || skipped != u.SkippedItemCount {
		t.Errorf("folders add up to %d synced, %d skipped; the user has %d, %d", synced, skipped, u.SyncedItemCount, u.SkippedItemCount)
	}
}
