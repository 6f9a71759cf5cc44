package migrate_test

import (
	"encoding/json"
	"testing"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state/statetest"
)

// The per-folder figures of `user get` come from the engine's own passes:
// each folder's source count, what is in the target (checked against the
// target itself), skipped items by folder, and when a folder was last
// synced and last changed.
func TestEngine_UserFoldersShowPerFolderFigures(t *testing.T) {
	const ann = "ann@contoso.com"
	src, tgt := newFakeServer(), memtarget.New(ann)
	seedBasic(src)
	src.append("INBOX", rawMsg("huge", 9000), day0, `\Seen`)
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, func(o *migrate.Options) { o.MaxMessageBytes = 5000 })
	h.batch("b", ann)
	h.waitUser(ann, model.UserSynced)

	u, err := h.eng.User(ann)
	if err != nil {
		t.Fatal(err)
	}
	mb := tgt.Box(ann)
	type want struct {
		target                  string
		source, synced, skipped int64
		inTarget                int
	}
	wants := map[string]want{
		"INBOX":          {"Inbox", 8, 7, 1, len(mb.InFolder(migrate.WellKnownInbox))},
		"Sent":           {"Sent Items", 1, 1, 0, len(mb.InFolder(migrate.WellKnownSentItems))},
		"Drafts":         {"Drafts", 1, 1, 0, len(mb.InFolder(migrate.WellKnownDrafts))},
		"Projects":       {"Projects", 0, 0, 0, len(mb.InFolder(mb.FolderByName("Projects")))},
		"Projects/Alpha": {"Projects/Alpha", 1, 1, 0, len(mb.InFolder(mb.FolderByName("Alpha")))},
	}
	if len(u.Folders) != len(wants) || u.Folders[0].Name != "INBOX" {
		t.Fatalf("folders: %+v", u.Folders)
	}
	var sumSource, sumSynced, sumSkipped int64
	byName := map[string]migrate.FolderView{}
	for _, f := range u.Folders {
		byName[f.Name] = f
		w, ok := wants[f.Name]
		if !ok {
			t.Errorf("unexpected folder %+v", f)
			continue
		}
		if f.TargetPath != w.target || f.SourceItemCount != w.source || f.SyncedItemCount != w.synced || f.SkippedItemCount != w.skipped {
			t.Errorf("%s: got target %q source %d synced %d skipped %d, want %+v", f.Name, f.TargetPath, f.SourceItemCount, f.SyncedItemCount, f.SkippedItemCount, w)
		}
		if int64(w.inTarget) != f.SyncedItemCount {
			t.Errorf("%s: SyncedItemCount %d but the target folder holds %d", f.Name, f.SyncedItemCount, w.inTarget)
		}
		if !f.InitialSyncComplete || f.LastSyncTime == nil || f.LastChangeTime == nil {
			t.Errorf("%s: after the initial sync: %+v", f.Name, f)
		}
		sumSource += f.SourceItemCount
		sumSynced += f.SyncedItemCount
		sumSkipped += f.SkippedItemCount
	}
	if sumSource != u.EstimatedTotalCount || sumSynced != u.SyncedItemCount || sumSkipped != u.SkippedItemCount {
		t.Errorf("folder sums %d/%d/%d, user %d/%d/%d", sumSource, sumSynced, sumSkipped, u.EstimatedTotalCount, u.SyncedItemCount, u.SkippedItemCount)
	}

	// New mail in one folder: only that folder's change time moves; every
	// folder's sync time does.
	src.append("Projects/Alpha", rawMsg("alpha 2", 300), day0)
	h.syncNow(ann)
	u2, err := h.eng.User(ann)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range u2.Folders {
		old := byName[f.Name]
		if !f.LastSyncTime.After(*old.LastSyncTime) {
			t.Errorf("%s: LastSyncTime %v did not move from %v", f.Name, f.LastSyncTime, old.LastSyncTime)
		}
		changed := f.Name == "Projects/Alpha"
		if got := f.LastChangeTime.After(*old.LastChangeTime); got != changed {
			t.Errorf("%s: LastChangeTime moved=%v, want %v", f.Name, got, changed)
		}
		if changed && (f.SourceItemCount != 2 || f.SyncedItemCount != 2) {
			t.Errorf("%s after new mail: %+v", f.Name, f)
		}
	}

	// Lists of users leave the folders out; one user's JSON has them with
	// the documented names.
	us, err := h.eng.Users("b")
	if err != nil || len(us) != 1 || us[0].Folders != nil {
		t.Errorf("Users: %v %+v", err, us)
	}
	raw, _ := json.Marshal(u2)
	var m struct{ Folders []map[string]any }
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Name", "TargetPath", "SourceItemCount", "SourceSize", "SyncedItemCount", "SyncedBytes", "SkippedItemCount", "InitialSyncComplete", "LastSyncTime", "LastChangeTime"} {
		if _, ok := m.Folders[0][k]; !ok {
			t.Errorf("Folders[0] has no %s: %v", k, m.Folders[0])
		}
	}
}
