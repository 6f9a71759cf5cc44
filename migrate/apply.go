package migrate

import (
	"cmp"
	"context"
	"fmt"

	"github.com/imapmig/imapmig/state"
)

// The applier: carries the planner's actions out through the Target and
// records each outcome in the state (docs/ARCHITECTURE.md, "Plan, apply,
// commit"). A folder is marked dirty before anything is applied to it and
// clean, with its new counts, after.

// folderID returns (creating as needed) the target folder of a scan.
// Folders are prepared concurrently (pipeline.go), hence the lock.
func (p *pass) folderID(ctx context.Context, s *folderScan) (string, error) {
	return p.planFolderID(ctx, s.plan, true)
}

// planFolderID is folderID by plan; withRetry retries it as the pass's
// other target requests are.
func (p *pass) planFolderID(ctx context.Context, pl folderPlan, withRetry bool) (string, error) {
	p.fmu.Lock()
	id, ok := p.folderIDs[pl.Src.Name]
	p.fmu.Unlock()
	if ok {
		return id, nil
	}
	ensure := func() (string, error) { return p.mbx.EnsureFolder(ctx, pl.Target) }
	var err error
	if withRetry {
		id, err = retry(ctx, p, ensure)
	} else {
		id, err = ensure()
	}
	if err != nil {
		return "", err
	}
	p.fmu.Lock()
	p.folderIDs[pl.Src.Name] = id
	p.fmu.Unlock()
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

// applyMove moves a message's target item to its new folder (a move within
// a folder is a new UID only), replays its flags, and moves its record.
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
		newID, err = retry(ctx, p, func() (string, error) { return p.mbx.Move(ctx, m.rec.ItemID, dest) })
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
		if err := retryDo(ctx, p, func() error { return p.mbx.SetFlags(ctx, newID, fl) }); err != nil && KindOf(err) != KindSkipItem {
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

// A preparedFolder is a changed folder ready for its creates: its target
// folder exists, it is marked dirty, and its actions are planned.
type preparedFolder struct {
	s                       *folderScan
	id                      string
	creates, flags, deletes []action
}

// prepareFolder makes a changed folder ready: target folder, dirty mark,
// the target's keys when the folder is rebuilt, and the plan. It sends
// Graph requests but reads nothing from IMAP, so it can run ahead of the
// previous folder's creates (pipeline.go).
func (p *pass) prepareFolder(ctx context.Context, s *folderScan) (*preparedFolder, error) {
	id, err := p.folderID(ctx, s)
	if err != nil {
		return nil, err
	}
	wasRebuild := s.rebuild
	if err := p.markDirty(s, id); err != nil {
		return nil, err
	}
	have, err := p.targetKeys(ctx, s, id, wasRebuild)
	if err != nil {
		return nil, err
	}
	pf := &preparedFolder{s: s, id: id}
	pf.creates, pf.flags, pf.deletes = splitActions(planFolder(s, have, limits{maxItems: p.e.opts.MaxMailboxItems, maxBytes: p.e.opts.MaxMessageBytes}))
	return pf, nil
}

// splitActions splits a folder's plan into its creates (create, adopt,
// skip), flag updates and deletes, in plan order. The planner lists them
// in that order, so they are pieces of acts, not copies (an action is a
// few hundred bytes; copying a delta's thousand cost more than the plan).
func splitActions(acts []action) (creates, flags, deletes []action) {
	kind := func(a action) int {
		switch a.op {
		case opSetFlags:
			return 1
		case opDelete:
			return 2
		}
		return 0
	}
	var at [3]int // where each kind starts
	last := 0
	for i, a := range acts {
		k := kind(a)
		if k < last { // out of order: copy them
			creates, flags, deletes = nil, nil, nil
			for _, a := range acts {
				switch kind(a) {
				case 1:
					flags = append(flags, a)
				case 2:
					deletes = append(deletes, a)
				default:
					creates = append(creates, a)
				}
			}
			return creates, flags, deletes
		}
		for ; last < k; last++ {
			at[last+1] = i
		}
	}
	for ; last < 2; last++ {
		at[last+1] = len(acts)
	}
	return acts[:at[1]:at[1]], acts[at[1]:at[2]:at[2]], acts[at[2]:]
}

// completeFolder is what follows a folder's creates: it waits for them,
// then updates flags, deletes expunged messages and saves the folder's
// state. The folder is finished only when every create is done.
func (p *pass) completeFolder(ctx context.Context, pf *preparedFolder, fc *folderCreates) error {
	s := pf.s
	// The folder's last records are written with its finished state.
	recs, err := p.finishCreatesHolding(fc)
	if err != nil {
		return err
	}
	if err := p.applyChanges(ctx, pf); err != nil {
		return cmp.Or(p.putRecords(s, recs), err)
	}
	return p.finishFolder(s, recs)
}

// applyChanges updates flags, deletes expunged messages and clears their
// skipped items: the changes of a folder after its creates.
func (p *pass) applyChanges(ctx context.Context, pf *preparedFolder) error {
	s := pf.s
	if err := p.applyFlags(ctx, s, pf.flags); err != nil {
		return err
	}
	if err := p.applyDeletes(ctx, s, pf.deletes); err != nil {
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
	return nil
}

// targetKeys returns which source keys a rebuilt target folder already
// holds, after removing the incomplete items of an interrupted create.
func (p *pass) targetKeys(ctx context.Context, s *folderScan, id string, rebuild bool) (map[string]string, error) {
	have := map[string]string{}
	if !rebuild {
		return have, nil
	}
	if sw, ok := p.mbx.(PendingSweeper); ok {
		n, err := retry(ctx, p, func() (int, error) { return sw.SweepPending(ctx, id) })
		if err != nil {
			return nil, err
		}
		if n > 0 {
			p.log.Info("removed incomplete items of an interrupted create", "folder", s.plan.Display, "count", n)
		}
	}
	if len(s.newMetas) == 0 && !s.stream {
		return have, nil
	}
	err := retryDo(ctx, p, func() error {
		clear(have)
		return p.mbx.Keys(ctx, id, func(k KeyedItem) error { have[k.SourceKey] = k.ItemID; return nil })
	})
	return have, err
}

// flagChunk is how many flag updates or deletes are sent and committed
// together. Each chunk is one write transaction of the state, whose
// copy-on-write of the touched pages, their branches and the freelist
// costs about the same for a few changes as for many: a 1% delta of a
// 100,000-message folder (500 flag updates, 250 deletes) commits them in
// two. Replaying them after a crash is harmless (a flag update sets the
// same flags again; an item deleted already is not found and skipped).
const flagChunk = 500

// chunks calls fn with consecutive pieces of acts of at most flagChunk.
func chunks(acts []action, fn func([]action) error) error {
	for start := 0; start < len(acts); start += flagChunk {
		if err := fn(acts[start:min(start+flagChunk, len(acts))]); err != nil {
			return err
		}
	}
	return nil
}

// applyFlags replays a folder's flag changes, through the target's
// FlagBatcher capability when it has one ($batch), and commits each chunk.
func (p *pass) applyFlags(ctx context.Context, s *folderScan, acts []action) error {
	batcher, _ := p.mbx.(FlagBatcher)
	return chunks(acts, func(chunk []action) error {
		recs := make([]state.MessageRecord, 0, len(chunk))
		ups := make([]FlagUpdate, 0, len(chunk))
		uids := make([]uint32, len(chunk))
		for i, a := range chunk {
			uids[i] = a.flags.uid
		}
		stored, err := p.e.store.MessagesOf(p.email, s.plan.Src.Name, uids) // in chunk order, the unrecorded left out
		if err != nil {
			return Fatal(err)
		}
		for _, a := range chunk {
			c := a.flags
			if len(stored) == 0 || stored[0].UID != c.uid {
				continue // not recorded
			}
			r := stored[0]
			stored = stored[1:]
			if r.ItemID == "" {
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
				errs[i] = retryDo(ctx, p, func() error { return p.mbx.SetFlags(ctx, u.ItemID, u.Flags) })
			}
		}
		done := make([]state.MessageRecord, 0, len(recs))
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
		return failed
	})
}

// applyDeletes deletes the target items of a folder's expunged messages,
// through the target's DeleteBatcher capability when it has one, and
// forgets them chunk by chunk.
func (p *pass) applyDeletes(ctx context.Context, s *folderScan, acts []action) error {
	batcher, _ := p.mbx.(DeleteBatcher)
	return chunks(acts, func(chunk []action) error {
		var ids []string
		var idx []int
		for i, a := range chunk {
			if a.rec.ItemID != "" {
				ids = append(ids, a.rec.ItemID)
				idx = append(idx, i)
			}
		}
		var errs []error
		if batcher != nil && len(ids) > 1 {
			errs = batcher.DeleteBatch(ctx, ids)
		} else {
			errs = make([]error, len(ids))
			for i, id := range ids {
				errs[i] = retryDo(ctx, p, func() error { return p.mbx.Delete(ctx, id) })
			}
		}
		failed := map[int]bool{}
		var firstErr error
		for j, err := range errs {
			switch {
			case err == nil:
				p.prog.deleted()
			case KindOf(err) == KindSkipItem:
				p.log.Info("delete skipped", "folder", s.plan.Display, "uid", chunk[idx[j]].rec.UID, "err", err)
			default:
				failed[idx[j]] = true
				firstErr = cmp.Or(firstErr, fmt.Errorf("folder %s, UID %d: %w", s.plan.Display, chunk[idx[j]].rec.UID, err))
			}
		}
		var gone []uint32
		for i, a := range chunk {
			if !failed[i] {
				gone = append(gone, a.rec.UID)
				delete(s.records, a.rec.UID)
			}
		}
		if err := p.e.store.DeleteMessages(p.email, s.plan.Src.Name, gone); err != nil {
			return Fatal(err)
		}
		return firstErr
	})
}

// finishFolder saves the folder's new state, counts included, with recs,
// the last records of its creates, in the same transaction.
func (p *pass) finishFolder(s *folderScan, recs []state.MessageRecord) error {
	fs := s.saved
	f := s.plan.Src
	fs.UIDValidity, fs.UIDNext, fs.Messages, fs.HighestModSeq = f.UIDValidity, f.UIDNext, f.Messages, f.HighestModSeq
	fs.Dirty, fs.Complete = false, true
	fs.InScope, fs.InScopeBytes = s.inScope, s.inBytes
	p.stampFolder(&fs, s)
	// Items and ItemBytes from the records' totals: every write of the
	// pass is in the state.
	fs, err := p.e.store.FinishFolderWith(p.email, fs, f.Name, recs)
	if err != nil {
		return Fatal(err)
	}
	s.saved = fs
	if len(recs) > 0 {
		p.prog.persist(p.e.store, p.email)
	}
	return nil
}
