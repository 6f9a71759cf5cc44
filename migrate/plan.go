package migrate

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/imapmig/imapmig/state"
)

// The planner: what must happen to a user's folders, decided on plain data
// (the scan of the source, the stored records, the target's keys) with no
// I/O. scan.go gathers the data, apply.go carries the actions out, commit.go
// records them (docs/ARCHITECTURE.md, "Plan, apply, commit").

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

// newMsg is a source message the stored records do not know yet, with the
// planner's decisions about it.
type newMsg struct {
	MessageMeta
	outOfScope bool // received before received_after: recorded, never copied
	overCap    bool // beyond the mailbox item limit: skipped
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
	// records are the folder's stored records, all of them, or (partial)
	// only those the delta read: from the fetched range and the messages
	// CHANGEDSINCE reported; totals then stands for the rest.
	records  map[uint32]lite
	recount  *recount // from UID 1 with known records: numbering by count
	partial  bool
	totals   state.MessageTotals
	newMetas []newMsg
	vanished []state.MessageRecord
	changes  []flagChange
	inScope  int64
	inBytes  int64
	gone     bool // the folder no longer exists on the source
	// stream: the folder is read chunk by chunk as it is copied
	// (stream.go); newMetas holds the current chunk's new messages.
	stream bool
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

// folderMode is how a folder is scanned, decided from its saved state and
// the source's STATUS.
type folderMode struct {
	unchanged bool   // nothing to fetch: the saved state matches (needs CONDSTORE)
	reset     bool   // UIDVALIDITY changed: the records are void
	rebuild   bool   // the key set must come from the target
	from      uint32 // first UID whose metadata is fetched
}

// modeOf decides how a folder is scanned.
func modeOf(f Folder, sv state.FolderState, hasSaved bool) folderMode {
	if f.NoSelect {
		return folderMode{unchanged: true}
	}
	if hasSaved && !sv.Dirty && sv.Complete && sv.UIDValidity == f.UIDValidity && sv.UIDNext == f.UIDNext &&
		sv.Messages == f.Messages && f.HighestModSeq != 0 && sv.HighestModSeq == f.HighestModSeq {
		return folderMode{unchanged: true}
	}
	var m folderMode
	if hasSaved && sv.UIDValidity != f.UIDValidity {
		m.reset, hasSaved = true, false
	}
	m.rebuild = !hasSaved || sv.Dirty || !sv.Complete
	m.from = 1
	if hasSaved && sv.Complete {
		m.from = sv.UIDNext
	}
	return m
}

// flagScanModSeq is the mod-sequence to ask CHANGEDSINCE for the flags of
// known messages below the fetched range; ok is false when nothing can have
// changed. Zero asks for every message's flags (no CONDSTORE).
func flagScanModSeq(f Folder, sv state.FolderState, from uint32, known int) (modseq uint64, ok bool) {
	if from <= 1 || known == 0 {
		return 0, false
	}
	if f.HighestModSeq != 0 && sv.HighestModSeq != 0 && f.HighestModSeq == sv.HighestModSeq {
		return 0, false
	}
	if f.HighestModSeq == 0 {
		return 0, true
	}
	return sv.HighestModSeq, true
}

// flagChangeOf reports a known message whose flags differ from its record.
func flagChangeOf(r lite, m MessageMeta) (flagChange, bool) {
	fl := flagsFromIMAP(m.Flags)
	if !r.inTgt || sameFlags(fl, r.flags) {
		return flagChange{}, false
	}
	return flagChange{m.UID, fl}, true
}

// observe classifies one message of the fetched range: a known message may
// have new flags; a new one gets its source key (ordinals counts the
// folder's header hashes so far) and its scope.
func (s *folderScan) observe(m MessageMeta, ordinals map[string]int, after time.Time) {
	if r, known := s.records[m.UID]; known {
		if s.recount != nil {
			ordinals[m.HeaderHash]++
		}
		if c, ok := flagChangeOf(r, m); ok {
			s.changes = append(s.changes, c)
		}
		return
	}
	ordinals[m.HeaderHash]++
	m.SourceKey = s.recount.key(m.HeaderHash, ordinals[m.HeaderHash])
	if len(m.Subject) > 200 {
		m.Subject = m.Subject[:200]
	}
	// Out of scope: remembered so it is not fetched again, never copied.
	out := !after.IsZero() && ReceivedTime(m).Before(after)
	s.newMetas = append(s.newMetas, newMsg{MessageMeta: m, outOfScope: out})
}

// recount numbers the new messages of a scan from UID 1 (a rebuilt
// folder) the way verify and a first pass do: by counting the messages of
// the same header hash in UID order, known ones included, so a message
// whose copy was created but not recorded (or not created while a later
// duplicate was) gets the key the target has, or will have. A count whose
// key a recorded message already holds (keys numbered after an expunge)
// moves on above the highest recorded ordinal. nil: no recount, the next
// ordinal after the highest recorded one (a delta: every new UID is above
// every recorded one).
type recount struct {
	taken   map[string]bool // recorded keys and keys given out
	highest map[string]int  // highest ordinal recorded or given out, by hash
}

func (rc *recount) key(hash string, count int) string {
	if rc == nil {
		return SourceKey(hash, count)
	}
	k := SourceKey(hash, count)
	for rc.taken[k] {
		rc.highest[hash]++
		k = SourceKey(hash, rc.highest[hash])
	}
	rc.taken[k] = true
	_, o := SplitSourceKey(k)
	rc.highest[hash] = max(rc.highest[hash], o)
	return k
}

// known is how many messages the state recorded for the folder when it was
// scanned.
func (s *folderScan) known() int {
	if s.partial {
		return int(s.totals.Count)
	}
	return len(s.records)
}

// expungeSuspected reports whether the counts say a known message vanished.
func (s *folderScan) expungeSuspected() bool {
	return s.hasSaved && s.known() > 0 && int64(s.plan.Src.Messages) != int64(s.known())+int64(len(s.newMetas))
}

// vanishedUIDs lists the recorded UIDs not in the source's current set, in
// UID order.
func vanishedUIDs(records map[uint32]lite, current map[uint32]struct{}) []uint32 {
	var out []uint32
	for uid := range records {
		if _, ok := current[uid]; !ok {
			out = append(out, uid)
		}
	}
	slices.Sort(out)
	return out
}

// renameMatch is a folder gone under its old name and the new folders that
// may be it, best first.
type renameMatch struct {
	gone  *folderScan
	fresh []*folderScan
}

// planRenames finds folders renamed on the source: a folder gone under its
// old name and a new folder with the same content (by header hash, and the
// same UIDVALIDITY or nearly all keys in common). Parents come first: a
// renamed parent takes its children along in the target, and their own
// renames then find them in place.
func planRenames(scans []*folderScan) []renameMatch {
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
		return nil
	}
	slices.SortFunc(gone, func(a, b *folderScan) int { return cmp.Compare(len(a.saved.Path), len(b.saved.Path)) })
	var out []renameMatch
	for _, g := range gone {
		hashes := map[string]bool{}
		for _, r := range g.vanished {
			h, _ := SplitSourceKey(r.SourceKey)
			hashes[h] = true
		}
		m := renameMatch{gone: g}
		for _, f := range fresh {
			common := 0
			for _, nm := range f.newMetas {
				if hashes[nm.HeaderHash] {
					common++
				}
			}
			smaller := min(len(f.newMetas), len(g.vanished))
			sameUV := f.plan.Src.UIDValidity == g.saved.UIDValidity
			if sameUV && common*5 >= smaller*4 || common*10 >= max(len(f.newMetas), len(g.vanished))*9 {
				m.fresh = append(m.fresh, f)
			}
		}
		if len(m.fresh) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// passPlan is what a pass does after the renames: moves first, then each
// changed folder, then the folders gone from the source.
type passPlan struct {
	moves   []move
	folders []*folderScan // changed folders, in scan order
	gone    []*folderScan
	// The user's estimated totals: known messages still in the folders plus
	// new ones, all in scope.
	estCount, estBytes int64
}

// planPass estimates the totals, pairs moves and applies the mailbox item
// limit (maxItems) to the new messages.
func planPass(scans []*folderScan, maxItems int) passPlan {
	var pp passPlan
	pp.estCount, pp.estBytes = estimate(scans)
	pp.moves = matchMoves(scans)
	capMailbox(scans, maxItems)
	for _, s := range scans {
		switch {
		case s.gone:
			pp.gone = append(pp.gone, s)
		case !s.unchanged:
			pp.folders = append(pp.folders, s)
		}
	}
	return pp
}

// estimate fills each changed folder's in-scope count and returns the
// user's totals.
func estimate(scans []*folderScan) (n, bytes int64) {
	for _, s := range scans {
		if s.gone {
			continue
		}
		if !s.unchanged {
			s.inScope, s.inBytes = s.totals.InScope, s.totals.InScopeBytes
			if !s.partial {
				s.inScope, s.inBytes = 0, 0
				for _, r := range s.records {
					if !r.outScope {
						s.inScope++
						s.inBytes += r.size
					}
				}
			}
			for _, r := range s.vanished {
				if r.Flags&state.FlagOutOfScope == 0 {
					s.inScope--
					s.inBytes -= r.Size
				}
			}
			for _, m := range s.newMetas {
				if !m.outOfScope {
					s.inScope++
					s.inBytes += m.Size
				}
			}
		}
		n += s.inScope
		bytes += s.inBytes
	}
	return n, bytes
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
			if len(cs) == 0 || m.outOfScope {
				kept = append(kept, m)
				continue
			}
			c := cs[0]
			byHash[m.HeaderHash] = cs[1:]
			moves = append(moves, move{from: c.s, rec: c.r, to: s, meta: m.MessageMeta})
			c.s.vanished = slices.DeleteFunc(c.s.vanished, func(r state.MessageRecord) bool { return r.UID == c.r.UID })
		}
		s.newMetas = kept
	}
	return moves
}

