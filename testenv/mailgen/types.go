package mailgen

import "time"

// Mailbox is a generated mailbox in a server-neutral form: folders with their
// attributes and messages as raw RFC 5322 bytes. Both the Dovecot harness
// (maildir files or APPEND) and imapmemserver can be seeded from it.
type Mailbox struct {
	Folders []Folder
}

// Folder is one generated folder.
type Folder struct {
	// Path is the folder's decoded name split into hierarchy components,
	// relative to the personal namespace: []string{"INBOX"},
	// []string{"Archiv", "2019"}. A component may contain "/" only when the
	// generator was told the server's delimiter is not "/".
	Path []string
	// SpecialUse is the RFC 6154 attribute ("\Sent", …) or "" for none.
	SpecialUse string
	Messages   []Message
}

// Name joins Path with delim, the server form without namespace prefix.
func (f Folder) Name(delim rune) string {
	s := ""
	for i, p := range f.Path {
		if i > 0 {
			s += string(delim)
		}
		s += p
	}
	return s
}

// Message is one generated message.
type Message struct {
	Raw          []byte
	Flags        []string // IMAP flags and keywords (\Seen, \Flagged, $Label1, …)
	InternalDate time.Time
	// Kind says what the message is, so end-to-end tests can assert exactly
	// which items are skipped: one of the Kind* constants.
	Kind string
	// Subject is the decoded subject (for reports in tests).
	Subject string
}

// Kinds of generated messages.
const (
	KindPlain      = "plain"
	KindHTML       = "html"
	KindAttachment = "attachment"
	KindInline     = "inline-image"
	KindLarge      = "large"      // 1–10 MB
	KindNearLimit  = "near-limit" // just under 35 MB
	KindOversize   = "oversize"   // above 35 MB: the engine must skip it
	KindMalformed  = "malformed"
	KindSMIME      = "smime" // multipart/signed
	KindDuplicate  = "duplicate"
	KindNoMsgID    = "no-message-id"
	KindEncoded    = "rfc2047" // RFC 2047 encoded headers
	Kind8Bit       = "8bit-header"
)
