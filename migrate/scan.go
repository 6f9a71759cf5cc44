package migrate

import (
	"context"
	"errors"

	"github.com/imapmig/imapmig/state"
)

// Reading the source and the stored records for the planner: every folder's
// changes since the saved state, and the folders gone from the source.

// scanAll scans every folder in scope and adds the folders gone from the
// source with their records. A large first copy (streamFirstCopy) is not
// scanned here: its folders are returned as stream, to be read chunk by
// chunk as they are copied (stream.go).
func (p *pass) scanAll(ctx context.Context) (scans []*folderScan, stream *streamSet, err error) {
	folders, err := p.src.Folders(ctx)
	if err != nil {
		return nil, nil, err
	}
	plans, excluded := mapFolders(folders, p.batch.Options)
	present := map[string]bool{} // on the source, in scope or not
	for _, x := range excluded {
		present[x.Name] = true
		p.log.Debug("folder excluded", "folder", x.Display, "reason", x.Reason)
	}
	for _, pl := range plans {
		present[pl.Src.Name] = true
	}
	saved, err := p.e.store.Folders(p.email)
	if err != nil {
		return nil, nil, Fatal(err)
	}
	var goneNames []string
	for name := range saved {
		if !present[name] {
			goneNames = append(goneNames, name)
		}
	}
	p.startWarm(ctx, plans, saved) // a first pass makes its target folders meanwhile
	streamed := p.streamCandidates(plans, saved, len(goneNames) > 0)
	scanOne := func(pl folderPlan) (*folderScan, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := p.scan(ctx, pl, saved)
		if errors.Is(err, ErrFolderGone) {
			p.log.Info("folder vanished during the pass; it is looked at again next pass", "folder", pl.Display)
			return nil, nil
		}
		return s, err
	}
	byPlan := make([]*folderScan, len(plans))
	for i, pl := range plans {
		if streamed[i] {
			continue
		}
		if byPlan[i], err = scanOne(pl); err != nil {
			return nil, nil, err
		}
	}
	if len(streamed) > 0 && !p.streamFits(byPlan, plans, streamed) {
		// Moves or the item limit need every folder's metadata first.
		for i, pl := range plans {
			if streamed[i] {
				if byPlan[i], err = scanOne(pl); err != nil {
					return nil, nil, err
				}
			}
		}
		streamed = nil
	}
	stream = &streamSet{saved: saved}
	for i, s := range byPlan {
		switch {
		case streamed[i]:
			stream.plans = append(stream.plans, plans[i])
		case s != nil:
			scans = append(scans, s)
		}
	}
	// Folders that are gone from the source: their messages may have moved
	// (a rename moves them all); what is not found elsewhere stays in the
	// target, as Exchange leaves a deleted source folder's copy.
	for _, name := range goneNames {
		fs := saved[name]
		g := &folderScan{saved: fs, hasSaved: true, gone: true, plan: folderPlan{Src: Folder{Name: name, Path: fs.Path}, Display: displayPath(fs.Path)}}
		if err := p.e.store.Messages(p.email, name, func(r state.MessageRecord) error {
			g.vanished = append(g.vanished, r)
			return nil
		}); err != nil {
			return nil, nil, Fatal(err)
		}
		scans = append(scans, g)
	}
	return scans, stream, nil
}

