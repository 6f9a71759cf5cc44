package migrate

import (
	"context"
	"errors"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/imapmig/imapmig/state"
)

// A large first copy is streamed: its folders are read chunk by chunk and
// each chunk is copied as soon as its metadata is in, oldest first, instead
// of reading every folder's metadata, planning, and then copying newest
// first (docs/HOW-MAIL-IS-COPIED.md, "Large mailboxes"). Reading the
// headers of 500,000 messages takes minutes; streamed, the first create
// follows the first chunk.
//
// Streaming gives the same source keys, adoptions and records as the full
// scan. Duplicate ordinals (#2, #3) are numbered in UID order, and the
// chunks go up in UID order. A folder never finished has no moves to
// detect, the item limit cannot be reached (checked up front from the
// STATUS counts), and the folder is saved as finished only when every
// create of every chunk is done. The pass streams only when all of this
// holds (streamCandidates, streamFits); otherwise it scans everything
// first, as before.

// defaultStreamFirstCopyAt is Options.StreamFirstCopyAt's default: the
// headers of 50,000 messages take some 10 s to read from a cold server, a
// wait an administrator does not notice; above it, newest first would
// leave Exchange idle for minutes.
const defaultStreamFirstCopyAt = 50_000

// The chunks of a streamed folder: the first is small, so the first create
// comes soon; they double up to streamChunk, so the metadata of the next
// chunk is read while the creates of the last are still under way.
const (
	streamFirstChunk = 200
	streamChunk      = 4000
)

// streamSet is the folders a pass streams, with the saved state they were
// chosen on.
type streamSet struct {
	plans []folderPlan
	saved map[string]state.FolderState
}

// messages is the folders' STATUS count.
func (ss *streamSet) messages() int64 {
	var n int64
	if ss == nil {
		return 0
	}
	for _, pl := range ss.plans {
		n += int64(pl.Src.Messages)
	}
	return n
}

// streamCandidates picks the folders a pass may stream (by index in plans):
// every folder never finished (no saved state, or a first copy
// interrupted; not a UIDVALIDITY reset), when together they hold at least
// StreamFirstCopyAt messages and no folder is gone from the source (a
// rename or a move needs every folder's metadata first). nil: none.
func (p *pass) streamCandidates(plans []folderPlan, saved map[string]state.FolderState, anyGone bool) map[int]bool {
	at := p.e.opts.StreamFirstCopyAt
	if at < 0 || anyGone {
		return nil
	}
	var total int64
	out := map[int]bool{}
	for i, pl := range plans {
		sv, has := saved[pl.Src.Name]
		m := modeOf(pl.Src, sv, has)
		if m.unchanged || m.reset || m.from > 1 {
			continue
		}
		out[i] = true
		total += int64(pl.Src.Messages)
	}
	if len(out) == 0 || total < int64(at) {
		return nil
	}
	return out
}

// streamFits reports whether the candidates can be streamed, given the
// scans of the other folders: no message vanished from those (it may have
// moved into a streamed folder, which is only seen with every folder's
// metadata), and the mailbox stays within the item limit even if every
// message of the streamed folders is copied, so none is over the cap
// (which must pick the oldest of the whole mailbox).
func (p *pass) streamFits(byPlan []*folderScan, plans []folderPlan, streamed map[int]bool) bool {
	var items int64
	for _, s := range byPlan {
		if s == nil {
			continue
		}
		if len(s.vanished) > 0 {
			return false
		}
		items += itemsInTarget(s)
		for _, m := range s.newMetas {
			if !m.outOfScope {
				items++
			}
		}
	}
	for i := range streamed {
		items += int64(plans[i].Src.Messages)
	}
	return items <= int64(p.e.opts.MaxMailboxItems)
}

// streamEst is a streaming pass's estimate of the user's totals, refined
// chunk by chunk: the folders not streamed, the streamed ones finished,
// the current one so far, and the messages not read yet at the average
// size of those read.
type streamEst struct {
	baseN, baseB int64 // not streamed (planPass's estimate)
	doneN, doneB int64 // streamed folders handed over whole
	seenN, seenB int64 // messages read so far, in scope or not (average size)
	left         int64 // messages not read yet
}

func (e *streamEst) totals(cur *folderScan) (n, b int64) {
	n, b = e.baseN+e.doneN+e.left, e.baseB+e.doneB
	if cur != nil {
		n += cur.inScope
		b += cur.inBytes
	}
	if e.seenN > 0 {
		b += e.left * (e.seenB / e.seenN)
	}
	return n, b
}

// setEstimate shows and saves the user's estimated totals.
func (p *pass) setEstimate(n, b int64) {
	p.prog.setEstimate(n, b)
	_, _ = p.e.store.UpdateUser(p.email, func(u *state.User) error {
		u.EstimatedTotalCount, u.EstimatedTotalSize = n, b
		return nil
	})
}

