package imapsrc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/mailparse"
	"github.com/imapmig/imapmig/migrate"
)

// metaChunk is how many messages one UID FETCH of metadata covers: the
// chunk is buffered (headers only) and handed to the callback after the
// command completed, so a slow callback never holds a literal open.
const metaChunk = 500

// metaDepth is how many metadata chunk FETCHes are in flight at once
// (pipelined, RFC 9051 5.5): the server works on the next chunks while the
// client parses one and the caller consumes the one before.
const metaDepth = 3

// callbackError carries an error returned by the caller's fn unchanged
// through the reconnect loop.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

func unwrapCallback(err error) error {
	var cb *callbackError
	if errors.As(err, &cb) {
		return cb.err
	}
	return err
}

func flagStrings(fs []imap.Flag) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		if f == "\\Recent" || f == "\\recent" || f == "\\RECENT" {
			continue
		}
		out = append(out, string(f))
	}
	return out
}

// searchSet returns the selected folder's UIDs in [from, to] (to 0 = no
// bound) as the server gave them. It uses ESEARCH (RETURN (ALL)) where
// available.
func (s *source) searchSet(c *imapclient.Client, from, to uint32) (imap.UIDSet, error) {
	crit := &imap.SearchCriteria{}
	if from > 1 || to != 0 {
		if from == 0 {
			from = 1
		}
		var set imap.UIDSet
		set.AddRange(imap.UID(from), imap.UID(to))
		crit.UID = []imap.UIDSet{set}
	}
	var opts *imap.SearchOptions
	if s.has(imap.CapESearch) || s.has(imap.CapIMAP4rev2) {
		opts = &imap.SearchOptions{ReturnAll: true}
	}
	d, err := c.UIDSearch(crit, opts).Wait()
	if err != nil {
		return nil, fmt.Errorf("IMAP UID SEARCH: %w", err)
	}
	set, _ := d.All.(imap.UIDSet)
	return set, nil
}

// searchUIDs returns the selected folder's UIDs in [from, to] (to 0 = no
// bound), sorted.
func (s *source) searchUIDs(c *imapclient.Client, from, to uint32) ([]uint32, error) {
	set, err := s.searchSet(c, from, to)
	if err != nil {
		return nil, err
	}
	return uidsIn(set, from, to), nil
}

