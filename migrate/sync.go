package migrate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/imapmig/imapmig/state"
)

// A pass is one sync of one user: the initial copy or an incremental one.
// Both run the same steps (DESIGN §3): scan every folder for what changed
// since the saved state, match moves across folders, then apply moves,
// creates, flag updates and deletes, committing state as it goes.
type pass struct {
	e     *Engine
	user  state.User
	batch state.Batch
	src   Source
	mbx   Mailbox
	log   *slog.Logger
	prog  *progress
	email string

	folderIDs map[string]string // source folder name → target folder id
}

// lite is what a pass keeps in memory of a recorded message.
type lite struct {
	key      string
	flags    Flags
	size     int64
	inTgt    bool // the record maps to a target item
	outScope bool // filtered out by received_after: never copied
}

func liteOf(r state.MessageRecord) lite {
	return liteOfSummary(state.MessageSummary{UID: r.UID, SourceKey: r.SourceKey, Flags: r.Flags, Size: r.Size, Keywords: r.Keywords, InTarget: r.ItemID != ""})
}

func liteOfSummary(r state.MessageSummary) lite {
	return lite{key: r.SourceKey, flags: recordFlags(state.MessageRecord{Flags: r.Flags, Keywords: r.Keywords}), size: r.Size,
		inTgt: r.InTarget, outScope: r.Flags&state.FlagOutOfScope != 0}
}

// folderScan is what changed in one folder.
type folderScan struct {
	plan     folderPlan
	saved    state.FolderState
	hasSaved bool
	// rebuild: the folder's key set must come from the target (no usable
	// state: first pass, UIDVALIDITY changed, or an interrupted pass).
	rebuild   bool
	unchanged bool
	records   map[uint32]lite
	newMetas  []MessageMeta
	vanished  []state.MessageRecord
	changes   []flagChange
	inScope   int64
	inBytes   int64
	gone      bool // the folder no longer exists on the source
	// prior maps source keys to target items recorded before a UIDVALIDITY
	// reset: a key found there but no longer in the target was deleted by
	// the user in Outlook and is not copied again.
	prior map[string]string
}

type flagChange struct {
	uid   uint32
	flags Flags
}

// move is a message that vanished from one folder and appeared in another
// (or the same) folder in this pass.
type move struct {
	from *folderScan
	rec  state.MessageRecord
	to   *folderScan
	meta MessageMeta
}

const commitEvery = 64

// run executes the pass.
func (p *pass) run(ctx context.Context) error {
	folders, err := p.src.Folders(ctx)
	if err != nil {
		return err
	}
	plans, excluded := mapFolders(folders, p.batch.Options)
	present := map[string]bool{} // on the source, in scope or not
	for _, x := range excluded {
		present[x.Name] = true
		p.log.Debug("folder excluded", "folder", x.Display, "reason", x.Reason)
	}
	saved, err := p.e.store.Folders(p.email)
	if err != nil {
		return Fatal(err)
	}
	var scans []*folderScan
	for _, pl := range plans {
		present[pl.Src.Name] = true
		if err := ctx.Err(); err != nil {
			return err
		}
		s, err := p.scan(ctx, pl, saved)
		if errors.Is(err, ErrFolderGone) {
			p.log.Info("folder vanished during the pass; it is looked at again next pass", "folder", pl.Display)
			continue
		}
		if err != nil {
			return err
		}
		scans = append(scans, s)
	}
	// Folders that are gone from the source: their messages may have moved
	// (a rename moves them all); what is not found elsewhere stays in the
	// target, as Exchange leaves a deleted source folder's copy.
	for name, fs := range saved {
		if present[name] {
			continue
		}
		g := &folderScan{saved: fs, hasSaved: true, gone: true, plan: folderPlan{Src: Folder{Name: name, Path: fs.Path}, Display: displayPath(fs.Path)}}
		if err := p.e.store.Messages(p.email, name, func(r state.MessageRecord) error {
			g.vanished = append(g.vanished, r)
			return nil
		}); err != nil {
			return Fatal(err)
		}
		scans = append(scans, g)
	}
	scans, err = p.detectRenames(ctx, scans)
	if err != nil {
		return err
	}
	p.estimate(scans)
	moves := matchMoves(scans)
	p.capMailbox(scans)

	for _, m := range moves {
		if err := p.applyMove(ctx, m); err != nil {
			return err
		}
	}
	for _, s := range scans {
		if s.gone || s.unchanged {
			continue
		}
		if err := p.applyFolder(ctx, s); err != nil {
			return err
		}
	}
	for _, s := range scans {
		if !s.gone {
			continue
		}
		if err := p.e.store.DeleteFolder(p.email, s.plan.Src.Name); err != nil {
			return Fatal(err)
		}
		left := 0
		for _, r := range s.vanished {
			if r.ItemID != "" {
				left++
			}
		}
		p.e.event(p.user.Batch, p.email, "warn", fmt.Sprintf("folder %q is gone from the source; %d of its messages stay in the target", s.plan.Display, left))
	}
	return nil
}

