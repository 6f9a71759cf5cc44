package imapsrc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/migrate"
)

// namespace is the personal namespace (RFC 2342) plus the namespaces that are
// not the user's own (other users', shared), which are not migrated.
type namespace struct {
	prefix string
	delim  rune
	others []string // prefixes of other-user and shared namespaces
}

func (s *source) namespace(ctx context.Context) (namespace, error) {
	var ns namespace
	if s.has(imap.CapNamespace) || s.has(imap.CapIMAP4rev2) {
		d, err := s.c.Namespace().Wait()
		if err != nil {
			return ns, fmt.Errorf("IMAP NAMESPACE: %w", err)
		}
		if len(d.Personal) > 0 {
			ns.prefix, ns.delim = d.Personal[0].Prefix, d.Personal[0].Delim
		}
		for _, o := range append(append([]imap.NamespaceDescriptor{}, d.Other...), d.Shared...) {
			if o.Prefix != "" {
				ns.others = append(ns.others, o.Prefix)
			}
		}
		if len(d.Personal) > 0 {
			return ns, nil
		}
	}
	// No NAMESPACE: the delimiter from LIST "" "", and the prefix from the
	// top level: a server whose only top-level mailbox is INBOX and that
	// has folders below it (Courier, Cyrus in its default namespace) keeps
	// the user's folders under "INBOX" + delimiter.
	l, err := s.c.List("", "", nil).Collect()
	if err != nil {
		return ns, fmt.Errorf(`IMAP LIST "" "": %w`, err)
	}
	if len(l) > 0 {
		ns.delim = l[0].Delim
	}
	if ns.delim == 0 {
		return ns, nil
	}
	top, err := s.c.List("", "%", nil).Collect()
	if err != nil {
		return ns, fmt.Errorf(`IMAP LIST "" "%%": %w`, err)
	}
	if len(top) != 1 || !strings.EqualFold(top[0].Mailbox, "INBOX") {
		return ns, nil
	}
	below, err := s.c.List("", top[0].Mailbox+string(ns.delim)+"%", nil).Collect()
	if err != nil {
		return ns, fmt.Errorf("IMAP LIST INBOX children: %w", err)
	}
	if len(below) > 0 {
		ns.prefix = top[0].Mailbox + string(ns.delim)
	}
	return ns, nil
}

// path makes a decoded server name relative to the personal namespace and
// UserRoot. ok is false for names outside the user's mailbox.
func (s *source) path(name string, delim rune) (path []string, ok bool) {
	if delim == 0 {
		delim = s.ns.delim
	}
	if strings.EqualFold(name, "INBOX") {
		return []string{"INBOX"}, true
	}
	rel := name
	if root := s.login.UserRoot; root != "" {
		root = strings.TrimSuffix(root, string(delim))
		switch {
		case rel == root:
			return []string{"INBOX"}, true
		case strings.HasPrefix(rel, root+string(delim)):
			rel = rel[len(root)+1:]
		default:
			return nil, false
		}
	} else {
		for _, o := range s.ns.others {
			if strings.HasPrefix(rel, o) && (s.ns.prefix == "" || !strings.HasPrefix(rel, s.ns.prefix)) {
				return nil, false
			}
		}
		if p := s.ns.prefix; p != "" {
			if len(rel) >= len(p) && strings.EqualFold(rel[:len(p)], p) {
				rel = rel[len(p):]
			}
		}
	}
	if rel == "" {
		return nil, false
	}
	if strings.EqualFold(rel, "INBOX") {
		return []string{"INBOX"}, true
	}
	if delim == 0 {
		return []string{rel}, true
	}
	return strings.Split(rel, string(delim)), true
}

func (s *source) statusOptions() *imap.StatusOptions {
	return &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, HighestModSeq: s.condStore()}
}

// Folders lists every folder with special-use attributes and status. On a
// server with LIST-STATUS that is one LIST, plus a STATUS for a folder it
// gave no status for. Without LIST-STATUS, and on Dovecot, it is a STATUS
// for INBOX, a plain LIST and a STATUS per other selectable folder, all
// pipelined (see statuses): Dovecot answers LIST-STATUS for a large maildir
// INBOX about 40 times more slowly than the same STATUS sent first
// (docs/BENCHMARKS.md, "Fourth round: the listing"), while Cyrus answers a
// thousand STATUS commands several times more slowly than one LIST-STATUS.
func (s *source) Folders(ctx context.Context) ([]migrate.Folder, error) {
	var out []migrate.Folder
	err := s.do(ctx, "LIST", func(ctx context.Context, c *imapclient.Client) error {
		out = out[:0]
		if err := s.deselect(c); err != nil {
			return err
		}
		listStatus := s.listStatus()
		// INBOX's STATUS goes first, before anything that opens Dovecot's
		// mailbox list index (LIST, another folder's STATUS): once that
		// index is open, every sync of INBOX, which Dovecot keeps out of
		// the index, reads INBOX's whole maildir uidlist to compare its
		// GUID (mailbox_list_index_status_sync_deinit); before, it does
		// not. A UserRoot user's INBOX is the root folder, asked about
		// with the others.
		var inbox *imapclient.StatusCommand
		if !listStatus && s.login.UserRoot == "" {
			inbox = c.Status("INBOX", s.statusOptions())
		}
		all, err := s.list(c, listStatus)
		if err != nil {
			return err
		}
		for _, d := range all {
			path, ok := s.path(d.Mailbox, d.Delim)
			if !ok {
				continue
			}
			f := migrate.Folder{Path: path, Name: d.Mailbox, Delimiter: d.Delim}
			for _, a := range d.Attrs {
				switch {
				case strings.EqualFold(string(a), string(imap.MailboxAttrNoSelect)), strings.EqualFold(string(a), string(imap.MailboxAttrNonExistent)):
					f.NoSelect = true
				case f.SpecialUse == "":
					f.SpecialUse = specialUse(a)
				}
			}
			if d.Status != nil {
				applyStatus(&f, d.Status)
			}
			out = append(out, f)
		}
		return s.statuses(c, out, inbox)
	})
	return out, err
}

