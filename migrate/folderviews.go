package migrate

import (
	"slices"
	"strings"
	"time"

	"github.com/imapmig/imapmig/state"
)

// FolderView is one source folder of a user as `imapmig user get -o json`
// shows it (the user's Folders): where it goes and its figures at the end
// of the last pass that handled it. Exchange's IMAP migration has no
// per-folder view; the names follow the user's own fields.
type FolderView struct {
	// Name is the source folder's path, "/"-separated whatever the
	// server's delimiter (as in skipped items' Folder).
	Name string `json:"Name"`
	// TargetPath is the Exchange folder it is copied into, by display
	// name ("Inbox/Projects", "Sent Items"); empty until a pass mapped it.
	TargetPath string `json:"TargetPath"`
	// SourceItemCount and SourceSize are the folder's messages in scope
	// (after the batch's date filters) at the last pass.
	SourceItemCount int64 `json:"SourceItemCount"`
	SourceSize      int64 `json:"SourceSize"`
	// SyncedItemCount and SyncedBytes are those of them in the target.
	SyncedItemCount int64 `json:"SyncedItemCount"`
	SyncedBytes     int64 `json:"SyncedBytes"`
	// SkippedItemCount is the folder's recorded skipped items (approved
	// ones included, as in the user's SkippedItemCount).
	SkippedItemCount int64 `json:"SkippedItemCount"`
	// InitialSyncComplete is set once every message of the folder was
	// handled at least once.
	InitialSyncComplete bool `json:"InitialSyncComplete"`
	// LastSyncTime is when a pass last found the folder in step: the last
	// pass that finished it, or the user's last successful pass (which
	// checks every folder, skipping those the server reports unchanged).
	// LastChangeTime is the last pass that found it changed in the source
	// (new, removed or re-flagged messages) and applied that change.
	LastSyncTime   *time.Time `json:"LastSyncTime"`
	LastChangeTime *time.Time `json:"LastChangeTime"`
}

// wellKnownDisplay is how Exchange shows its well-known folders (English).
var wellKnownDisplay = map[string]string{
	WellKnownRoot:         "",
	WellKnownInbox:        "Inbox",
	WellKnownSentItems:    "Sent Items",
	WellKnownDrafts:       "Drafts",
	WellKnownDeletedItems: "Deleted Items",
	WellKnownJunkEmail:    "Junk Email",
	WellKnownArchive:      "Archive",
}

// targetDisplay is a target folder path by display names.
func targetDisplay(p FolderPath) string {
	var parts []string
	if d, ok := wellKnownDisplay[p.WellKnown]; !ok && p.WellKnown != "" {
		parts = append(parts, p.WellKnown)
	} else if d != "" {
		parts = append(parts, d)
	}
	return strings.Join(append(parts, p.Names...), "/")
}

// stampFolder adds to a folder's state, as a pass finishes it, what the
// per-folder view shows: the target path and when it was synced and last
// changed. s.saved still holds the figures of the pass before.
func (p *pass) stampFolder(fs *state.FolderState, s *folderScan) {
	now := p.e.now().UTC()
	fs.TargetPath = targetDisplay(s.plan.Target)
	fs.LastSyncTime = now
	if len(s.newMetas) > 0 || len(s.vanished) > 0 || len(s.changes) > 0 || !s.saved.Complete ||
		fs.Items != s.saved.Items || fs.InScope != s.saved.InScope {
		fs.LastChangeTime = now
	}
}

// savedFolders is a user's saved folder states, by name, and skipped items.
func (e *Engine) savedFolders(email string) (map[string]state.FolderState, []state.SkippedItem, error) {
	fs, err := e.store.Folders(email)
	if err != nil {
		return nil, nil, err
	}
	sk, err := e.store.Skipped(email)
	if err != nil {
		return nil, nil, err
	}
	return fs, sk, nil
}

// folderViews is a user's folders with their figures, by name.
func (e *Engine) folderViews(u state.User) ([]FolderView, error) {
	fs, sk, err := e.savedFolders(u.EmailAddress)
	if err != nil {
		return nil, err
	}
	skipped := map[string]int64{}
	for _, it := range sk {
		skipped[it.Folder]++
	}
	out := make([]FolderView, 0, len(fs))
	for _, f := range fs {
		name := displayPath(f.Path)
		if name == "" {
			name = f.Name
		}
		synced := f.LastSyncTime
		if f.Complete && !f.Dirty && u.LastSuccessfulSyncTime.After(synced) {
			synced = u.LastSuccessfulSyncTime
		}
		out = append(out, FolderView{
			Name: name, TargetPath: f.TargetPath,
			SourceItemCount: f.InScope, SourceSize: f.InScopeBytes,
			SyncedItemCount: f.Items, SyncedBytes: f.ItemBytes,
			SkippedItemCount:    skipped[name],
			InitialSyncComplete: f.Complete,
			LastSyncTime:        timePtr(synced), LastChangeTime: timePtr(f.LastChangeTime),
		})
	}
	slices.SortFunc(out, func(a, b FolderView) int {
		// INBOX first, then by name, as mail clients list them.
		ai, bi := strings.EqualFold(a.Name, "INBOX"), strings.EqualFold(b.Name, "INBOX")
		if ai != bi {
			if ai {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}