// scan finds what changed in one folder since the saved state.
func (p *pass) scan(ctx context.Context, pl folderPlan, saved map[string]state.FolderState) (*folderScan, error) {
	s, mode, ordinals, err := p.scanStart(pl, saved)
	if err != nil || s.unchanged {
		return s, err
	}
	f := pl.Src
	// New messages (and, for a full scan, the flags of known ones).
	after := p.batch.Options.ReceivedAfter
	var fresh []MessageMeta // partial: observed once their hashes' ordinals are read
	if err := p.src.Metas(ctx, f, mode.from, 0, func(m MessageMeta) error {
		if s.partial {
			fresh = append(fresh, m)
		} else {
			s.observe(m, ordinals, after)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if len(fresh) > 0 {
		if ordinals, err = p.ordinalsOf(s, fresh); err != nil {
			return nil, err
		}
		for _, m := range fresh {
			s.observe(m, ordinals, after)
		}
	}
	scanned, err := p.scanFlags(ctx, s, mode.from)
	if err != nil {
		return nil, err
	}
	// Expunged messages: only when the counts say something vanished.
	if s.expungeSuspected() {
		if err := p.scanExpunged(ctx, s, scanned); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// scanStart reads what the state knows of a folder before its metadata is
// fetched: how it is scanned (mode), its records (all, or for a partial
// delta those from the fetched range on) and the ordinals the numbering of
// its new messages starts from. A folder whose UIDVALIDITY changed is reset
// first. It reads nothing from the source.
func (p *pass) scanStart(pl folderPlan, saved map[string]state.FolderState) (*folderScan, folderMode, map[string]int, error) {
	f := pl.Src
	s := &folderScan{plan: pl, records: map[uint32]lite{}}
	s.saved, s.hasSaved = saved[f.Name]
	sv := s.saved
	mode := modeOf(f, sv, s.hasSaved)
	if mode.unchanged {
		s.unchanged = true
		if !f.NoSelect {
			s.inScope, s.inBytes = sv.InScope, sv.InScopeBytes
		}
		return s, mode, nil, nil
	}
	if mode.reset {
		if err := p.resetFolder(s); err != nil {
			return nil, mode, nil, err
		}
	}
	s.rebuild = mode.rebuild
	// A delta of a clean folder with mod-sequences reads only the records
	// it touches (partial); any other scan reads them all.
	s.partial = s.hasSaved && !mode.rebuild && f.HighestModSeq != 0 && sv.HighestModSeq != 0
	ordinals := map[string]int{}
	var err error
	if s.partial {
		s.partial, err = p.loadPartial(s, mode.from) // false: no index yet
	}
	if err == nil && s.hasSaved && !s.partial {
		ordinals, err = p.loadAll(s)
	}
	if err != nil {
		return nil, mode, nil, err
	}
	if mode.from <= 1 && len(s.records) > 0 {
		// From UID 1, known messages included: count in UID order.
		s.recount = &recount{taken: make(map[string]bool, len(s.records)), highest: ordinals}
		for _, r := range s.records {
			s.recount.taken[r.key] = true
		}
		ordinals = map[string]int{}
	}
	return s, mode, ordinals, nil
}

// loadAll reads every record of a folder into s.records and returns the
// highest ordinal of each header hash.
func (p *pass) loadAll(s *folderScan) (map[string]int, error) {
	s.partial = false
	ordinals := map[string]int{}
	if err := p.e.store.Summaries(p.email, s.plan.Src.Name, func(r state.MessageSummary) error {
		s.records[r.UID] = liteOfSummary(r)
		h, o := SplitSourceKey(r.SourceKey)
		ordinals[h] = max(ordinals[h], o)
		return nil
	}); err != nil {
		return nil, Fatal(err)
	}
	return ordinals, nil
}

// loadPartial reads a folder's totals and the records from UID from on
// (normally none: a clean folder's records are below its saved UIDNEXT).
// It reports false when the folder's index is not built yet (a state file
// from before the index): the pass then reads every record, and builds
// the index when it finishes the folder.
func (p *pass) loadPartial(s *folderScan, from uint32) (bool, error) {
	t, built, err := p.e.store.FolderTotals(p.email, s.plan.Src.Name)
	if err != nil {
		return false, Fatal(err)
	}
	if !built {
		return false, nil
	}
	s.totals = t
	if err := p.e.store.SummariesFrom(p.email, s.plan.Src.Name, from, func(r state.MessageSummary) error {
		s.records[r.UID] = liteOfSummary(r)
		return nil
	}); err != nil {
		return false, Fatal(err)
	}
	return true, nil
}

// ordinalsOf returns the highest recorded ordinal of each header hash of
// the new messages, from the folder's source-key index.
func (p *pass) ordinalsOf(s *folderScan, metas []MessageMeta) (map[string]int, error) {
	var hashes []string
	ordinals := map[string]int{}
	for _, m := range metas {
		if _, ok := ordinals[m.HeaderHash]; !ok {
			ordinals[m.HeaderHash] = 0
			hashes = append(hashes, m.HeaderHash)
		}
	}
	keys, err := p.e.store.KeysWithPrefix(p.email, s.plan.Src.Name, hashes)
	if err != nil {
		return nil, Fatal(err)
	}
	for prefix, ks := range keys {
		for _, k := range ks {
			if h, o := SplitSourceKey(k); h == prefix {
				ordinals[h] = max(ordinals[h], o)
			}
		}
	}
	return ordinals, nil
}

// resetFolder voids a folder's records after a UIDVALIDITY change, keeping
// their target items in s.prior for the planner.
func (p *pass) resetFolder(s *folderScan) error {
	f := s.plan.Src
	p.log.Info("UIDVALIDITY changed; rebuilding the folder from the target's source keys", "folder", s.plan.Display,
		"old", s.saved.UIDValidity, "new", f.UIDValidity)
	s.prior = map[string]string{}
	if err := p.e.store.Messages(p.email, f.Name, func(r state.MessageRecord) error {
		if r.ItemID != "" {
			s.prior[r.SourceKey] = r.ItemID
		}
		return nil
	}); err != nil {
		return Fatal(err)
	}
	if err := p.e.store.ResetMessages(p.email, f.Name); err != nil {
		return Fatal(err)
	}
	s.hasSaved = false
	return nil
}

// scanFlags finds flag changes of known messages below the fetched range.
// Without mod-sequences (no CONDSTORE, or a NOMODSEQ folder)
// ChangedSince(0) reports every message's FLAGS: that full scan also gives
// the current UID set (returned, else nil), so the expunge check needs no
// UID SEARCH.
func (p *pass) scanFlags(ctx context.Context, s *folderScan, from uint32) (map[uint32]struct{}, error) {
	f := s.plan.Src
	modseq, ok := flagScanModSeq(f, s.saved, from, s.known())
	if !ok {
		return nil, nil
	}
	var seen map[uint32]struct{}
	var pending []flagsSeen // partial: compared once their records are read
	onFlags := func(m MessageMeta) error {
		if seen != nil {
			seen[m.UID] = struct{}{}
		}
		if m.UID >= from {
			return nil
		}
		if s.partial {
			pending = append(pending, flagsSeen{m.UID, m.Flags})
			return nil
		}
		if r, known := s.records[m.UID]; known {
			if c, ok := flagChangeOf(r, m); ok {
				s.changes = append(s.changes, c)
			}
		}
		return nil
	}
	if modseq == 0 {
		seen = make(map[uint32]struct{}, s.known())
	}
	nChanges := len(s.changes)
	var err error
	if cb, ok := p.src.(ChangedBelower); ok && modseq != 0 {
		err = cb.ChangedSinceBelow(ctx, f, modseq, from, onFlags)
	} else {
		err = p.src.ChangedSince(ctx, f, modseq, onFlags)
	}
	if errors.Is(err, ErrNoCondStore) && modseq != 0 {
		// A Source that cannot do CHANGEDSINCE: every message's FLAGS.
		// A second refusal is a permanent capability error.
		if s.partial {
			if _, err := p.loadAll(s); err != nil {
				return nil, err
			}
		}
		s.changes, seen, pending = s.changes[:nChanges], make(map[uint32]struct{}, s.known()), nil
		modseq = 0
		err = p.src.ChangedSince(ctx, f, 0, onFlags)
	}
	if err != nil {
		return nil, err
	}
	if err := p.changedRecords(s, pending); err != nil {
		return nil, err
	}
	if modseq == 0 {
		return seen, nil
	}
	return nil, nil
}

// flagsSeen is a message's flags as the source reported them: what a
// partial scan keeps of a CHANGEDSINCE answer until it reads the records
// (a MessageMeta is five times its size).
type flagsSeen struct {
	uid   uint32
	flags []string
}

// changedRecords reads the records of the messages CHANGEDSINCE reported
// (partial scan) and notes their flag changes, in the order reported.
func (p *pass) changedRecords(s *folderScan, metas []flagsSeen) error {
	if len(metas) == 0 {
		return nil
	}
	uids := make([]uint32, len(metas))
	for i, m := range metas {
		uids[i] = m.uid
	}
	sums, err := p.e.store.SummariesOf(p.email, s.plan.Src.Name, uids)
	if err != nil {
		return Fatal(err)
	}
	if len(s.records) == 0 {
		// Sized once: these, and the new messages' once created.
		s.records = make(map[uint32]lite, len(sums)+len(s.newMetas))
	}
	for _, r := range sums {
		s.records[r.UID] = liteOfSummary(r)
	}
	for _, m := range metas {
		if r, known := s.records[m.uid]; known {
			if c, ok := flagChangeOf(r, MessageMeta{UID: m.uid, Flags: m.flags}); ok {
				s.changes = append(s.changes, c)
			}
		}
	}
	return nil
}

// scanExpunged loads the records of known messages no longer on the source;
// current is the source's UID set when a full flag scan gave it.
func (p *pass) scanExpunged(ctx context.Context, s *folderScan, current map[uint32]struct{}) error {
	f := s.plan.Src
	var gone []uint32
	if current == nil {
		// The recorded UIDs not in the source's set, walked in the state
		// (no record is decoded; s.records may be partial).
		var ranges []UIDRange
		if rs, ok := p.src.(UIDRanger); ok {
			r, err := rs.UIDRanges(ctx, f)
			if err != nil {
				return err
			}
			ranges = r
		} else {
			uids, err := p.src.UIDs(ctx, f)
			if err != nil {
				return err
			}
			ranges = state.UIDRanges(uids)
		}
		var err error
		if gone, err = p.e.store.MissingUIDsIn(p.email, f.Name, ranges); err != nil {
			return Fatal(err)
		}
	} else {
		gone = vanishedUIDs(s.records, current)
	}
	recs, err := p.e.store.MessagesOf(p.email, f.Name, gone)
	if err != nil {
		return Fatal(err)
	}
	s.vanished = append(s.vanished, recs...)
	return nil
}
