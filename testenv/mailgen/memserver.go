package mailgen

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

type literal struct {
	*bytes.Reader
}

func (l literal) Size() int64 { return l.Reader.Size() }

// SeedMemServer creates mb's folders in u (an imapmemserver user, delimiter
// "/") and appends the messages with their flags and internal dates.
// imapmemserver ignores special-use attributes.
func SeedMemServer(u *imapmemserver.User, mb *Mailbox) error {
	for _, f := range mb.Folders {
		name := f.Name('/')
		if strings.EqualFold(name, "INBOX") {
			name = "INBOX"
		}
		// Parents first; existing folders are fine.
		for i := 1; i <= len(f.Path); i++ {
			p := strings.Join(f.Path[:i], "/")
			if strings.EqualFold(p, "INBOX") {
				p = "INBOX"
			}
			if _, err := u.Status(p, &imap.StatusOptions{}); err == nil {
				continue
			}
			if err := u.Create(p, nil); err != nil {
				return fmt.Errorf("mailgen: create %q: %w", p, err)
			}
		}
		for _, m := range f.Messages {
			flags := make([]imap.Flag, len(m.Flags))
			for i, fl := range m.Flags {
				flags[i] = imap.Flag(fl)
			}
			if _, err := u.Append(name, literal{bytes.NewReader(m.Raw)}, &imap.AppendOptions{Flags: flags, Time: m.InternalDate}); err != nil {
				return fmt.Errorf("mailgen: append to %q: %w", name, err)
			}
		}
	}
	return nil
}
