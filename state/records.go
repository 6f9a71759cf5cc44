package state

import (
	"time"

	"github.com/imapmig/imapmig/migrate/model"
)

// The domain types live in migrate/model; the state stores them. These
// aliases keep the store's signatures short.
type (
	BatchStatus  = model.BatchStatus
	UserStatus   = model.UserStatus
	Endpoint     = model.Endpoint
	Tenant       = model.Tenant
	BatchOptions = model.BatchOptions
	Batch        = model.Batch
	User         = model.User
	SkippedItem  = model.SkippedItem
	Event        = model.Event
)

// FolderState is what a pass remembers of one source folder.
type FolderState struct {
	Name          string `json:"Name"`
	UIDValidity   uint32 `json:"UidValidity"`
	UIDNext       uint32 `json:"UidNext"`
	Messages      uint32 `json:"Messages"`
	HighestModSeq uint64 `json:"HighestModSeq"`
	TargetID      string `json:"TargetId"`
	// Path is the folder's path relative to the personal namespace, as the
	// engine mapped it (for reports and move detection).
	Path []string `json:"Path,omitempty"`
	// Dirty is set while a pass applies changes to the folder and cleared
	// when it finishes: a folder found dirty was interrupted, so the next
	// pass rebuilds its key set from the target before creating anything.
	Dirty bool `json:"Dirty,omitempty"`
	// Complete is set once every message of the folder has been handled
	// at least once (the initial copy finished).
	Complete bool `json:"Complete,omitempty"`
	// InScope and InScopeBytes count the folder's messages in scope (after
	// date filters) at the last pass; Items and ItemBytes those in the
	// target.
	InScope      int64 `json:"InScope"`
	InScopeBytes int64 `json:"InScopeBytes"`
	Items        int64 `json:"Items"`
	ItemBytes    int64 `json:"ItemBytes"`
	// TargetPath, LastSyncTime and LastChangeTime are for the per-folder
	// view (migrate/folderviews.go): the target folder by display names,
	// when a pass last finished the folder, and last applied a change.
	TargetPath     string    `json:"TargetPath,omitempty"`
	LastSyncTime   time.Time `json:"LastSyncTime,omitzero"`
	LastChangeTime time.Time `json:"LastChangeTime,omitzero"`
}

// Message flag bits stored in MessageRecord.Flags.
const (
	FlagSeen uint8 = 1 << iota
	FlagFlagged
	FlagAnswered
	FlagDraft
	FlagDeleted
	// FlagOutOfScope marks a message left out by a date filter.
	FlagOutOfScope
)

// MessageRecord maps one source UID to its target item.
type MessageRecord struct {
	UID       uint32
	SourceKey string
	ItemID    string
	Flags     uint8
	Size      int64
	Keywords  []string
}