// listStatus reports whether Folders takes the statuses from LIST-STATUS:
// where the server has it and is not Dovecot (identified by its ID answer;
// a Dovecot that does not say so gets LIST-STATUS, as it did before).
func (s *source) listStatus() bool {
	has := s.has(imap.CapListStatus) || s.has(imap.CapIMAP4rev2)
	return has && !strings.HasPrefix(strings.ToLower(s.serverName), "dovecot")
}

// list sends the LIST commands for the user's folders, with RETURN (STATUS)
// when listStatus, and collects their answers. RETURN (…) needs
// LIST-EXTENDED; without it a plain
// LIST is sent, and SPECIAL-USE servers include the attributes there too
// (RFC 6154 §2).
func (s *source) list(c *imapclient.Client, listStatus bool) ([]*imap.ListData, error) {
	rev2 := s.has(imap.CapIMAP4rev2)
	var opts *imap.ListOptions
	if s.has(imap.CapListStatus) || rev2 || s.has(imap.CapListExtended) {
		opts = &imap.ListOptions{ReturnSpecialUse: s.has(imap.CapSpecialUse) || rev2}
		if listStatus {
			opts.ReturnStatus = s.statusOptions()
		}
	}
	patterns := []string{"*"}
	if root := s.login.UserRoot; root != "" {
		root = strings.TrimSuffix(root, string(s.ns.delim))
		patterns = []string{root, root + string(s.ns.delim) + "*"}
	}
	var all []*imap.ListData
	for _, p := range patterns {
		l, err := c.List("", p, opts).Collect()
		if err != nil {
			return nil, fmt.Errorf("IMAP LIST: %w", err)
		}
		all = append(all, l...)
	}
	return all, nil
}

func applyStatus(f *migrate.Folder, st *imap.StatusData) {
	f.UIDValidity = st.UIDValidity
	f.UIDNext = uint32(st.UIDNext)
	if st.NumMessages != nil {
		f.Messages = *st.NumMessages
	}
	f.HighestModSeq = st.HighestModSeq // 0 without CONDSTORE and on NOMODSEQ folders
}

// specialUses are the RFC 6154 and RFC 8457 attributes the engine maps, in
// their canonical spelling (attributes are case-insensitive on the wire).
var specialUses = []imap.MailboxAttr{imap.MailboxAttrAll, imap.MailboxAttrArchive, imap.MailboxAttrDrafts,
	imap.MailboxAttrFlagged, imap.MailboxAttrJunk, imap.MailboxAttrSent, imap.MailboxAttrTrash, imap.MailboxAttr(`\Important`)}

// specialUse returns a's canonical special-use name, or "".
func specialUse(a imap.MailboxAttr) string {
	for _, su := range specialUses {
		if strings.EqualFold(string(a), string(su)) {
			return string(su)
		}
	}
	return ""
}

// noSuchMailbox is SELECTed to leave the selected state on a server
// without UNSELECT: a failed SELECT deselects (RFC 3501 §6.3.1), and,
// unlike CLOSE, it can never expunge anything.
const noSuchMailbox = "imapmig-deselect-no-such-mailbox"

// deselect leaves the selected state. Servers answer STATUS of the selected
// mailbox from the session's view, without the changes other sessions made
// since (Dovecot does): Folders must not see a stale count or UIDNEXT.
func (s *source) deselect(c *imapclient.Client) error {
	if s.selected == "" && c.Mailbox() == nil {
		return nil
	}
	s.selected, s.selData = "", nil
	if s.has(imap.CapUnselect) || s.has(imap.CapIMAP4rev2) {
		if err := c.Unselect().Wait(); err != nil {
			return fmt.Errorf("IMAP UNSELECT: %w", err)
		}
		return nil
	}
	_, err := c.Select(noSuchMailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	var ie *imap.Error
	if err != nil && !errors.As(err, &ie) {
		return fmt.Errorf("IMAP EXAMINE to deselect: %w", err)
	}
	return nil
}