// rangesIn is a search result as sorted ranges that neither overlap nor
// touch (ESEARCH answers so; a plain SEARCH's list is merged into runs).
func rangesIn(set imap.UIDSet) []migrate.UIDRange {
	out := make([]migrate.UIDRange, 0, len(set))
	for _, r := range set {
		lo, hi := uint32(r.Start), uint32(r.Stop)
		switch {
		case hi == 0: // "*": not sent in a result; the number itself
			hi = lo
		case hi < lo:
			lo, hi = hi, lo
		}
		if lo == 0 {
			continue
		}
		out = append(out, migrate.UIDRange{First: lo, Last: hi})
	}
	if !slices.IsSortedFunc(out, func(a, b migrate.UIDRange) int { return cmp.Compare(a.First, b.First) }) {
		slices.SortFunc(out, func(a, b migrate.UIDRange) int { return cmp.Compare(a.First, b.First) })
	}
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && uint64(r.First) <= uint64(merged[n-1].Last)+1 {
			merged[n-1].Last = max(merged[n-1].Last, r.Last)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// uidsIn lists the UIDs of a search result in [from, to] (to 0 = no
// bound), sorted, in one allocation: an ESEARCH result of a large folder
// is a few ranges for a hundred thousand UIDs.
func uidsIn(set imap.UIDSet, from, to uint32) []uint32 {
	hi := uint64(to)
	if to == 0 {
		hi = 1<<32 - 1
	}
	clip := func(r imap.UIDRange) (lo, up uint64, ok bool) {
		lo, up = uint64(r.Start), uint64(r.Stop)
		switch {
		case up == 0: // "*": not sent in a result; the number itself
			up = lo
		case up < lo:
			lo, up = up, lo
		}
		// "n:*" matches the highest UID even when it is below n.
		lo, up = max(lo, uint64(from)), min(up, hi)
		return lo, up, lo <= up
	}
	n := uint64(0)
	for _, r := range set {
		if lo, up, ok := clip(r); ok {
			n += up - lo + 1
		}
	}
	out := make([]uint32, 0, n)
	for _, r := range set {
		if lo, up, ok := clip(r); ok {
			for u := lo; u <= up; u++ {
				out = append(out, uint32(u))
			}
		}
	}
	if !slices.IsSorted(out) {
		slices.Sort(out)
	}
	return slices.Compact(out)
}

// UIDs returns the folder's current UID set.
func (s *source) UIDs(ctx context.Context, folder migrate.Folder) ([]uint32, error) {
	set, err := s.uidSet(ctx, folder)
	if err != nil {
		return nil, err
	}
	return uidsIn(set, 1, 0), nil
}

var _ migrate.UIDRanger = (*source)(nil)

// UIDRanges returns the folder's current UID set as ranges: an ESEARCH
// answer as it comes, a few ranges for a large folder.
func (s *source) UIDRanges(ctx context.Context, folder migrate.Folder) ([]migrate.UIDRange, error) {
	set, err := s.uidSet(ctx, folder)
	if err != nil {
		return nil, err
	}
	return rangesIn(set), nil
}

func (s *source) uidSet(ctx context.Context, folder migrate.Folder) (imap.UIDSet, error) {
	var out imap.UIDSet
	err := s.do(ctx, "UID SEARCH", func(ctx context.Context, c *imapclient.Client) error {
		// The folder stays selected from the pass's other calls (see
		// Metas): a second SELECT would cost the server work in proportion
		// to the folder, and the session's view is current.
		if _, err := s.selectFolder(c, folder, false); err != nil {
			return err
		}
		var err error
		out, err = s.searchSet(c, 1, 0)
		return err
	})
	return out, err
}

var headerSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}

// Metas calls fn for every message with a UID in [from, to] in UID order.
// The chunk FETCHes are pipelined (collectMetas); fn runs on the caller's
// goroutine and must not call the source. After a lost connection it
// resumes from the first UID not yet handed to fn.
func (s *source) Metas(ctx context.Context, folder migrate.Folder, from, to uint32, fn func(migrate.MessageMeta) error) error {
	if from == 0 {
		from = 1
	}
	next := from // first UID not yet delivered; a retry resumes here
	err := s.do(ctx, "UID FETCH metadata", func(ctx context.Context, c *imapclient.Client) error {
		// The folder stays selected between calls: a SELECT costs the
		// server work in proportion to the folder (Dovecot: about 12–30 µs
		// per message), and a large first copy reads its folder in chunks,
		// one call each (migrate/stream.go). The session's view is current
		// anyway: the server reports new and expunged messages with every
		// command, so the UID SEARCH below sees them.
		if _, err := s.selectFolder(c, folder, false); err != nil {
			return err
		}
		if to != 0 && next > to {
			return nil
		}
		uids, err := s.searchUIDs(c, next, to)
		if err != nil {
			return err
		}
		d := s.selData
		opts := &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true,
			ModSeq:      s.condStore() && d != nil && d.HighestModSeq != 0, // not on a NOMODSEQ folder
			BodySection: []*imap.FetchItemBodySection{headerSection}}
		chunks := make(chan metaBatch, 1)
		quit := make(chan struct{})
		go s.collectMetas(c, uids, opts, chunks, quit)
		defer func() {
			close(quit)
			for range chunks { // wait until every command is closed
			}
		}()
		for b := range chunks {
			if b.err != nil {
				return b.err
			}
			s.progress()
			for _, meta := range b.metas {
				if meta.UID < next {
					continue
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := fn(meta); err != nil {
					return &callbackError{err}
				}
				next = meta.UID + 1
			}
			if b.last >= next {
				next = b.last + 1
			}
		}
		return nil
	})
	return unwrapCallback(err)
}

// metaBatch is one chunk's metadata in UID order, or the error that
// ended the pipeline.
type metaBatch struct {
	metas []migrate.MessageMeta
	last  uint32 // the chunk's highest requested UID
	err   error
}

// collectMetas issues the chunk FETCHes of uids, metaDepth at a time, and
// sends each chunk's metadata on out in order. Each command in flight has
// its own goroutine reading it: Dovecot runs pipelined UID FETCHes side by
// side and interleaves their responses, and go-imap's reader waits for a
// literal to be consumed, so reading only the oldest command would
// deadlock. It stops after an error or when quit is closed; it closes out
// only after every command it issued has ended, so the connection is idle
// (or broken) then.
func (s *source) collectMetas(c *imapclient.Client, uids []uint32, opts *imap.FetchOptions, out chan<- metaBatch, quit <-chan struct{}) {
	type pending struct {
		done chan struct{}
		b    metaBatch
	}
	var inflight []*pending
	defer func() {
		for _, p := range inflight {
			<-p.done
		}
		close(out)
	}()
	for len(uids) > 0 || len(inflight) > 0 {
		select {
		case <-quit: // the caller stopped: issue nothing more
			return
		default:
		}
		for len(uids) > 0 && len(inflight) < metaDepth {
			n := min(metaChunk, len(uids))
			var set imap.UIDSet
			for _, u := range uids[:n] {
				set.AddNum(imap.UID(u))
			}
			s.progress()
			p := &pending{done: make(chan struct{}), b: metaBatch{last: uids[n-1]}}
			cmd := c.Fetch(set, opts)
			go func() {
				defer close(p.done)
				msgs, err := cmd.Collect()
				if err != nil {
					p.b.err = fmt.Errorf("IMAP UID FETCH %s: %w", set, err)
					return
				}
				p.b.metas = toMetas(msgs)
			}()
			inflight = append(inflight, p)
			uids = uids[n:]
		}
		p := inflight[0]
		<-p.done
		inflight = inflight[1:]
		select {
		case out <- p.b:
		case <-quit:
			return
		}
		if p.b.err != nil {
			return
		}
	}
}

// toMetas converts one chunk's FETCH responses, sorted by UID.
func toMetas(msgs []*imapclient.FetchMessageBuffer) []migrate.MessageMeta {
	slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return cmp.Compare(a.UID, b.UID) })
	out := make([]migrate.MessageMeta, 0, len(msgs))
	for _, m := range msgs {
		meta := migrate.MessageMeta{UID: uint32(m.UID), Flags: flagStrings(m.Flags),
			InternalDate: m.InternalDate, Size: m.RFC822Size, ModSeq: m.ModSeq}
		hdr := migrate.HeaderBlock(m.FindBodySection(headerSection))
		meta.HeaderHash = migrate.HeaderHash(hdr)
		meta.Subject, meta.Date = subjectDate(hdr)
		out = append(out, meta)
	}
	return out
}

