package memtarget

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// Target is an in-memory set of mailboxes. It is safe for concurrent use.
type Target struct {
	mu        sync.Mutex
	mailboxes map[string]*Mailbox
	seq       int
	sent      []SentMail
}

// Item is a message in a mailbox.
type Item struct {
	ID, Folder, Key string
	Flags           migrate.Flags
	Draft           bool
	Received        time.Time
	Size            int64
	// Headers is the message's header block as sent (the body itself is
	// not kept).
	Headers string
}

type folder struct{ id, parent, name string }

// Counts are the writes a mailbox received.
type Counts struct{ Creates, Moves, Deletes, Patches, Renames int }

// Mailbox is one mailbox.
type Mailbox struct {
	t       *Target
	folders map[string]*folder
	items   map[string]*Item
	counts  Counts
}

// SentMail is a mail sent with SendMail.
type SentMail struct {
	From          string
	To            []string
	Subject, HTML string
	MessageID     string
}

var wellKnown = []string{migrate.WellKnownRoot, migrate.WellKnownInbox, migrate.WellKnownSentItems, migrate.WellKnownDrafts,
	migrate.WellKnownDeletedItems, migrate.WellKnownJunkEmail, migrate.WellKnownArchive}

// New returns a target holding empty mailboxes for addrs.
func New(addrs ...string) *Target {
	t := &Target{mailboxes: map[string]*Mailbox{}}
	for _, a := range addrs {
		mb := &Mailbox{t: t, folders: map[string]*folder{}, items: map[string]*Item{}}
		for _, wk := range wellKnown {
			parent := migrate.WellKnownRoot
			if wk == migrate.WellKnownRoot {
				parent = ""
			}
			mb.folders[wk] = &folder{id: wk, parent: parent, name: wk}
		}
		t.mailboxes[strings.ToLower(a)] = mb
	}
	return t
}

// Box returns a mailbox for inspection, or nil.
func (t *Target) Box(addr string) *Mailbox {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mailboxes[strings.ToLower(addr)]
}

// Mailbox implements migrate.Target.
func (t *Target) Mailbox(ctx context.Context, addr string) (migrate.Mailbox, error) {
	mb := t.Box(addr)
	if mb == nil {
		return nil, migrate.FailUser(migrate.ReasonRecipientNotFound, fmt.Errorf("%s: %w", addr, migrate.ErrRecipientNotFound))
	}
	return mb, nil
}

// SendMail implements migrate.Target; Sent returns what was sent. Like
// Graph's sendMail, it refuses a sender that is not a mailbox; a
// messageID already sent from the sender is not sent again.
func (t *Target) SendMail(ctx context.Context, from string, to []string, subject, html, messageID string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mailboxes[strings.ToLower(from)] == nil {
		return migrate.FailUser(migrate.ReasonRecipientNotFound, fmt.Errorf("sender %s: %w", from, migrate.ErrRecipientNotFound))
	}
	for _, s := range t.sent {
		if messageID != "" && s.MessageID == messageID && strings.EqualFold(s.From, from) {
			return nil
		}
	}
	t.sent = append(t.sent, SentMail{From: from, To: to, Subject: subject, HTML: html, MessageID: messageID})
	return nil
}

// Sent returns the mails sent so far.
func (t *Target) Sent() []SentMail {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]SentMail(nil), t.sent...)
}

// EnsureFolder implements migrate.Mailbox (names match case-insensitively).
func (m *Mailbox) EnsureFolder(ctx context.Context, p migrate.FolderPath) (string, error) {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	parent := p.WellKnown
	if parent == "" {
		parent = migrate.WellKnownRoot
	}
	for _, n := range p.Names {
		found := ""
		for _, f := range m.folders {
			if f.parent == parent && strings.EqualFold(f.name, n) {
				found = f.id
			}
		}
		if found == "" {
			m.t.seq++
			found = fmt.Sprintf("F%d", m.t.seq)
			m.folders[found] = &folder{id: found, parent: parent, name: n}
		}
		parent = found
	}
	return parent, nil
}

// Create implements migrate.Mailbox; it reads the whole body.
func (m *Mailbox) Create(ctx context.Context, folderID string, nm migrate.NewMessage) (string, error) {
	rc, err := nm.Body.Open()
	if err != nil {
		return "", err
	}
	var hdr headerKeeper
	n, err := io.Copy(&hdr, rc)
	rc.Close()
	if err != nil {
		return "", migrate.Retryable(err)
	}
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	if m.folders[folderID] == nil {
		// As graphdst: Graph's 404 on the folder is a retryable ErrFolderGone.
		return "", migrate.Retryable(fmt.Errorf("folder %s: %w", folderID, migrate.ErrFolderGone))
	}
	m.t.seq++
	id := fmt.Sprintf("I%d", m.t.seq)
	m.items[id] = &Item{ID: id, Folder: folderID, Key: nm.Meta.SourceKey, Flags: nm.Flags, Draft: nm.Draft,
		Received: migrate.ReceivedTime(nm.Meta), Size: n, Headers: string(migrate.HeaderBlock(hdr.b))}
	m.counts.Creates++
	return id, nil
}

func notFound(id string) error {
	return migrate.SkipItem("ErrorItemNotFound", fmt.Errorf("item %s not found", id))
}

// SetFlags implements migrate.Mailbox.
func (m *Mailbox) SetFlags(ctx context.Context, id string, f migrate.Flags) error {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	it, ok := m.items[id]
	if !ok {
		return notFound(id)
	}
	it.Flags = f
	m.counts.Patches++
	return nil
}

