package dovecot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/testenv/imapseed"
	"github.com/imapmig/imapmig/testenv/internal/serverproc"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// Client opens an IMAP session on user's mailbox, logged in through the
// master user (so it works whatever the user's password). The caller closes
// it (Logout + Close).
func (s *Server) Client(ctx context.Context, user string) (*imapclient.Client, error) {
	return serverproc.DialIMAP(ctx, s.Addr(), func(c *imapclient.Client) error {
		if err := c.Login(user+"*"+s.MasterUser, s.MasterPassword).Wait(); err != nil {
			return fmt.Errorf("dovecot: master login as %s: %w", user, err)
		}
		return nil
	})
}

// FolderName is the server form of a folder path for layout: "INBOX" stays,
// other paths get the namespace prefix and the layout's delimiter.
func FolderName(layout Layout, path []string) string {
	return layout.ImapLayout().Name(path...)
}

func (s *Server) seed() *imapseed.Seeder {
	return &imapseed.Seeder{Dial: s.Client}
}

// CreateFolder creates folder (server form) for user; an existing folder is
// not an error.
func (s *Server) CreateFolder(ctx context.Context, user, folder string) error {
	return s.seed().CreateFolder(ctx, user, folder)
}

// Append APPENDs msgs to folder (created if missing) with their flags and
// internal dates and returns their UIDs.
func (s *Server) Append(ctx context.Context, user, folder string, msgs ...mailgen.Message) ([]uint32, error) {
	return s.seed().Append(ctx, user, folder, msgs...)
}

// SetFlags replaces the flags of uids in folder.
func (s *Server) SetFlags(ctx context.Context, user, folder string, uids []uint32, flags []string) error {
	return s.seed().SetFlags(ctx, user, folder, uids, flags)
}

// AddFlags adds flags to uids in folder.
func (s *Server) AddFlags(ctx context.Context, user, folder string, uids []uint32, flags []string) error {
	return s.seed().AddFlags(ctx, user, folder, uids, flags)
}

// RemoveFlags clears flags of uids in folder.
func (s *Server) RemoveFlags(ctx context.Context, user, folder string, uids []uint32, flags []string) error {
	return s.seed().RemoveFlags(ctx, user, folder, uids, flags)
}

// Expunge removes uids from folder (STORE \Deleted + UID EXPUNGE).
func (s *Server) Expunge(ctx context.Context, user, folder string, uids ...uint32) error {
	return s.seed().Expunge(ctx, user, folder, uids...)
}

// Move moves uids from folder to dest (created if missing) and returns the
// new UIDs in dest: IMAP MOVE, or COPY + expunge when the profile does not
// advertise MOVE.
func (s *Server) Move(ctx context.Context, user, folder, dest string, uids ...uint32) ([]uint32, error) {
	return s.seed().Move(ctx, user, folder, dest, uids...)
}

// DeleteFolder deletes folder and its messages.
func (s *Server) DeleteFolder(ctx context.Context, user, folder string) error {
	return s.seed().DeleteFolder(ctx, user, folder)
}

// RenameFolder renames folder to name.
func (s *Server) RenameFolder(ctx context.Context, user, folder, name string) error {
	return s.seed().RenameFolder(ctx, user, folder, name)
}

// ResetFolder deletes and recreates folder, so it is empty and has a new
// UIDVALIDITY (the situation a migration must survive without duplicates).
// It returns the new UIDVALIDITY.
func (s *Server) ResetFolder(ctx context.Context, user, folder string) (uint32, error) {
	return s.seed().ResetFolder(ctx, user, folder)
}

// RecreateFolder is what a server does when it rebuilds a folder's index:
// the same messages (bytes, flags, dates) under a new UIDVALIDITY and new
// UIDs. It returns the new UIDVALIDITY.
func (s *Server) RecreateFolder(ctx context.Context, user, folder string) (uint32, error) {
	return s.seed().RecreateFolder(ctx, user, folder)
}

// Seeder is the generic IMAP seeder over this server's master login.
func (s *Server) Seeder() *imapseed.Seeder { return s.seed() }

// ImapLayout is the imapseed form of layout.
func (l Layout) ImapLayout() imapseed.Layout {
	return imapseed.Layout{Prefix: l.Prefix(), Delim: l.Delim()}
}

// Seed writes every folder of mb as maildir files (fast; see WriteMaildir).
func (s *Server) Seed(user string, mb *mailgen.Mailbox) error {
	for _, f := range mb.Folders {
		if err := s.WriteMaildir(user, f.Path, f.Messages); err != nil {
			return err
		}
	}
	return nil
}

// SeedAppend APPENDs every folder of mb over IMAP (slower than Seed, but
// works on a mailbox Dovecot has already indexed and returns in UID order).
func (s *Server) SeedAppend(ctx context.Context, user string, mb *mailgen.Mailbox) error {
	u := s.User(user)
	if u == nil {
		return fmt.Errorf("dovecot: unknown user %q", user)
	}
	return s.seed().SeedAppend(ctx, user, u.Layout.ImapLayout(), mb)
}