// subjectDate decodes Subject and Date for reports, as leniently as the
// conversion reads them (mailparse): a broken header line does not blank the
// subject. What is absent stays empty.
func subjectDate(hdr []byte) (string, time.Time) {
	h, _ := mailparse.ReadHeader(hdr)
	// The RFC 5322 form almost every message has, parsed directly:
	// net/mail.ParseDate tries its layouts in an order that fails (and
	// formats an error) a dozen times first, which was most of the
	// client's CPU for a folder's metadata. Anything else goes the lenient way.
	if t, err := time.Parse(rfc5322Date, strings.TrimSpace(h.Get("Date"))); err == nil {
		return h.Subject(), t
	}
	return h.Subject(), h.Date()
}

// rfc5322Date is the common Date form: "Mon, 2 Jan 2006 15:04:05 -0700".
const rfc5322Date = "Mon, _2 Jan 2006 15:04:05 -0700"

// flagData is one message's answer to UID FETCH (UID FLAGS [MODSEQ]).
type flagData struct {
	uid    uint32
	modseq uint64
	flags  []imap.Flag
}

// readFlags reads the answers of a UID FETCH (UID FLAGS [MODSEQ]) item by
// item into msgs (appended, then sorted by UID), not through go-imap's
// Collect, which buffers every message in a struct for every kind of
// item (the larger part of a delta's reading of CHANGEDSINCE).
func readFlags(fc *imapclient.FetchCommand, msgs []flagData) ([]flagData, error) {
	for m := fc.Next(); m != nil; m = fc.Next() {
		var f flagData
		for item := m.Next(); item != nil; item = m.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				f.uid = uint32(it.UID)
			case imapclient.FetchItemDataFlags:
				f.flags = it.Flags
			case imapclient.FetchItemDataModSeq:
				f.modseq = it.ModSeq
			}
		}
		if f.uid != 0 {
			msgs = append(msgs, f)
		}
	}
	if err := fc.Close(); err != nil {
		return msgs, err
	}
	byUID := func(a, b flagData) int { return cmp.Compare(a.uid, b.uid) }
	if !slices.IsSortedFunc(msgs, byUID) {
		slices.SortFunc(msgs, byUID)
	}
	return msgs, nil
}

// flagChunk is how many messages one UID FETCH (UID FLAGS) of a full flag
// scan covers (about 100 bytes of response each).
const flagChunk = 5000

// ChangedSince reports, in UID order, at least every message whose flags
// changed since modseq: CHANGEDSINCE where the folder has mod-sequences and
// modseq > 0, otherwise the FLAGS of every message (chunked UID FETCH),
// which works on any IMAP4rev1 server and on NOMODSEQ folders.
func (s *source) ChangedSince(ctx context.Context, folder migrate.Folder, modseq uint64, fn func(migrate.MessageMeta) error) error {
	return s.changedSince(ctx, folder, modseq, 0, fn)
}

var _ migrate.ChangedBelower = (*source)(nil)

// ChangedSinceBelow is ChangedSince for the UIDs below below when modseq
// is not 0 (UID FETCH 1:below-1 … (CHANGEDSINCE modseq)).
func (s *source) ChangedSinceBelow(ctx context.Context, folder migrate.Folder, modseq uint64, below uint32, fn func(migrate.MessageMeta) error) error {
	if modseq == 0 {
		below = 0 // a full scan gives the caller the UID set: all of it
	} else if below <= 1 {
		return nil
	}
	return s.changedSince(ctx, folder, modseq, below, fn)
}

