package imapseed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/testenv/mailgen"
)

// DialFunc opens a logged-in IMAP session on user's mailbox.
type DialFunc func(ctx context.Context, user string) (*imapclient.Client, error)

// Seeder changes mailboxes through sessions from Dial.
type Seeder struct {
	Dial DialFunc
}

// Layout is how folder paths are written on a server: an optional
// personal-namespace prefix and the hierarchy delimiter.
type Layout struct {
	Prefix string
	Delim  rune
}

// Name is the server form of a folder path: "INBOX" stays, other paths get
// the prefix and the delimiter.
func (l Layout) Name(path ...string) string {
	if len(path) == 1 && strings.EqualFold(path[0], "INBOX") {
		return "INBOX"
	}
	return l.Prefix + strings.Join(path, string(l.Delim))
}

// With runs fn in a fresh session on user's mailbox and logs out.
func (s *Seeder) With(ctx context.Context, user string, fn func(c *imapclient.Client) error) error {
	c, err := s.Dial(ctx, user)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := fn(c); err != nil {
		return err
	}
	return c.Logout().Wait()
}

func toFlags(fs []string) []imap.Flag {
	out := make([]imap.Flag, len(fs))
	for i, f := range fs {
		out[i] = imap.Flag(f)
	}
	return out
}

// UIDSet is the set of uids.
func UIDSet(uids []uint32) imap.UIDSet {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return set
}

// CreateIfMissing creates folder; INBOX and an existing folder are fine.
func CreateIfMissing(c *imapclient.Client, folder string) error {
	if strings.EqualFold(folder, "INBOX") {
		return nil
	}
	err := c.Create(folder, nil).Wait()
	var ie *imap.Error
	if err != nil && errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
		return nil
	}
	if err != nil && errors.As(err, &ie) && strings.Contains(strings.ToLower(ie.Text), "already exists") {
		return nil // Cyrus: NO Mailbox already exists, without the response code
	}
	return err
}

// CreateFolder creates folder (server form) for user; an existing folder is
// not an error.
func (s *Seeder) CreateFolder(ctx context.Context, user, folder string) error {
	return s.With(ctx, user, func(c *imapclient.Client) error { return CreateIfMissing(c, folder) })
}

// Append APPENDs msgs to folder (created if missing) with their flags and
// internal dates and returns their UIDs (from APPENDUID; 0 when the server
// has no UIDPLUS).
func (s *Seeder) Append(ctx context.Context, user, folder string, msgs ...mailgen.Message) ([]uint32, error) {
	var uids []uint32
	err := s.With(ctx, user, func(c *imapclient.Client) error {
		if err := CreateIfMissing(c, folder); err != nil {
			return err
		}
		for _, m := range msgs {
			var flags []string
			for _, f := range m.Flags {
				if !strings.EqualFold(f, `\Recent`) {
					flags = append(flags, f)
				}
			}
			opts := &imap.AppendOptions{Flags: toFlags(flags)}
			if !m.InternalDate.IsZero() {
				opts.Time = m.InternalDate
			}
			a := c.Append(folder, int64(len(m.Raw)), opts)
			if _, err := a.Write(m.Raw); err != nil {
				return err
			}
			if err := a.Close(); err != nil {
				return err
			}
			d, err := a.Wait()
			if err != nil {
				return fmt.Errorf("APPEND to %q: %w", folder, err)
			}
			uids = append(uids, uint32(d.UID))
		}
		return nil
	})
	return uids, err
}

// SeedAppend APPENDs every folder of mb, named through layout.
func (s *Seeder) SeedAppend(ctx context.Context, user string, layout Layout, mb *mailgen.Mailbox) error {
	for _, f := range mb.Folders {
		if _, err := s.Append(ctx, user, layout.Name(f.Path...), f.Messages...); err != nil {
			return fmt.Errorf("seed %s/%v: %w", user, f.Path, err)
		}
	}
	return nil
}

// SetFlags replaces the flags of uids in folder.
func (s *Seeder) SetFlags(ctx context.Context, user, folder string, uids []uint32, flags []string) error {
	return s.store(ctx, user, folder, uids, imap.StoreFlagsSet, flags)
}

// AddFlags adds flags to uids in folder.
func (s *Seeder) AddFlags(ctx context.Context, user, folder string, uids []uint32, flags []string) error {
	return s.store(ctx, user, folder, uids, imap.StoreFlagsAdd, flags)
}

// RemoveFlags clears flags of uids in folder.
func (s *Seeder) RemoveFlags(ctx context.Context, user, folder string, uids []uint32, flags []string) error {
	return s.store(ctx, user, folder, uids, imap.StoreFlagsDel, flags)
}

func (s *Seeder) store(ctx context.Context, user, folder string, uids []uint32, op imap.StoreFlagsOp, flags []string) error {
	return s.With(ctx, user, func(c *imapclient.Client) error {
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			return err
		}
		return c.Store(UIDSet(uids), &imap.StoreFlags{Op: op, Silent: true, Flags: toFlags(flags)}, nil).Close()
	})
}

// expunge removes uids from the selected folder: UID EXPUNGE with UIDPLUS,
// otherwise a plain EXPUNGE after making sure only uids carry \Deleted.
func expunge(c *imapclient.Client, set imap.UIDSet) error {
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return err
	}
	if c.Caps().Has(imap.CapUIDPlus) {
		return c.UIDExpunge(set).Close()
	}
	return c.Expunge().Close()
}

