package graphemu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
)

// wellKnownFolders are created in every mailbox: name → display name.
var wellKnownFolders = []struct{ name, display string }{
	{"inbox", "Inbox"},
	{"sentitems", "Sent Items"},
	{"drafts", "Drafts"},
	{"deleteditems", "Deleted Items"},
	{"junkemail", "Junk Email"},
	{"archive", "Archive"},
	{"outbox", "Outbox"},
}

type mailbox struct {
	id        string
	address   string
	root      *folder
	folders   map[string]*folder // by id
	wellKnown map[string]*folder
	messages  map[string]*message // by immutable id
	regular   map[string]*message // by current regular id
	purged    int                 // items removed by permanentDelete
	deletions int                 // items soft-deleted out of Deleted Items
}

type folder struct {
	id        string
	parentID  string
	name      string
	wellKnown string
	hidden    bool // created with isHidden: listed only with includeHiddenFolders
}

type extProp struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

type attachment struct {
	id          string
	name        string
	contentType string
	isInline    bool
	contentID   string
	data        []byte
	added       time.Time
}

type message struct {
	immutableID string
	regularID   string
	folderID    string
	fields      map[string]json.RawMessage // client fields kept verbatim
	isDraft     bool
	isRead      bool
	flagStatus  string
	categories  []string
	received    time.Time
	sent        time.Time
	created     time.Time
	modified    time.Time
	ext         []extProp
	attachments []*attachment
	mime        bool
}

// AddMailbox provisions a mailbox (idempotent) and returns its object id.
func (s *Server) AddMailbox(address string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(address)
	if mb, ok := s.mailboxes[key]; ok {
		return mb.id
	}
	mb := &mailbox{
		id:        s.newGUID(),
		address:   address,
		folders:   map[string]*folder{},
		wellKnown: map[string]*folder{},
		messages:  map[string]*message{},
		regular:   map[string]*message{},
	}
	mb.root = &folder{id: s.newID("AAMkRoot"), name: "Top of Information Store", wellKnown: "msgfolderroot"}
	mb.folders[mb.root.id] = mb.root
	mb.wellKnown["msgfolderroot"] = mb.root
	for _, wk := range wellKnownFolders {
		f := &folder{id: s.newID("AAMkF"), parentID: mb.root.id, name: wk.display, wellKnown: wk.name}
		mb.folders[f.id] = f
		mb.wellKnown[wk.name] = f
	}
	s.mailboxes[key] = mb
	return mb.id
}

func (s *Server) newGUID() string {
	id := s.newID("")
	h := sha256.Sum256([]byte(id))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// mailboxLocked finds a mailbox by address or object id. s.mu held.
func (s *Server) mailboxLocked(ref string) *mailbox {
	if mb, ok := s.mailboxes[strings.ToLower(ref)]; ok {
		return mb
	}
	for _, mb := range s.mailboxes {
		if strings.EqualFold(mb.id, ref) {
			return mb
		}
	}
	return nil
}

func (mb *mailbox) folder(ref string) *folder {
	if f, ok := mb.wellKnown[strings.ToLower(ref)]; ok {
		return f
	}
	return mb.folders[ref]
}

func (mb *mailbox) message(ref string) *message {
	if m, ok := mb.messages[ref]; ok {
		return m
	}
	return mb.regular[ref]
}

func (mb *mailbox) folderPath(id string) string {
	var parts []string
	for f := mb.folders[id]; f != nil && f != mb.root; f = mb.folders[f.parentID] {
		parts = append([]string{f.name}, parts...)
	}
	return strings.Join(parts, "/")
}

// hiddenFolder says whether folder id or one of its ancestors is hidden.
func (mb *mailbox) hiddenFolder(id string) bool {
	for f := mb.folders[id]; f != nil; f = mb.folders[f.parentID] {
		if f.hidden {
			return true
		}
	}
	return false
}

// within says whether folder id is ancestor or below it.
func (mb *mailbox) within(id string, ancestor *folder) bool {
	for f := mb.folders[id]; f != nil; f = mb.folders[f.parentID] {
		if f == ancestor {
			return true
		}
	}
	return false
}

// removeMessage takes m out of the mailbox. s.mu held.
func (mb *mailbox) removeMessage(m *message) {
	delete(mb.messages, m.immutableID)
	delete(mb.regular, m.regularID)
}

func (m *message) extValue(id string) (string, bool) {
	for _, p := range m.ext {
		if extIDEqual(p.ID, id) {
			return p.Value, true
		}
	}
	return "", false
}

// extIDEqual compares extended property ids: the type, tag and GUID parts
// case-insensitively, a Name part exactly (Graph: the name is
// case-sensitive).
func extIDEqual(a, b string) bool {
	a, b = strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " ")
	ai, bi := strings.Index(a, " Name "), strings.Index(b, " Name ")
	if ai < 0 || bi < 0 {
		if ai >= 0 || bi >= 0 {
			return false
		}
		return strings.EqualFold(normTag(a), normTag(b))
	}
	return strings.EqualFold(a[:ai], b[:bi]) && a[ai:] == b[bi:]
}