// streamFolders streams the folders one after the other; each folder's
// completion (waiting for its creates, flags, deletes, saving its state)
// runs behind the next folder's creates, as in applyFolders.
func (p *pass) streamFolders(ctx context.Context, ss *streamSet, est *streamEst) error {
	if ss == nil || len(ss.plans) == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	up := newUploads()
	var done []*folderScan
	for _, pl := range ss.plans {
		pf, fc, err := p.streamFolder(ctx, gctx, up, pl, ss.saved, est)
		if err != nil {
			g.Go(func() error { return err })
			break
		}
		if pf == nil {
			continue
		}
		done = append(done, pf.s)
		est.doneN += pf.s.inScope
		est.doneB += pf.s.inBytes
		g.Go(func() error { return p.completeFolder(gctx, pf, fc) })
		if fc.err != nil {
			break
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// Every streamed folder is finished: the exact totals.
	est.doneN, est.doneB, est.left = 0, 0, 0
	for _, s := range done {
		est.doneN += s.inScope
		est.doneB += s.inBytes
	}
	p.setEstimate(est.totals(nil))
	return nil
}

// streamFolder copies one folder chunk by chunk: its UIDs, the target
// folder and the keys it holds, then for each chunk the metadata and its
// creates (handed over as they are planned). It returns the folder ready
// for its completion, with its creates (still running), or nil, nil, nil
// when the folder vanished from the source (looked at again next pass).
// A failed chunk ends the hand-over (fc.err): the folder is then not
// finished.
func (p *pass) streamFolder(ctx, gctx context.Context, up *uploads, pl folderPlan, saved map[string]state.FolderState, est *streamEst) (*preparedFolder, *folderCreates, error) {
	f := pl.Src
	est.left -= int64(f.Messages)
	s, _, ordinals, err := p.scanStart(pl, saved)
	if err != nil {
		return nil, nil, err
	}
	s.stream = true
	uids, err := p.src.UIDs(gctx, f)
	if errors.Is(err, ErrFolderGone) {
		p.log.Info("folder vanished during the pass; it is looked at again next pass", "folder", pl.Display)
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	id, err := p.folderID(gctx, s)
	if err != nil {
		return nil, nil, err
	}
	if err := p.markDirty(s, id); err != nil {
		return nil, nil, err
	}
	// A folder never finished may hold items of an interrupted pass (or
	// of a run from an empty state file): adopted by source key.
	have, err := p.targetKeys(gctx, s, id, true)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range s.records {
		delete(have, r.key) // a recorded key is another UID's: never map it twice
	}
	newLeft, err := p.streamStartCounts(s, uids)
	if err != nil {
		return nil, nil, err
	}
	est.left += newLeft
	if f.UIDNext > 0 {
		// Mail delivered since the folder's STATUS waits for the next
		// pass, as in a full scan's state: the item limit was checked on
		// the STATUS counts.
		n, _ := slices.BinarySearch(uids, f.UIDNext)
		est.left -= int64(len(uids) - n)
		uids = uids[:n]
	}
	p.log.Info("copying a large first copy oldest first, as its metadata is read", "folder", pl.Display, "messages", len(uids))

	fc := p.beginCreates(ctx, gctx, up, s, id)
	if gone := p.streamChunks(gctx, fc, uids, ordinals, have, est); gone {
		return nil, nil, nil
	}
	s.newMetas = nil
	pf := &preparedFolder{s: s, id: id}
	for _, c := range s.changes {
		pf.flags = append(pf.flags, action{op: opSetFlags, flags: c})
	}
	for _, r := range s.vanished {
		pf.deletes = append(pf.deletes, action{op: opDelete, rec: r})
	}
	return pf, fc, nil
}

// streamChunks reads a streamed folder's metadata chunk by chunk and hands
// each chunk's actions to its creates. A failed chunk ends the hand-over
// (fc.err). gone reports that the folder vanished from the source: its
// creates are then waited for, and the folder is left for the next pass.
func (p *pass) streamChunks(gctx context.Context, fc *folderCreates, uids []uint32, ordinals map[string]int, have map[string]string, est *streamEst) (gone bool) {
	s := fc.s
	lim := limits{maxItems: p.e.opts.MaxMailboxItems, maxBytes: p.e.opts.MaxMessageBytes}
	after := p.batch.Options.ReceivedAfter
	size := streamFirstChunk
	for i := 0; i < len(uids) && fc.err == nil; {
		j := min(i+size, len(uids))
		s.newMetas = s.newMetas[:0]
		err := p.src.Metas(gctx, s.plan.Src, uids[i], uids[j-1], func(m MessageMeta) error {
			s.observe(m, ordinals, after)
			return nil
		})
		if errors.Is(err, ErrFolderGone) {
			p.log.Info("folder vanished during the pass; it is looked at again next pass", "folder", s.plan.Display)
			fc.abort(err)
			_ = p.finishCreates(fc) // what was created is recorded
			return true
		}
		if err != nil {
			fc.abort(err)
			break
		}
		acts := make([]action, 0, len(s.newMetas))
		for _, m := range s.newMetas {
			est.seenN++
			est.seenB += m.Size
			if !m.outOfScope {
				s.inScope++
				s.inBytes += m.Size
			}
			acts = append(acts, planNew(m, have, s.prior, lim))
		}
		est.left -= int64(len(s.newMetas))
		p.setEstimate(est.totals(s))
		_ = fc.hand(acts) // an error is kept in fc.err
		i, size = j, min(2*size, streamChunk)
	}
	return false
}

// streamStartCounts sets a streamed folder's in-scope totals from its
// records, finds the recorded messages no longer on the source (a first
// copy interrupted, then expunges) and returns how many of uids are not
// recorded yet.
func (p *pass) streamStartCounts(s *folderScan, uids []uint32) (int64, error) {
	s.inScope, s.inBytes = 0, 0
	if len(s.records) == 0 {
		return int64(len(uids)), nil
	}
	current := make(map[uint32]struct{}, len(uids))
	newLeft := int64(0)
	for _, u := range uids {
		current[u] = struct{}{}
		if _, ok := s.records[u]; !ok {
			newLeft++
		}
	}
	for _, r := range s.records {
		if !r.outScope {
			s.inScope++
			s.inBytes += r.size
		}
	}
	recs, err := p.e.store.MessagesOf(p.email, s.plan.Src.Name, vanishedUIDs(s.records, current))
	if err != nil {
		return 0, Fatal(err)
	}
	s.vanished = recs
	for _, r := range recs {
		if r.Flags&state.FlagOutOfScope == 0 {
			s.inScope--
			s.inBytes -= r.Size
		}
	}
	return newLeft, nil
}