var fileSeq atomic.Int64

// MaildirDir is the directory of the folder path in user's Maildir++.
func (s *Server) MaildirDir(user string, path []string) (string, error) {
	u := s.User(user)
	if u == nil {
		return "", fmt.Errorf("dovecot: unknown user %q", user)
	}
	root := filepath.Join(u.Home, "Maildir")
	if len(path) == 1 && strings.EqualFold(path[0], "INBOX") {
		return root, nil
	}
	parts := make([]string, len(path))
	for i, p := range path {
		if strings.ContainsAny(p, "./") || p == "" {
			return "", fmt.Errorf("dovecot: folder component %q cannot be stored in Maildir++ (contains '.' or '/')", p)
		}
		parts[i] = encodeMUTF7(p)
	}
	return filepath.Join(root, "."+strings.Join(parts, ".")), nil
}

// WriteMaildir writes msgs directly as maildir files into the folder path
// (created if missing) of user: the fastest way to seed (1,000 messages in
// a fraction of a second). Flags go into the file name (keywords through
// dovecot-keywords), INTERNALDATE into the file's mtime. Files are chowned
// to the mail uid. UIDs are assigned by Dovecot when it next sees the folder,
// in file-name order (which is msgs order).
func (s *Server) WriteMaildir(user string, path []string, msgs []mailgen.Message) error {
	dir, err := s.MaildirDir(user, path)
	if err != nil {
		return err
	}
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	if len(path) != 1 || !strings.EqualFold(path[0], "INBOX") {
		if err := os.WriteFile(filepath.Join(dir, "maildirfolder"), nil, 0o600); err != nil {
			return err
		}
	}
	kw, err := readKeywords(dir)
	if err != nil {
		return err
	}
	kwChanged := false
	base := time.Now().Unix()
	for _, m := range msgs {
		var letters []byte
		for _, f := range m.Flags {
			switch strings.ToLower(f) {
			case `\seen`:
				letters = append(letters, 'S')
			case `\flagged`:
				letters = append(letters, 'F')
			case `\answered`:
				letters = append(letters, 'R')
			case `\draft`:
				letters = append(letters, 'D')
			case `\deleted`:
				letters = append(letters, 'T')
			case `\recent`:
			default:
				if strings.HasPrefix(f, `\`) {
					continue
				}
				idx := -1
				for i, k := range kw {
					if k == f {
						idx = i
					}
				}
				if idx < 0 {
					if len(kw) >= 26 {
						return fmt.Errorf("dovecot: more than 26 keywords in %v", path)
					}
					kw = append(kw, f)
					idx = len(kw) - 1
					kwChanged = true
				}
				letters = append(letters, byte('a'+idx))
			}
		}
		sort.Slice(letters, func(i, j int) bool { return letters[i] < letters[j] })
		n := fileSeq.Add(1)
		name := maildirName(base, n, os.Getpid(), len(m.Raw), string(letters))
		p := filepath.Join(dir, "cur", name)
		if err := os.WriteFile(p, m.Raw, 0o600); err != nil {
			return err
		}
		if !m.InternalDate.IsZero() {
			if err := os.Chtimes(p, m.InternalDate, m.InternalDate); err != nil {
				return err
			}
		}
	}
	if kwChanged {
		var b strings.Builder
		for i, k := range kw {
			b.WriteString(strconv.Itoa(i) + " " + k + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, "dovecot-keywords"), []byte(b.String()), 0o600); err != nil {
			return err
		}
	}
	return serverproc.ChownTree(dir, s.uid, s.gid)
}

// maildirName is a maildir file name in the form Dovecot gives its own
// (<seconds>.M<n>P<pid>.<host>,S=<size>:2,<flags>), with the sequence
// number n as the microseconds field: Dovecot orders new files by seconds,
// then that number, so UIDs follow n. n appears once only. Dovecot keeps a
// folder's files in a hash table keyed by the base name's ELF hash (the
// part before ',' or ':'), and when n appeared twice (M<n> and a Q<n> or a
// trailing <n>), the two copies cancelled out in the hash's folding for
// most process ids: 100,000 names fell into a few thousand buckets, 100–400
// probes a lookup instead of about 2 (TestMaildirName_HashesEvenly), and
// every uidlist read and cur/ scan of such a folder cost Dovecot several
// times what a folder of its own deliveries costs.
func maildirName(base int64, n int64, pid, size int, letters string) string {
	return fmt.Sprintf("%d.M%dP%d.imapmig,S=%d:2,%s", base, n, pid, size, letters)
}

func readKeywords(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var kw []string
	for _, line := range strings.Split(string(b), "\n") {
		i, name, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(i)
		if err != nil || n < 0 || n >= 26 {
			continue
		}
		for len(kw) <= n {
			kw = append(kw, "")
		}
		kw[n] = name
	}
	return kw, nil
}