// changedSince is ChangedSince for the UIDs below below (0: no bound).
func (s *source) changedSince(ctx context.Context, folder migrate.Folder, modseq uint64, below uint32, fn func(migrate.MessageMeta) error) error {
	next := uint32(1) // first UID not yet delivered; a retry resumes here
	err := s.do(ctx, "UID FETCH FLAGS", func(ctx context.Context, c *imapclient.Client) error {
		// The folder stays selected from the pass's other calls (see
		// Metas and UIDs). A kept selection's SELECT data is as old as
		// that SELECT: its counts and HIGHESTMODSEQ say nothing of changes
		// since, so they shortcut nothing then.
		kept := s.selected == folder.Name && s.selData != nil
		d, err := s.selectFolder(c, folder, false)
		if err != nil {
			return err
		}
		if d.NumMessages == 0 && !kept {
			return nil
		}
		hasModSeq := s.condStore() && d.HighestModSeq != 0 // not NOMODSEQ
		stop := imap.UID(0)                                // "*"
		if below != 0 {
			if next >= below {
				return nil
			}
			stop = imap.UID(below - 1)
		}
		var buf []flagData // reused by every chunk
		deliver := func(msgs []flagData) error {
			for _, m := range msgs {
				if m.uid < next || (hasModSeq && modseq > 0 && m.modseq <= modseq) {
					continue
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := fn(migrate.MessageMeta{UID: m.uid, Flags: flagStrings(m.flags), ModSeq: m.modseq}); err != nil {
					return &callbackError{err}
				}
				next = m.uid + 1
			}
			return nil
		}
		if hasModSeq && modseq > 0 {
			if d.HighestModSeq <= modseq && !kept {
				return nil // nothing changed since
			}
			var set imap.UIDSet
			set.AddRange(imap.UID(next), stop)
			s.progress()
			msgs, err := readFlags(c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, ModSeq: true, ChangedSince: modseq}), buf)
			if err != nil {
				return fmt.Errorf("IMAP UID FETCH CHANGEDSINCE: %w", err)
			}
			return deliver(msgs)
		}
		// A full flag scan, in chunks of known UIDs.
		uids, err := s.searchUIDs(c, next, uint32(stop))
		if err != nil {
			return err
		}
		opts := &imap.FetchOptions{UID: true, Flags: true, ModSeq: hasModSeq}
		for len(uids) > 0 {
			n := min(flagChunk, len(uids))
			var set imap.UIDSet
			for _, u := range uids[:n] {
				set.AddNum(imap.UID(u))
			}
			last := uids[n-1]
			uids = uids[n:]
			s.progress()
			msgs, err := readFlags(c.Fetch(set, opts), buf[:0])
			if err != nil {
				return fmt.Errorf("IMAP UID FETCH FLAGS: %w", err)
			}
			buf = msgs
			if err := deliver(msgs); err != nil {
				return err
			}
			next = max(next, last+1)
		}
		return nil
	})
	return unwrapCallback(err)
}

// Fetch spools the full body of uid.
func (s *source) Fetch(ctx context.Context, folder migrate.Folder, uid uint32) (migrate.Body, error) {
	var body *spoolBody
	err := s.do(ctx, "UID FETCH body", func(ctx context.Context, c *imapclient.Client) error {
		for try := 0; try < 2; try++ {
			if _, err := s.selectFolder(c, folder, try > 0); err != nil {
				return err
			}
			b, err := s.fetchBody(c, uid)
			if err != nil || b != nil {
				body = b
				return err
			}
		}
		return migrate.SkipItem(ReasonMessageGone, fmt.Errorf("UID %d in %q of %s: %w", uid, folder.Name, s.login.UserName, ErrMessageGone))
	})
	if err != nil {
		return nil, err
	}
	return body, nil
}

var bodySection = &imap.FetchItemBodySection{Peek: true}

func (s *source) fetchBody(c *imapclient.Client, uid uint32) (*spoolBody, error) {
	fc := c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{bodySection}})
	var body *spoolBody
	var spoolErr error
	for m := fc.Next(); m != nil; m = fc.Next() {
		for item := m.Next(); item != nil; item = m.Next() {
			bs, ok := item.(imapclient.FetchItemDataBodySection)
			if !ok || bs.Literal == nil || body != nil || spoolErr != nil {
				continue
			}
			body, spoolErr = s.conn.spool(bs.Literal)
		}
	}
	err := fc.Close()
	if spoolErr != nil {
		err = errors.Join(spoolErr, err)
	}
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	return body, nil
}