// Move implements migrate.Mailbox; ids are immutable.
func (m *Mailbox) Move(ctx context.Context, id, dest string) (string, error) {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	it, ok := m.items[id]
	if !ok {
		return "", notFound(id)
	}
	if m.folders[dest] == nil {
		return "", notFound(dest)
	}
	it.Folder = dest
	m.counts.Moves++
	return id, nil
}

// Delete implements migrate.Mailbox.
func (m *Mailbox) Delete(ctx context.Context, id string) error {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	delete(m.items, id)
	m.counts.Deletes++
	return nil
}

// Keys implements migrate.Mailbox.
func (m *Mailbox) Keys(ctx context.Context, folderID string, fn func(migrate.KeyedItem) error) error {
	m.t.mu.Lock()
	if m.folders[folderID] == nil {
		m.t.mu.Unlock()
		return fmt.Errorf("folder %s: %w", folderID, migrate.ErrFolderGone)
	}
	var ks []migrate.KeyedItem
	for _, it := range m.items {
		if it.Folder == folderID && it.Key != "" {
			ks = append(ks, migrate.KeyedItem{SourceKey: it.Key, ItemID: it.ID})
		}
	}
	m.t.mu.Unlock()
	for _, k := range ks {
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

// LookupKey implements migrate.Mailbox; a missing folder is Graph's 404,
// which graphdst classifies as SkipItem.
func (m *Mailbox) LookupKey(ctx context.Context, folderID, key string) (string, bool, error) {
	if !m.hasFolder(folderID) {
		return "", false, notFound(folderID)
	}
	id := ""
	err := m.Keys(ctx, folderID, func(k migrate.KeyedItem) error {
		if k.SourceKey == key {
			id = k.ItemID
		}
		return nil
	})
	return id, id != "", err
}

// Counts returns the writes so far.
func (m *Mailbox) Counts() Counts {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	return m.counts
}

// Items returns copies of all items.
func (m *Mailbox) Items() []Item {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	out := make([]Item, 0, len(m.items))
	for _, it := range m.items {
		out = append(out, *it)
	}
	return out
}

// Item returns a copy of one item.
func (m *Mailbox) Item(id string) (Item, bool) {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	it, ok := m.items[id]
	if !ok {
		return Item{}, false
	}
	return *it, true
}

// InFolder returns copies of the items of a folder (by id or well-known
// name).
func (m *Mailbox) InFolder(id string) []Item {
	var out []Item
	for _, it := range m.Items() {
		if it.Folder == id {
			out = append(out, it)
		}
	}
	return out
}

// FolderByName returns the id of a folder with that display name, or "".
func (m *Mailbox) FolderByName(name string) string {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	for _, f := range m.folders {
		if f.name == name {
			return f.id
		}
	}
	return ""
}

// Remove deletes an item as a user would in Outlook (not counted).
func (m *Mailbox) Remove(id string) {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	delete(m.items, id)
}

// Duplicates counts items whose source key is already in their folder.
func (m *Mailbox) Duplicates() int {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	seen := map[string]int{}
	for _, it := range m.items {
		seen[it.Folder+"|"+it.Key]++
	}
	d := 0
	for _, n := range seen {
		d += n - 1
	}
	return d
}

// RenameFolder implements migrate.FolderRenamer.
func (m *Mailbox) RenameFolder(ctx context.Context, folderID string, to migrate.FolderPath) error {
	if len(to.Names) == 0 {
		return migrate.SkipItem("ErrorInvalidRequest", fmt.Errorf("cannot become a well-known folder"))
	}
	parent, err := m.EnsureFolder(ctx, migrate.FolderPath{WellKnown: to.WellKnown, Names: to.Names[:len(to.Names)-1]})
	if err != nil {
		return err
	}
	name := to.Names[len(to.Names)-1]
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	f, ok := m.folders[folderID]
	if !ok {
		return notFound(folderID)
	}
	for _, o := range m.folders {
		if o.id != f.id && o.parent == parent && strings.EqualFold(o.name, name) {
			return migrate.SkipItem("ErrorFolderExists", fmt.Errorf("a folder %q exists", name))
		}
	}
	f.name, f.parent = name, parent
	m.counts.Renames++
	return nil
}

var _ migrate.FolderRenamer = (*Mailbox)(nil)

var _ migrate.Target = (*Target)(nil)
var _ migrate.Mailbox = (*Mailbox)(nil)

// maxHeaders bounds what headerKeeper keeps of a message without a blank
// line, so a huge headerless body is not held in memory.
const maxHeaders = 1 << 20

// headerKeeper is an io.Writer that keeps the start of a message until its
// header block is complete and discards the rest.
type headerKeeper struct {
	b    []byte
	done bool
}

func (h *headerKeeper) Write(p []byte) (int, error) {
	if h.done {
		return len(p), nil
	}
	h.b = append(h.b, p...)
	// The block is certain once its blank line is followed by more bytes.
	if n := len(migrate.HeaderBlock(h.b)); n+2 < len(h.b) || len(h.b) > maxHeaders {
		h.b, h.done = h.b[:min(n+2, len(h.b))], true
	}
	return len(p), nil
}

// RemoveFolder deletes a folder, its subfolders and their items as a user
// would in Outlook (not counted).
func (m *Mailbox) RemoveFolder(id string) {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	m.removeFolder(id)
}

func (m *Mailbox) removeFolder(id string) {
	for _, f := range m.folders {
		if f.parent == id {
			m.removeFolder(f.id)
		}
	}
	delete(m.folders, id)
	for iid, it := range m.items {
		if it.Folder == id {
			delete(m.items, iid)
		}
	}
}

func (m *Mailbox) hasFolder(id string) bool {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	return m.folders[id] != nil
}