// Expunge removes uids from folder (STORE \Deleted and EXPUNGE).
func (s *Seeder) Expunge(ctx context.Context, user, folder string, uids ...uint32) error {
	return s.With(ctx, user, func(c *imapclient.Client) error {
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			return err
		}
		return expunge(c, UIDSet(uids))
	})
}

// Move moves uids from folder to dest (created if missing) and returns the
// new UIDs in dest (empty without UIDPLUS). It uses MOVE when the server
// offers it, otherwise COPY + STORE \Deleted + EXPUNGE.
func (s *Seeder) Move(ctx context.Context, user, folder, dest string, uids ...uint32) ([]uint32, error) {
	var out []uint32
	err := s.With(ctx, user, func(c *imapclient.Client) error {
		if err := CreateIfMissing(c, dest); err != nil {
			return err
		}
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			return err
		}
		set := UIDSet(uids)
		var dst imap.NumSet
		if c.Caps().Has(imap.CapMove) {
			d, err := c.Move(set, dest).Wait()
			if err != nil {
				return err
			}
			if d != nil {
				dst = d.DestUIDs
			}
		} else {
			d, err := c.Copy(set, dest).Wait()
			if err != nil {
				return err
			}
			if err := expunge(c, set); err != nil {
				return err
			}
			dst = d.DestUIDs
		}
		if set, ok := dst.(imap.UIDSet); ok {
			if nums, ok := set.Nums(); ok {
				for _, u := range nums {
					out = append(out, uint32(u))
				}
			}
		}
		return nil
	})
	return out, err
}

// DeleteFolder deletes folder and its messages.
func (s *Seeder) DeleteFolder(ctx context.Context, user, folder string) error {
	return s.With(ctx, user, func(c *imapclient.Client) error { return c.Delete(folder).Wait() })
}

// RenameFolder renames folder (with its children) to name.
func (s *Seeder) RenameFolder(ctx context.Context, user, folder, name string) error {
	return s.With(ctx, user, func(c *imapclient.Client) error { return c.Rename(folder, name, nil).Wait() })
}

// resetDeadline bounds how long ResetFolder retries for a new UIDVALIDITY.
const resetDeadline = 30 * time.Second

// ResetFolder deletes and recreates folder, so it is empty and has a new
// UIDVALIDITY (the situation a migration must survive without duplicates).
// Servers that derive UIDVALIDITY from the clock in seconds may hand out the
// old one again within the same second: then it deletes and recreates again
// until the value differs. It returns the new UIDVALIDITY.
func (s *Seeder) ResetFolder(ctx context.Context, user, folder string) (uint32, error) {
	var uv uint32
	err := s.With(ctx, user, func(c *imapclient.Client) error {
		old, err := c.Status(folder, &imap.StatusOptions{UIDValidity: true}).Wait()
		if err != nil {
			return err
		}
		deadline := time.Now().Add(resetDeadline)
		for {
			if err := c.Delete(folder).Wait(); err != nil {
				return err
			}
			if err := c.Create(folder, nil).Wait(); err != nil {
				return err
			}
			st, err := c.Status(folder, &imap.StatusOptions{UIDValidity: true}).Wait()
			if err != nil {
				return err
			}
			if st.UIDValidity != old.UIDValidity {
				uv = st.UIDValidity
				return nil
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("UIDVALIDITY of %q stays %d after delete and create", folder, old.UIDValidity)
			}
		}
	})
	return uv, err
}

// Messages returns the messages of folder in UID order with their bytes,
// flags (without \Recent) and internal dates.
func (s *Seeder) Messages(ctx context.Context, user, folder string) ([]mailgen.Message, []uint32, error) {
	var msgs []mailgen.Message
	var uids []uint32
	err := s.With(ctx, user, func(c *imapclient.Client) error {
		sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			return err
		}
		if sel.NumMessages == 0 {
			return nil
		}
		body := &imap.FetchItemBodySection{Peek: true}
		var all imap.SeqSet
		all.AddRange(1, 0)
		bufs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
		if err != nil {
			return err
		}
		for _, b := range bufs {
			var flags []string
			for _, f := range b.Flags {
				if !strings.EqualFold(string(f), `\Recent`) {
					flags = append(flags, string(f))
				}
			}
			msgs = append(msgs, mailgen.Message{Raw: b.FindBodySection(body), Flags: flags, InternalDate: b.InternalDate})
			uids = append(uids, uint32(b.UID))
		}
		return nil
	})
	return msgs, uids, err
}

// RecreateFolder is what a server does when it rebuilds a folder's index:
// the same messages (bytes, flags, dates) under a new UIDVALIDITY and new
// UIDs. It returns the new UIDVALIDITY.
func (s *Seeder) RecreateFolder(ctx context.Context, user, folder string) (uint32, error) {
	msgs, _, err := s.Messages(ctx, user, folder)
	if err != nil {
		return 0, err
	}
	uv, err := s.ResetFolder(ctx, user, folder)
	if err != nil {
		return 0, err
	}
	if len(msgs) > 0 {
		if _, err := s.Append(ctx, user, folder, msgs...); err != nil {
			return 0, err
		}
	}
	return uv, nil
}