// normTag normalizes "Integer 0x0E07" / "integer 0xe07" to one form.
func normTag(id string) string {
	typ, tag, ok := strings.Cut(id, " ")
	if !ok {
		return id
	}
	if v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(tag), "0x"), 16, 32); err == nil {
		return strings.ToLower(typ) + " " + strconv.FormatUint(v, 16)
	}
	return strings.ToLower(id)
}

// MailboxDump is the full state of one mailbox.
type MailboxDump struct {
	ID       string        `json:"id"`
	Address  string        `json:"address"`
	Folders  []FolderDump  `json:"folders"`
	Messages []MessageDump `json:"messages"`
	// Purged counts items removed by permanentDelete (Recoverable
	// Items/Purges: gone for the user, unlike a soft DELETE).
	Purged int `json:"purged"`
	// Deletions counts items soft-deleted out of Deleted Items
	// (Recoverable Items/Deletions: the user can still recover them).
	Deletions int `json:"deletions"`
}

// FolderDump is one folder.
type FolderDump struct {
	ID            string `json:"id"`
	ParentID      string `json:"parentFolderId"`
	DisplayName   string `json:"displayName"`
	WellKnownName string `json:"wellKnownName,omitempty"`
	Path          string `json:"path"`
	// Hidden is true for a folder created with isHidden and for every
	// folder below one: clients do not show them.
	Hidden bool `json:"isHidden"`
}

// MessageDump is one message with every field.
type MessageDump struct {
	ID              string `json:"id"` // immutable id
	RegularID       string `json:"regularId"`
	FolderID        string `json:"parentFolderId"`
	FolderPath      string `json:"folderPath"`
	FolderWellKnown string `json:"folderWellKnownName,omitempty"`
	// Hidden is true for an item in a hidden folder: no client shows it.
	Hidden     bool     `json:"hidden"`
	Subject    string   `json:"subject"`
	IsDraft    bool     `json:"isDraft"`
	IsRead     bool     `json:"isRead"`
	FlagStatus string   `json:"flagStatus"`
	Categories []string `json:"categories"`
	// Answered is what Outlook shows as "replied": PidTagLastVerbExecuted
	// (Integer 0x1081) is 102 (reply) or 103 (reply all).
	Answered           bool                       `json:"answered"`
	ReceivedDateTime   time.Time                  `json:"receivedDateTime"`
	SentDateTime       time.Time                  `json:"sentDateTime"`
	CreatedDateTime    time.Time                  `json:"createdDateTime"`
	CreatedFromMIME    bool                       `json:"createdFromMime"`
	Fields             map[string]json.RawMessage `json:"fields"`
	ExtendedProperties []ExtendedProperty         `json:"singleValueExtendedProperties"`
	Attachments        []AttachmentDump           `json:"attachments"`
}

// ExtendedProperty is a single-value extended property as stored.
type ExtendedProperty struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// AttachmentDump describes one attachment; bytes are given by hash.
type AttachmentDump struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	IsInline    bool   `json:"isInline"`
	ContentID   string `json:"contentId,omitempty"`
	SHA256      string `json:"sha256"`
}

