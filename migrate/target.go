package migrate

import (
	"context"
	"time"
)

// WellKnown names of Graph mail folders usable as ids in any mailbox language.
const (
	WellKnownRoot         = "msgfolderroot"
	WellKnownInbox        = "inbox"
	WellKnownSentItems    = "sentitems"
	WellKnownDrafts       = "drafts"
	WellKnownDeletedItems = "deleteditems"
	WellKnownJunkEmail    = "junkemail"
	WellKnownArchive      = "archive"
)

// FolderPath names a target folder: an optional well-known root and the
// folder names below it. {WellKnown: "inbox"} is the inbox itself;
// {WellKnown: "inbox", Names: ["Projects"]} a child of it; {Names: ["Old"]}
// a top-level folder beside the inbox.
type FolderPath struct {
	WellKnown string
	Names     []string
}

// Flags is the mutable state of a message that the engine keeps in sync.
type Flags struct {
	Seen       bool
	Flagged    bool
	Answered   bool
	Categories []string // IMAP keywords, minus those that are pure client noise
}

// NewMessage is what the engine asks a Target to create.
type NewMessage struct {
	Meta MessageMeta
	Body Body
	// Draft keeps the message a draft (it came from the source's Drafts).
	Draft bool
	Flags Flags
}

// KeyedItem is a target item carrying a source key.
type KeyedItem struct {
	SourceKey string
	ItemID    string
}

// Target opens destination mailboxes.
type Target interface {
	// Mailbox resolves a mailbox by address; ErrRecipientNotFound (wrapped)
	// when it does not exist.
	Mailbox(ctx context.Context, address string) (Mailbox, error)
	// SendMail sends an HTML report from the sender mailbox. messageID is
	// its RFC 5322 Message-ID ("<…@…>"), derived by the caller from what
	// the mail reports; a mail with that id already sent from the sender
	// is not sent again, so a call repeated after an unknown outcome (a
	// 5xx answered after delivery) sends it once. "" sends without that
	// guarantee.
	SendMail(ctx context.Context, from string, to []string, subject, html, messageID string) error
}

// Mailbox is one destination mailbox. Implementations must be safe for
// concurrent use and own throttling (they wait, they do not fail).
type Mailbox interface {
	// EnsureFolder returns the id of the folder at path, creating missing
	// components (an existing sibling of the same name is reused).
	EnsureFolder(ctx context.Context, path FolderPath) (folderID string, err error)
	// Create makes one message in folder and returns its immutable item id.
	// An outcome it cannot know (timeout, 5xx after the body was sent) is
	// resolved by LookupKey before any retry, never by a blind re-POST.
	Create(ctx context.Context, folderID string, m NewMessage) (itemID string, err error)
	// SetFlags updates read state, flag and categories of an item.
	SetFlags(ctx context.Context, itemID string, f Flags) error
	// Move moves an item to another folder and returns its id there
	// (unchanged with immutable ids).
	Move(ctx context.Context, itemID, destFolderID string) (newID string, err error)
	// Delete removes an item. Deleting an item that is already gone is not
	// an error.
	Delete(ctx context.Context, itemID string) error
	// Keys calls fn for every item in folder that carries a source key.
	Keys(ctx context.Context, folderID string, fn func(KeyedItem) error) error
	// LookupKey finds the item with the given source key in folder.
	LookupKey(ctx context.Context, folderID, sourceKey string) (itemID string, found bool, err error)
}

// ReceivedTime is the time a Target stamps as the received date: the IMAP
// INTERNALDATE, or the Date header when the server gave none.
func ReceivedTime(m MessageMeta) time.Time {
	if !m.InternalDate.IsZero() {
		return m.InternalDate
	}
	return m.Date
}

// FlagUpdate is one item's new flags.
type FlagUpdate struct {
	ItemID string
	Flags  Flags
}

// FlagBatcher is an optional capability of a Mailbox (discovered by type
// assertion, as rclone's optional features are): update the flags of many
// items in few requests. The result has one error (or nil) per update, in
// order, classified like SetFlags' errors.
type FlagBatcher interface {
	SetFlagsBatch(ctx context.Context, updates []FlagUpdate) []error
}

// NotingCreator is an optional capability of a Mailbox: Create that also
// says how the message was stored when it was not a plain copy (Note*
// constants). The engine counts the notes per user.
type NotingCreator interface {
	CreateNoted(ctx context.Context, folderID string, m NewMessage) (itemID string, notes []string, err error)
}

// DeleteBatcher is an optional capability of a Mailbox: delete many items in
// few requests. The result has one error (or nil) per id, in order; an item
// that is already gone counts as deleted.
type DeleteBatcher interface {
	DeleteBatch(ctx context.Context, itemIDs []string) []error
}

// FolderRenamer is an optional capability of a Mailbox: rename and move a
// folder to a new path, keeping its id and its items (a folder renamed on
// the source). ErrFolderExists-like conflicts come back as skip-item errors;
// the engine then moves the items one by one instead.
type FolderRenamer interface {
	RenameFolder(ctx context.Context, folderID string, to FolderPath) error
}

// PendingSweeper is an optional Mailbox capability: it permanently removes
// a folder's incomplete items (a create interrupted mid-upload) that the
// adapter keeps under a key of its own. The engine calls it on a folder
// whose state is not trusted (first pass, interrupted pass, UIDVALIDITY
// change) before it creates anything there, so items whose source message
// is gone by then are not left behind.
type PendingSweeper interface {
	SweepPending(ctx context.Context, folderID string) (int, error)
}