// capMailbox marks the oldest new messages beyond the mailbox item limit.
func capMailbox(scans []*folderScan, limit int) {
	var inTarget int64
	var dates []time.Time
	for _, s := range scans {
		if s.gone {
			continue
		}
		inTarget += itemsInTarget(s)
		for _, m := range s.newMetas {
			if !m.outOfScope {
				dates = append(dates, ReceivedTime(m.MessageMeta))
			}
		}
	}
	room := int64(limit) - inTarget
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
			if m.outOfScope {
				continue
			}
			t := ReceivedTime(m.MessageMeta)
			if t.Before(cutoff) || t.Equal(cutoff) && allowedAtCutoff == 0 {
				s.newMetas[i].overCap = true
			} else if t.Equal(cutoff) {
				allowedAtCutoff--
			}
		}
	}
}

// itemsInTarget is how many of a scanned folder's recorded messages are in
// the target.
func itemsInTarget(s *folderScan) int64 {
	switch {
	case s.unchanged:
		return s.saved.Items
	case s.partial:
		return s.totals.Items
	}
	var n int64
	for _, r := range s.records {
		if r.inTgt {
			n++
		}
	}
	return n
}

// op is what an action does.
type op uint8

const (
	opCreate   op = iota // copy the message into the target
	opAdopt              // record the target item that already holds it
	opSkip               // record the message as not copied (see the action's fields)
	opSetFlags           // replay a known message's flags
	opDelete             // delete the target item of an expunged message
)