// Ext returns the value of the extended property id (compared as Graph
// does) and whether it is set.
func (d MessageDump) Ext(id string) (string, bool) {
	for _, p := range d.ExtendedProperties {
		if extIDEqual(p.ID, id) {
			return p.Value, true
		}
	}
	return "", false
}

// Field decodes a verbatim client field into v; false when absent.
func (d MessageDump) Field(name string, v any) bool {
	raw, ok := d.Fields[name]
	if !ok {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}

// Dump returns the state of a mailbox; ok is false when it does not exist.
func (s *Server) Dump(address string) (MailboxDump, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(address)
	if mb == nil {
		return MailboxDump{}, false
	}
	d := MailboxDump{ID: mb.id, Address: mb.address, Purged: mb.purged, Deletions: mb.deletions}
	for _, f := range mb.folders {
		d.Folders = append(d.Folders, FolderDump{ID: f.id, ParentID: f.parentID, DisplayName: f.name, WellKnownName: f.wellKnown, Path: mb.folderPath(f.id), Hidden: mb.hiddenFolder(f.id)})
	}
	sort.Slice(d.Folders, func(i, j int) bool { return d.Folders[i].Path < d.Folders[j].Path })
	for _, m := range mb.messages {
		md := MessageDump{
			ID: m.immutableID, RegularID: m.regularID, FolderID: m.folderID,
			FolderPath: mb.folderPath(m.folderID), Hidden: mb.hiddenFolder(m.folderID), IsDraft: m.isDraft, IsRead: m.isRead,
			FlagStatus: m.flagStatus, Categories: append([]string(nil), m.categories...),
			ReceivedDateTime: m.received, SentDateTime: m.sent, CreatedDateTime: m.created,
			CreatedFromMIME: m.mime, Fields: map[string]json.RawMessage{},
		}
		if f := mb.folders[m.folderID]; f != nil {
			md.FolderWellKnown = f.wellKnown
		}
		for k, v := range m.fields {
			md.Fields[k] = v
		}
		if raw, ok := m.fields["subject"]; ok {
			_ = json.Unmarshal(raw, &md.Subject)
		}
		for _, p := range m.ext {
			md.ExtendedProperties = append(md.ExtendedProperties, ExtendedProperty(p))
		}
		if v, ok := md.Ext("Integer 0x1081"); ok {
			md.Answered = v == "102" || v == "103"
		}
		for _, a := range m.attachments {
			h := sha256.Sum256(a.data)
			md.Attachments = append(md.Attachments, AttachmentDump{ID: a.id, Name: a.name, ContentType: a.contentType, Size: int64(len(a.data)), IsInline: a.isInline, ContentID: a.contentID, SHA256: hex.EncodeToString(h[:])})
		}
		d.Messages = append(d.Messages, md)
	}
	sort.Slice(d.Messages, func(i, j int) bool {
		if !d.Messages[i].CreatedDateTime.Equal(d.Messages[j].CreatedDateTime) {
			return d.Messages[i].CreatedDateTime.Before(d.Messages[j].CreatedDateTime)
		}
		return d.Messages[i].ID < d.Messages[j].ID
	})
	return d, true
}

// SentMail is a message sent through sendMail.
type SentMail struct {
	From            string          `json:"from"`
	Message         json.RawMessage `json:"message"`
	SaveToSentItems bool            `json:"saveToSentItems"`
	At              time.Time       `json:"at"`
}

// Sent returns the sendMail log.
func (s *Server) Sent() []SentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMail(nil), s.sent...)
}

// internetMessageID is the message's internetMessageId: the property, or
// PidTagInternetMessageId (String 0x1035) when it was set that way.
func (m *message) internetMessageID() string {
	if raw, ok := m.fields["internetMessageId"]; ok {
		var v string
		if json.Unmarshal(raw, &v) == nil && v != "" {
			return v
		}
	}
	v, _ := m.extValue("String 0x1035")
	return v
}
