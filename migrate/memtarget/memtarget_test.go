package memtarget_test

import (
	"testing"

	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/targettest"
)

const (
	user    = "alice@contoso.test"
	sender  = "reports@contoso.test"
	missing = "nobody@contoso.test"
)

// TestConformance runs the Target conformance suite against the fake, so the
// engine's unit tests can never rely on something graphdst refuses.
func TestConformance(t *testing.T) {
	tg := memtarget.New(user, sender)
	targettest.Run(t, targettest.Options{
		Target: tg, Mailbox: user, MissingMailbox: missing, Sender: sender, NoConversion: true,
		Inspect: func(t *testing.T, mailbox, itemID string) (targettest.Item, bool) {
			mb := tg.Box(mailbox)
			if mb == nil {
				return targettest.Item{}, false
			}
			it, ok := mb.Item(itemID)
			if !ok {
				return targettest.Item{}, false
			}
			return targettest.Item{
				FolderID: it.Folder, IsDraft: it.Draft, IsRead: it.Flags.Seen, Flagged: it.Flags.Flagged,
				Categories: it.Flags.Categories, Received: it.Received, SourceKey: it.Key, Headers: it.Headers,
			}, true
		},
		RemoveFolder: func(t *testing.T, mailbox, folderID string) { tg.Box(mailbox).RemoveFolder(folderID) },
		Sent: func(t *testing.T) []string {
			var out []string
			for _, s := range tg.Sent() {
				out = append(out, s.Subject)
			}
			return out
		},
	})
}