// detectRenames finds folders renamed on the source: a folder gone under
// its old name and a new folder with the same content (by header hash, and
// the same UIDVALIDITY or nearly all keys in common). When the target can
// rename folders, the target folder is renamed and the folder's state moves
// to the new name, so nothing is copied or moved message by message.
func (p *pass) detectRenames(ctx context.Context, scans []*folderScan) ([]*folderScan, error) {
	renamer, ok := p.mbx.(FolderRenamer)
	if !ok {
		return scans, nil
	}
	var gone, fresh []*folderScan
	for _, s := range scans {
		switch {
		case s.gone && s.saved.TargetID != "" && len(s.vanished) > 0:
			gone = append(gone, s)
		case !s.gone && !s.hasSaved && !s.plan.Src.NoSelect && len(s.newMetas) > 0:
			fresh = append(fresh, s)
		}
	}
	if len(gone) == 0 || len(fresh) == 0 {
		return scans, nil
	}
	// Parents first: a renamed parent takes its children along in the
	// target, and their own renames then find them in place.
	slices.SortFunc(gone, func(a, b *folderScan) int { return cmp.Compare(len(a.saved.Path), len(b.saved.Path)) })
	drop := map[*folderScan]bool{}
	for _, g := range gone {
		hashes := map[string]bool{}
		for _, r := range g.vanished {
			h, _ := SplitSourceKey(r.SourceKey)
			hashes[h] = true
		}
		for i, f := range fresh {
			if f == nil {
				continue
			}
			common := 0
			for _, m := range f.newMetas {
				if hashes[m.HeaderHash] {
					common++
				}
			}
			smaller := min(len(f.newMetas), len(g.vanished))
			sameUV := f.plan.Src.UIDValidity == g.saved.UIDValidity
			if !(sameUV && common*5 >= smaller*4 || common*10 >= max(len(f.newMetas), len(g.vanished))*9) {
				continue
			}
			if err := renamer.RenameFolder(ctx, g.saved.TargetID, f.plan.Target); err != nil {
				if KindOf(err) != KindSkipItem {
					return nil, err
				}
				p.log.Info("folder renamed on the source, but not renamable in the target; its messages are moved", "from", g.plan.Display, "to", f.plan.Display, "err", err)
				continue
			}
			fs := g.saved
			fs.Name, fs.Path = f.plan.Src.Name, f.plan.Src.Path
			if err := p.e.store.RenameFolder(p.email, g.plan.Src.Name, fs); err != nil {
				return nil, Fatal(err)
			}
			again, err := p.scan(ctx, f.plan, map[string]state.FolderState{fs.Name: fs})
			if err != nil {
				return nil, err
			}
			*f = *again
			p.folderIDs[fs.Name] = fs.TargetID
			drop[g] = true
			fresh[i] = nil
			p.e.event(p.user.Batch, p.email, "info", fmt.Sprintf("folder %q was renamed on the source to %q; renamed in the target too", g.plan.Display, f.plan.Display))
			break
		}
	}
	out := scans[:0]
	for _, s := range scans {
		if !drop[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// scan finds what changed in one folder since the saved state.
func (p *pass) scan(ctx context.Context, pl folderPlan, saved map[string]state.FolderState) (*folderScan, error) {
	f := pl.Src
	s := &folderScan{plan: pl, records: map[uint32]lite{}}
	s.saved, s.hasSaved = saved[f.Name]
	if f.NoSelect {
		s.unchanged = true
		return s, nil
	}
	sv := s.saved
	if s.hasSaved && !sv.Dirty && sv.Complete && sv.UIDValidity == f.UIDValidity && sv.UIDNext == f.UIDNext &&
		sv.Messages == f.Messages && f.HighestModSeq != 0 && sv.HighestModSeq == f.HighestModSeq {
		s.unchanged = true
		s.inScope, s.inBytes = sv.InScope, sv.InScopeBytes
		return s, nil
	}
	if s.hasSaved && sv.UIDValidity != f.UIDValidity {
		p.log.Info("UIDVALIDITY changed; rebuilding the folder from the target's source keys", "folder", pl.Display,
			"old", sv.UIDValidity, "new", f.UIDValidity)
		s.prior = map[string]string{}
		if err := p.e.store.Messages(p.email, f.Name, func(r state.MessageRecord) error {
			if r.ItemID != "" {
				s.prior[r.SourceKey] = r.ItemID
			}
			return nil
		}); err != nil {
			return nil, Fatal(err)
		}
		if err := p.e.store.ResetMessages(p.email, f.Name); err != nil {
			return nil, Fatal(err)
		}
		s.hasSaved = false
	}
	s.rebuild = !s.hasSaved || sv.Dirty || !sv.Complete
	ordinals := map[string]int{}
	if s.hasSaved {
		if err := p.e.store.Summaries(p.email, f.Name, func(r state.MessageSummary) error {
			s.records[r.UID] = liteOfSummary(r)
			h, o := SplitSourceKey(r.SourceKey)
			ordinals[h] = max(ordinals[h], o)
			return nil
		}); err != nil {
			return nil, Fatal(err)
		}
	}
	from := uint32(1)
	if s.hasSaved && sv.Complete {
		from = sv.UIDNext
	}
	// New messages (and, for a full scan, the flags of known ones).
	after := p.batch.Options.ReceivedAfter
	err := p.src.Metas(ctx, f, from, 0, func(m MessageMeta) error {
		if r, known := s.records[m.UID]; known {
			if fl := flagsFromIMAP(m.Flags); r.inTgt && !sameFlags(fl, r.flags) {
				s.changes = append(s.changes, flagChange{m.UID, fl})
			}
			return nil
		}
		ordinals[m.HeaderHash]++
		m.SourceKey = SourceKey(m.HeaderHash, ordinals[m.HeaderHash])
		if len(m.Subject) > 200 {
			m.Subject = m.Subject[:200]
		}
		if !after.IsZero() && ReceivedTime(m).Before(after) {
			// Out of scope: remembered so it is not fetched again, never copied.
			m.Flags = append(m.Flags, outOfScope)
		}
		s.newMetas = append(s.newMetas, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Flag changes of known messages below the scanned range. Without
	// mod-sequences (no CONDSTORE, or a NOMODSEQ folder) ChangedSince(0)
	// reports every message's FLAGS: that full scan also gives the current
	// UID set, so the expunge check below needs no UID SEARCH.
	var scanned map[uint32]struct{}
	if from > 1 && len(s.records) > 0 {
		switch {
		case f.HighestModSeq != 0 && sv.HighestModSeq != 0 && f.HighestModSeq == sv.HighestModSeq:
		default:
			modseq := sv.HighestModSeq
			if f.HighestModSeq == 0 {
				modseq = 0
			}
			var seen map[uint32]struct{}
			onFlags := func(m MessageMeta) error {
				if seen != nil {
					seen[m.UID] = struct{}{}
				}
				if r, known := s.records[m.UID]; known && m.UID < from {
					if fl := flagsFromIMAP(m.Flags); r.inTgt && !sameFlags(fl, r.flags) {
						s.changes = append(s.changes, flagChange{m.UID, fl})
					}
				}
				return nil
			}
			if modseq == 0 {
				seen = make(map[uint32]struct{}, len(s.records))
			}
			nChanges := len(s.changes)
			err := p.src.ChangedSince(ctx, f, modseq, onFlags)
			if errors.Is(err, ErrNoCondStore) && modseq != 0 {
				// A Source that cannot do CHANGEDSINCE: every message's FLAGS.
				// A second refusal is a permanent capability error.
				s.changes, seen = s.changes[:nChanges], make(map[uint32]struct{}, len(s.records))
				modseq = 0
				err = p.src.ChangedSince(ctx, f, 0, onFlags)
			}
			if err != nil {
				return nil, err
			}
			if modseq == 0 {
				scanned = seen
			}
		}
	}
	// Expunged messages: only when the counts say something vanished.
	if s.hasSaved && len(s.records) > 0 && int64(f.Messages) != int64(len(s.records))+int64(len(s.newMetas)) {
		cur := scanned
		if cur == nil {
			uids, err := p.src.UIDs(ctx, f)
			if err != nil {
				return nil, err
			}
			cur = make(map[uint32]struct{}, len(uids))
			for _, u := range uids {
				cur[u] = struct{}{}
			}
		}
		for uid := range s.records {
			if _, ok := cur[uid]; ok {
				continue
			}
			r, found, err := p.e.store.Message(p.email, f.Name, uid)
			if err != nil {
				return nil, Fatal(err)
			}
			if found {
				s.vanished = append(s.vanished, r)
			}
		}
		slices.SortFunc(s.vanished, func(a, b state.MessageRecord) int { return cmp.Compare(a.UID, b.UID) })
	}
	return s, nil
}

// outOfScope marks a meta filtered out by received_after (an impossible
// IMAP flag, so it cannot clash with a real one).
const outOfScope = `\X-imapmig-out-of-scope`

func isOutOfScope(m MessageMeta) bool { return slices.Contains(m.Flags, outOfScope) }

// estimate fills the user's estimated totals from the scan: known messages
// still in the folder plus new ones, all in scope.
func (p *pass) estimate(scans []*folderScan) {
	var n, bytes int64
	for _, s := range scans {
		if s.gone {
			continue
		}
		if !s.unchanged {
			s.inScope, s.inBytes = 0, 0
			for _, r := range s.records {
				if !r.outScope {
					s.inScope++
					s.inBytes += r.size
				}
			}
			for _, r := range s.vanished {
				if r.Flags&state.FlagOutOfScope == 0 {
					s.inScope--
					s.inBytes -= r.Size
				}
			}
			for _, m := range s.newMetas {
				if !isOutOfScope(m) {
					s.inScope++
					s.inBytes += m.Size
				}
			}
		}
		n += s.inScope
		bytes += s.inBytes
	}
	p.prog.setEstimate(n, bytes)
	_, _ = p.e.store.UpdateUser(p.email, func(u *state.User) error {
		u.EstimatedTotalCount, u.EstimatedTotalSize = n, bytes
		return nil
	})
}

// matchMoves pairs messages that vanished from one folder with new ones of
// the same header hash in another (or the same) folder.
func matchMoves(scans []*folderScan) []move {
	type cand struct {
		s *folderScan
		r state.MessageRecord
	}
	byHash := map[string][]cand{}
	for _, s := range scans {
		for _, r := range s.vanished {
			if r.ItemID == "" {
				continue
			}
			h, _ := SplitSourceKey(r.SourceKey)
			byHash[h] = append(byHash[h], cand{s, r})
		}
	}
	if len(byHash) == 0 {
		return nil
	}
	var moves []move
	for _, s := range scans {
		if s.gone {
			continue
		}
		kept := s.newMetas[:0]
		for _, m := range s.newMetas {
			cs := byHash[m.HeaderHash]
			if len(cs) == 0 || isOutOfScope(m) {
				kept = append(kept, m)
				continue
			}
			c := cs[0]
			byHash[m.HeaderHash] = cs[1:]
			moves = append(moves, move{from: c.s, rec: c.r, to: s, meta: m})
			c.s.vanished = slices.DeleteFunc(c.s.vanished, func(r state.MessageRecord) bool { return r.UID == c.r.UID })
		}
		s.newMetas = kept
	}
	return moves
}

// capMailbox marks the oldest new messages beyond the mailbox item limit.
func (p *pass) capMailbox(scans []*folderScan) {
	limit := int64(p.e.opts.MaxMailboxItems)
	var inTarget int64
	var dates []time.Time
	for _, s := range scans {
		if s.gone {
			continue
		}
		if s.unchanged {
			inTarget += s.saved.Items
		}
		for _, r := range s.records {
			if r.inTgt {
				inTarget++
			}
		}
		for _, m := range s.newMetas {
			if !isOutOfScope(m) {
				dates = append(dates, ReceivedTime(m))
			}
		}
	}
	room := limit - inTarget
	if int64(len(dates)) <= room {
		return
	}
	slices.SortFunc(dates, func(a, b time.Time) int { return b.Compare(a) })
	var cutoff time.Time
	if room > 0 {
		cutoff = dates[room-1]
	} else {
		cutoff = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	allowedAtCutoff := int64(0)
	for i := int64(0); i < room; i++ {
		if dates[i].Equal(cutoff) {
			allowedAtCutoff++
		}
	}
	for _, s := range scans {
		for i, m := range s.newMetas {
			if isOutOfScope(m) {
				continue
			}
			t := ReceivedTime(m)
			if t.Before(cutoff) || t.Equal(cutoff) && allowedAtCutoff == 0 {
				s.newMetas[i].Flags = append(s.newMetas[i].Flags, overCap)
			} else if t.Equal(cutoff) {
				allowedAtCutoff--
			}
		}
	}
}

// overCap marks a meta beyond the mailbox item limit.
const overCap = `\X-imapmig-over-cap`

// folderID returns (creating as needed) the target folder of a scan.
func (p *pass) folderID(ctx context.Context, s *folderScan) (string, error) {
	if id, ok := p.folderIDs[s.plan.Src.Name]; ok {
		return id, nil
	}
	id, err := retryOp(ctx, p.log, p.e.opts.RetryAttempts, p.e.opts.RetryBackoff, func() (string, error) { return p.mbx.EnsureFolder(ctx, s.plan.Target) })
	if err != nil {
		return "", err
	}
	p.folderIDs[s.plan.Src.Name] = id
	return id, nil
}

// markDirty saves the folder's state with Dirty set before changes are
// applied to it, so an interruption makes the next pass check the target.
func (p *pass) markDirty(s *folderScan, id string) error {
	fs := s.saved
	if !s.hasSaved {
		fs = state.FolderState{Name: s.plan.Src.Name}
	}
	fs.Path = s.plan.Src.Path
	fs.UIDValidity = s.plan.Src.UIDValidity
	fs.TargetID = id
	fs.Dirty = true
	s.saved, s.hasSaved = fs, true
	if err := p.e.store.PutFolder(p.email, fs); err != nil {
		return Fatal(err)
	}
	return nil
}

func (p *pass) applyMove(ctx context.Context, m move) error {
	dest, err := p.folderID(ctx, m.to)
	if err != nil {
		return err
	}
	if err := p.markDirty(m.to, dest); err != nil {
		return err
	}
	newID := m.rec.ItemID
	if m.from != m.to {
		newID, err = retryOp(ctx, p.log, p.e.opts.RetryAttempts, p.e.opts.RetryBackoff, func() (string, error) { return p.mbx.Move(ctx, m.rec.ItemID, dest) })
		if err != nil {
			if KindOf(err) != KindSkipItem {
				return err
			}
			// The item is gone from the target (the user deleted it there):
			// the message is recorded as handled, not copied again.
			newID = ""
		}
	}
	fl := flagsFromIMAP(m.meta.Flags)
	if newID != "" && !sameFlags(fl, recordFlags(m.rec)) {
		if _, err := retryOp(ctx, p.log, p.e.opts.RetryAttempts, p.e.opts.RetryBackoff, func() (struct{}, error) { return struct{}{}, p.mbx.SetFlags(ctx, newID, fl) }); err != nil && KindOf(err) != KindSkipItem {
			return err
		}
	}
	rec := state.MessageRecord{UID: m.meta.UID, SourceKey: m.meta.SourceKey, ItemID: newID, Flags: flagBits(fl), Size: m.meta.Size, Keywords: fl.Categories}
	if err := p.e.store.PutMessages(p.email, m.to.plan.Src.Name, []state.MessageRecord{rec}); err != nil {
		return Fatal(err)
	}
	if err := p.e.store.DeleteMessages(p.email, m.from.plan.Src.Name, []uint32{m.rec.UID}); err != nil {
		return Fatal(err)
	}
	m.to.records[m.meta.UID] = liteOf(rec)
	if m.from.records != nil {
		delete(m.from.records, m.rec.UID)
	}
	p.prog.moved()
	p.log.Debug("moved", "from", m.from.plan.Display, "to", m.to.plan.Display, "uid", m.meta.UID)
	return nil
}

// created is the outcome of one create.
type created struct {
	meta   MessageMeta
	itemID string
	err    error
}

// applyFolder creates new messages (newest first), updates flags and deletes
// expunged messages in one folder, then saves its state.
func (p *pass) applyFolder(ctx context.Context, s *folderScan) error {
	id, err := p.folderID(ctx, s)
	if err != nil {
		return err
	}
	wasRebuild := s.rebuild
	if err := p.markDirty(s, id); err != nil {
		return err
	}
	if sw, ok := p.mbx.(PendingSweeper); ok && wasRebuild {
		n, err := retryOp(ctx, p.log, p.e.opts.RetryAttempts, p.e.opts.RetryBackoff, func() (int, error) { return sw.SweepPending(ctx, id) })
		if err != nil {
			return err
		}
		if n > 0 {
			p.log.Info("removed incomplete items of an interrupted create", "folder", s.plan.Display, "count", n)
		}
	}
	// Which source keys the target folder already holds.
	have := map[string]string{}
	if wasRebuild && len(s.newMetas) > 0 {
		if _, err := retryOp(ctx, p.log, p.e.opts.RetryAttempts, p.e.opts.RetryBackoff, func() (struct{}, error) {
			clear(have)
			return struct{}{}, p.mbx.Keys(ctx, id, func(k KeyedItem) error { have[k.SourceKey] = k.ItemID; return nil })
		}); err != nil {
			return err
		}
	}
	for _, r := range s.records {
		delete(have, r.key) // a recorded key is another UID's: never map it twice
	}

	slices.SortStableFunc(s.newMetas, func(a, b MessageMeta) int { return ReceivedTime(b).Compare(ReceivedTime(a)) })
	if err := p.createAll(ctx, s, id, have); err != nil {
		return err
	}
	if err := p.applyFlags(ctx, s); err != nil {
		return err
	}
	if err := p.applyDeletes(ctx, s); err != nil {
		return err
	}
	if len(s.vanished) > 0 {
		keys := map[string]bool{}
		for _, r := range s.vanished {
			keys[r.SourceKey] = true
		}
		if err := p.e.store.ClearSkipped(p.email, func(it state.SkippedItem) bool {
			return it.Folder == s.plan.Display && keys[it.SourceKey]
		}); err != nil {
			return Fatal(err)
		}
	}
	return p.finishFolder(s)
}

// flagChunk is how many flag updates are sent and committed together.
const flagChunk = 100

// applyFlags replays a folder's flag changes, through the target's
// FlagBatcher capability when it has one ($batch), and commits each chunk.
func (p *pass) applyFlags(ctx context.Context, s *folderScan) error {
	batcher, _ := p.mbx.(FlagBatcher)
	for start := 0; start < len(s.changes); start += flagChunk {
		var recs []state.MessageRecord
		var ups []FlagUpdate
		for _, c := range s.changes[start:min(start+flagChunk, len(s.changes))] {
			r, found, err := p.e.store.Message(p.email, s.plan.Src.Name, c.uid)
			if err != nil {
				return Fatal(err)
			}
			if !found || r.ItemID == "" {
				continue
			}
			r.Flags, r.Keywords = flagBits(c.flags)|r.Flags&state.FlagOutOfScope, c.flags.Categories
			recs = append(recs, r)
			ups = append(ups, FlagUpdate{ItemID: r.ItemID, Flags: c.flags})
		}
		var errs []error
		if batcher != nil {
			errs = batcher.SetFlagsBatch(ctx, ups)
		} else {
			errs = make([]error, len(ups))
			for i, u := range ups {
				_, errs[i] = retryOp(ctx, p.log, p.e.opts.RetryAttempts, p.e.opts.RetryBackoff, func() (struct{}, error) {
					return struct{}{}, p.mbx.SetFlags(ctx, u.ItemID, u.Flags)
				})
			}
		}
		var done []state.MessageRecord
		var failed error
		for i, err := range errs {
			switch {
			case err == nil:
				done = append(done, recs[i])
				p.prog.flagged()
			case KindOf(err) == KindSkipItem:
				// The item is gone from the target (deleted in Outlook):
				// remember the new flags, there is nothing to update.
				p.log.Info("flag update skipped", "folder", s.plan.Display, "uid", recs[i].UID, "err", err)
				done = append(done, recs[i])
			default:
				failed = cmp.Or(failed, fmt.Errorf("folder %s, UID %d: %w", s.plan.Display, recs[i].UID, err))
			}
		}
		if err := p.e.store.PutMessages(p.email, s.plan.Src.Name, done); err != nil {
			return Fatal(err)
		}
		for _, r := range done {
			s.records[r.UID] = liteOf(r)
		}
		if failed != nil {
			return failed
		}
	}
	return nil
}

// applyDeletes deletes the target items of a folder's expunged messages,
// through the target's DeleteBatcher capability when it has one, and
// forgets them chunk by chunk.
func (p *pass) applyDeletes(ctx context.Context, s *folderScan) error {
	batcher, _ := p.mbx.(DeleteBatcher)
	for start := 0; start < len(s.vanished); start += flagChunk {
		chunk := s.vanished[start:min(start+flagChunk, len(s.vanished))]
		var ids []string
		var idx []int
		for i, r := range chunk {
			if r.ItemID != "" {
				ids = append(ids, r.ItemID)
				idx = append(idx, i)
			}
		}
		var errs []error
		if batcher != nil && len(ids) > 1 {
			errs = batcher.DeleteBatch(ctx, ids)
		} else {
			errs = make([]error, len(ids))
			for i, id := range ids {
				_, errs[i] = retryOp(ctx, p.log, p.e.opts.RetryAttempts, p.e.opts.RetryBackoff, func() (struct{}, error) {
					return struct{}{}, p.mbx.Delete(ctx, id)
				})
			}
		}
		failed := map[int]bool{}
		var firstErr error
		for j, err := range errs {
			switch {
			case err == nil:
				p.prog.deleted()
			case KindOf(err) == KindSkipItem:
				p.log.Info("delete skipped", "folder", s.plan.Display, "uid", chunk[idx[j]].UID, "err", err)
			default:
				failed[idx[j]] = true
				firstErr = cmp.Or(firstErr, fmt.Errorf("folder %s, UID %d: %w", s.plan.Display, chunk[idx[j]].UID, err))
			}
		}
		var gone []uint32
		for i, r := range chunk {
			if !failed[i] {
				gone = append(gone, r.UID)
				delete(s.records, r.UID)
			}
		}
		if err := p.e.store.DeleteMessages(p.email, s.plan.Src.Name, gone); err != nil {
			return Fatal(err)
		}
		if firstErr != nil {
			return firstErr
		}
	}
	return nil
}

// finishFolder saves the folder's new state, counts included.
func (p *pass) finishFolder(s *folderScan) error {
	var items, itemBytes int64
	for _, r := range s.records { // kept in step with the state by every write of the pass
		if r.inTgt {
			items++
			itemBytes += r.size
		}
	}
	fs := s.saved
	f := s.plan.Src
	fs.UIDValidity, fs.UIDNext, fs.Messages, fs.HighestModSeq = f.UIDValidity, f.UIDNext, f.Messages, f.HighestModSeq
	fs.Dirty, fs.Complete = false, true
	fs.Items, fs.ItemBytes = items, itemBytes
	fs.InScope, fs.InScopeBytes = s.inScope, s.inBytes
	p.stampFolder(&fs, s)
	if err := p.e.store.PutFolder(p.email, fs); err != nil {
		return Fatal(err)
	}
	s.saved = fs
	return nil
}

// createAll copies a folder's new messages: bodies are fetched one at a time
// from IMAP into the spool while up to uploadDepth creates run against the
// target; results are committed in small batches.
func (p *pass) createAll(ctx context.Context, s *folderScan, folderID string, have map[string]string) error {
	const uploadDepth = 4
	spoolBudget := int64(64 << 20)
	slots := semaphore.NewWeighted(uploadDepth)
	budget := semaphore.NewWeighted(spoolBudget)
	// In-flight creates finish even when the pass is stopped, so a stop
	// lands on a message boundary; their waits for the target's budget
	// end with the pass (WithStop), so a stop does not wait for Graph's
	// windows.
	upCtx, upCancel := context.WithCancel(WithStop(context.WithoutCancel(ctx), ctx))
	defer upCancel()

	var (
		mu      sync.Mutex
		pending []state.MessageRecord
		fatal   error
		wg      sync.WaitGroup
		noted   = map[string]int64{}
	)
	noter, _ := p.mbx.(NotingCreator)
	flush := func() error {
		mu.Lock()
		recs := pending
		pending = nil
		mu.Unlock()
		if err := p.e.store.PutMessages(p.email, s.plan.Src.Name, recs); err != nil {
			return Fatal(err)
		}
		p.prog.persist(p.e.store, p.email)
		return nil
	}
	record := func(m MessageMeta, itemID string) {
		fl := flagsFromIMAP(m.Flags)
		rec := state.MessageRecord{UID: m.UID, SourceKey: m.SourceKey, ItemID: itemID, Flags: flagBits(fl), Size: m.Size, Keywords: fl.Categories}
		if isOutOfScope(m) {
			rec.Flags |= state.FlagOutOfScope
		}
		mu.Lock()
		pending = append(pending, rec)
		s.records[m.UID] = liteOf(rec)
		n := len(pending)
		mu.Unlock()
		if n >= commitEvery {
			if err := flush(); err != nil {
				mu.Lock()
				fatal = cmp.Or(fatal, err)
				mu.Unlock()
			}
		}
	}
	skip := func(m MessageMeta, reason string, err error) {
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		p.skip(s, m, reason, msg)
		record(m, "")
	}
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return fatal
	}

	var stopErr error
	for _, m := range s.newMetas {
		if err := failed(); err != nil {
			stopErr = err
			break
		}
		if err := ctx.Err(); err != nil {
			stopErr = err
			break
		}
		switch {
		case isOutOfScope(m):
			record(m, "")
			continue
		case slices.Contains(m.Flags, overCap):
			skip(m, ReasonMailboxItemLimit, fmt.Errorf("the mailbox has more than %d items in scope; the newest are copied", p.e.opts.MaxMailboxItems))
			continue
		case m.Size > p.e.opts.MaxMessageBytes:
			skip(m, ReasonMessageTooLarge, fmt.Errorf("%d bytes is over the %d byte limit", m.Size, p.e.opts.MaxMessageBytes))
			continue
		}
		if itemID, ok := have[m.SourceKey]; ok {
			delete(have, m.SourceKey)
			record(m, itemID)
			p.prog.matched(m.Size)
			continue
		}
		if itemID, ok := s.prior[m.SourceKey]; ok {
			// Copied before the UIDVALIDITY reset and deleted in the
			// target since: the user's delete stands.
			record(m, itemID)
			continue
		}
		weight := min(max(m.Size, 1), spoolBudget)
		if err := slots.Acquire(ctx, 1); err != nil {
			stopErr = err
			break
		}
		if err := budget.Acquire(ctx, weight); err != nil {
			slots.Release(1)
			stopErr = err
			break
		}
		body, err := p.fetch(ctx, s.plan.Src, m)
		if err != nil {
			slots.Release(1)
			budget.Release(weight)
			if errors.Is(err, ErrMessageGone) {
				// Expunged since the scan: not in scope any more.
				s.inScope--
				s.inBytes -= m.Size
				continue
			}
			if KindOf(err) == KindSkipItem {
				skip(m, cmp.Or(ReasonOf(err), ReasonMalformedMessage), err)
				continue
			}
			stopErr = err
			break
		}
		wg.Add(1)
		go func(m MessageMeta) {
			defer wg.Done()
			defer slots.Release(1)
			defer budget.Release(weight)
			defer body.Close()
			nm := NewMessage{Meta: m, Body: body, Draft: s.plan.Draft, Flags: flagsFromIMAP(m.Flags)}
			var itemID string
			var notes []string
			var err error
			if noter != nil {
				itemID, notes, err = noter.CreateNoted(upCtx, folderID, nm)
			} else {
				itemID, err = p.mbx.Create(upCtx, folderID, nm)
			}
			switch {
			case err == nil:
				record(m, itemID)
				p.prog.copied(m.Size)
				mu.Lock()
				for _, n := range notes {
					noted[n]++
				}
				mu.Unlock()
			case KindOf(err) == KindSkipItem:
				skip(m, cmp.Or(ReasonOf(err), ReasonMalformedMessage), err)
			default:
				mu.Lock()
				fatal = cmp.Or(fatal, fmt.Errorf("folder %s, UID %d: %w", s.plan.Display, m.UID, err))
				mu.Unlock()
			}
		}(m)
	}
	wg.Wait()
	if err := flush(); err != nil {
		return err
	}
	if len(noted) > 0 {
		if _, err := p.e.store.UpdateUser(p.email, func(u *state.User) error {
			if u.ItemNotes == nil {
				u.ItemNotes = map[string]int64{}
			}
			for k, n := range noted {
				u.ItemNotes[k] += n
			}
			return nil
		}); err != nil {
			return Fatal(err)
		}
	}
	if err := failed(); err != nil {
		return err
	}
	return stopErr
}

// fetch spools one message body, retrying transient IMAP errors.
func (p *pass) fetch(ctx context.Context, f Folder, m MessageMeta) (Body, error) {
	return retryOp(ctx, p.log, p.e.opts.RetryAttempts, p.e.opts.RetryBackoff, func() (Body, error) { return p.src.Fetch(ctx, f, m.UID) })
}

// skip records a skipped message.
func (p *pass) skip(s *folderScan, m MessageMeta, reason, msg string) {
	added, err := p.e.store.AddSkipped(p.email, state.SkippedItem{
		Folder: s.plan.Display, UID: m.UID, SourceKey: m.SourceKey, Date: ReceivedTime(m), Subject: m.Subject,
		Size: m.Size, Reason: reason, Message: msg,
	})
	if err != nil {
		p.log.Error("record skipped item", "folder", s.plan.Display, "uid", m.UID, "err", err)
		return
	}
	if added {
		p.log.Info("message skipped", "folder", s.plan.Display, "uid", m.UID, "reason", reason, "size", m.Size)
	}
}

// retryOp runs op, retrying retryable errors a few times with backoff (the
// Target owns throttling; this covers IMAP hiccups and transient faults).
// Other errors are returned as they are.
func retryOp[T any](ctx context.Context, log *slog.Logger, attempts int, base time.Duration, op func() (T, error)) (T, error) {
	var zero T
	var err error
	for i := 0; i < attempts; i++ {
		var v T
		v, err = op()
		if err == nil {
			return v, nil
		}
		if KindOf(err) != KindRetryable || ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return zero, err
		}
		wait := max(base<<i, RetryAfterOf(err))
		log.Debug("retrying", "attempt", i+1, "wait", wait, "err", err)
		noted := NoteWait(ctx, waitReason(err), time.Now().Add(wait))
		select {
		case <-ctx.Done():
			noted()
			return zero, ctx.Err()
		case <-time.After(wait):
		}
		noted()
	}
	return zero, err
}