func (o op) String() string {
	return [...]string{"create", "adopt", "skip", "set-flags", "delete"}[o]
}

// action is one step of a folder's plan. Moves and folder renames are
// planned for the whole pass (passPlan.moves, planRenames).
type action struct {
	op  op
	msg newMsg // create, adopt, skip
	// adopt: the target item. prior marks one recorded before a
	// UIDVALIDITY reset and deleted in the target since: the user's delete
	// stands, the message is not copied again.
	itemID string
	prior  bool
	// skip: why. An out-of-scope message is recorded without a skipped
	// item; the others are reported with reason and detail.
	outOfScope bool
	overCap    bool
	reason     string
	detail     string
	flags      flagChange          // set-flags
	rec        state.MessageRecord // delete
}

// limits are the planner's per-message limits.
type limits struct {
	maxItems int   // the mailbox item limit (for the skip's detail)
	maxBytes int64 // larger messages are skipped
}

// planFolder returns a changed folder's actions: its new messages newest
// first (create, adopt or skip), then its flag changes, then its deletes.
// have maps the source keys the target folder holds to their items (empty
// unless the folder is rebuilt); it is consumed.
func planFolder(s *folderScan, have map[string]string, lim limits) []action {
	for _, r := range s.records {
		delete(have, r.key) // a recorded key is another UID's: never map it twice
	}
	slices.SortStableFunc(s.newMetas, func(a, b newMsg) int { return ReceivedTime(b.MessageMeta).Compare(ReceivedTime(a.MessageMeta)) })
	acts := make([]action, 0, len(s.newMetas)+len(s.changes)+len(s.vanished))
	for _, m := range s.newMetas {
		acts = append(acts, planNew(m, have, s.prior, lim))
	}
	for _, c := range s.changes {
		acts = append(acts, action{op: opSetFlags, flags: c})
	}
	for _, r := range s.vanished {
		acts = append(acts, action{op: opDelete, rec: r})
	}
	return acts
}

// planNew decides what happens to one new message.
func planNew(m newMsg, have, prior map[string]string, lim limits) action {
	switch {
	case m.outOfScope:
		return action{op: opSkip, msg: m, outOfScope: true}
	case m.overCap:
		return action{op: opSkip, msg: m, overCap: true, reason: ReasonMailboxItemLimit,
			detail: fmt.Sprintf("the mailbox has more than %d items in scope; the newest are copied", lim.maxItems)}
	case m.Size > lim.maxBytes:
		return action{op: opSkip, msg: m, reason: ReasonMessageTooLarge,
			detail: fmt.Sprintf("%d bytes is over the %d byte limit", m.Size, lim.maxBytes)}
	}
	if itemID, ok := have[m.SourceKey]; ok {
		delete(have, m.SourceKey)
		return action{op: opAdopt, msg: m, itemID: itemID}
	}
	if itemID, ok := prior[m.SourceKey]; ok {
		return action{op: opAdopt, msg: m, itemID: itemID, prior: true}
	}
	return action{op: opCreate, msg: m}
}
