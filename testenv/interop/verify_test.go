package interop_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// srcMsg is one message as the source server holds it.
type srcMsg struct {
	folder, subject, key string
	seen, flagged        bool
}

// sourceMessages reads every selectable folder of user on s, through an
// admin session (not through imapsrc).
func sourceMessages(t *testing.T, s *server, user string) map[string][]srcMsg {
	t.Helper()
	ctx := context.Background()
	var names []string
	err := s.Seeder.With(ctx, user, func(c *imapclient.Client) error {
		l, err := c.List("", "*", nil).Collect()
		if err != nil {
			return err
		}
		for _, d := range l {
			if !slices.Contains(d.Attrs, imap.MailboxAttrNoSelect) && !slices.Contains(d.Attrs, imap.MailboxAttrNonExistent) {
				names = append(names, d.Mailbox)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]srcMsg{}
	for _, n := range names {
		msgs, _, err := s.Seeder.Messages(ctx, user, n)
		if err != nil {
			t.Fatalf("reading %s: %v", n, err)
		}
		ord := map[string]int{}
		for _, m := range msgs {
			h := migrate.HeaderHash(migrate.HeaderBlock(m.Raw))
			ord[h]++
			sm := srcMsg{folder: n, key: migrate.SourceKey(h, ord[h]), subject: subjectOf(m.Raw)}
			for _, f := range m.Flags {
				sm.seen = sm.seen || strings.EqualFold(f, `\Seen`)
				sm.flagged = sm.flagged || strings.EqualFold(f, `\Flagged`)
			}
			out[n] = append(out[n], sm)
		}
	}
	return out
}

func subjectOf(raw []byte) string {
	for _, l := range strings.Split(string(migrate.HeaderBlock(raw)), "\n") {
		if v, ok := strings.CutPrefix(l, "Subject: "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// mapping is what verify learned: the target item of each source key and
// the target folder of each source folder.
type mapping struct {
	item   map[string]graphemu.MessageDump // by source key
	folder map[string]string               // source folder name → target folder id
	target map[string]graphemu.FolderDump  // target folders by id
}

// verify requires the target to equal the source message by message: each
// source message exactly once, in the one target folder of its source
// folder (INBOX in the inbox, named folders under their names), with its
// read and flag state; nothing else in the target.
func verify(t *testing.T, w *world, s *server, user string, named map[string]string) mapping {
	t.Helper()
	mp, problems := compare(t, w, s, user, named)
	for _, p := range problems {
		t.Error(p)
	}
	return mp
}

// compare is verify returning the differences.
func compare(t *testing.T, w *world, s *server, user string, named map[string]string) (mapping, []string) {
	t.Helper()
	var problems []string
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	src := sourceMessages(t, s, user)
	dump, ok := w.emu.Dump(w.addr)
	if !ok {
		t.Fatalf("no mailbox %s in the emulator", w.addr)
	}
	folders := map[string]graphemu.FolderDump{}
	for _, f := range dump.Folders {
		folders[f.ID] = f
	}
	byKey := map[string][]graphemu.MessageDump{}
	for _, m := range dump.Messages {
		k, _ := m.Ext(graphdst.SourceKeyProperty)
		byKey[k] = append(byKey[k], m)
	}
	mp := mapping{item: map[string]graphemu.MessageDump{}, folder: map[string]string{}, target: folders}
	owner := map[string]string{} // target folder id → source folder
	total := 0
	for folder, msgs := range src {
		for _, m := range msgs {
			total++
			items := byKey[m.key]
			if len(items) != 1 {
				errorf("%s %q is %d times in the target", folder, m.subject, len(items))
				continue
			}
			it := items[0]
			mp.item[m.key] = it
			if tf, ok := mp.folder[folder]; ok && tf != it.FolderID {
				errorf("%s %q is in %s, the folder's other messages in %s", folder, m.subject, it.FolderPath, folders[tf].Path)
			}
			mp.folder[folder] = it.FolderID
			if o, ok := owner[it.FolderID]; ok && o != folder {
				errorf("source folders %s and %s both went to %s", o, folder, it.FolderPath)
			}
			owner[it.FolderID] = folder
			if it.IsRead != m.seen || (it.FlagStatus == "flagged") != m.flagged {
				errorf("%s %q: read=%v flag=%s, want seen=%v flagged=%v", folder, m.subject, it.IsRead, it.FlagStatus, m.seen, m.flagged)
			}
		}
	}
	if id, ok := mp.folder["INBOX"]; ok && folders[id].WellKnownName != "inbox" {
		errorf("INBOX went to %s", folders[id].Path)
	}
	for folder, want := range named {
		if id, ok := mp.folder[folder]; !ok || folders[id].DisplayName != want {
			errorf("%s went to %q, want a folder named %q", folder, folders[id].Path, want)
		}
	}
	if len(dump.Messages) != total {
		errorf("the target has %d items, the source %d messages", len(dump.Messages), total)
	}
	return mp, problems
}
