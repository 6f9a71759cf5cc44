package migrate

import (
	"sync"

	"github.com/imapmig/imapmig/state"
)

// commitEvery is how many records a committer holds before it writes them.
const commitEvery = 64

// A committer is the commit step of a folder's creates: the applier hands
// it each message's outcome after the target accepted (or refused) it, and
// the committer writes the records in batches of commitEvery, and once
// more when the creates end, stopped or not. A crash loses at most the
// records not yet written; their items are found again by source key
// (docs/ARCHITECTURE.md, "Crash safety"). It is safe for concurrent use.
type committer struct {
	p      *pass
	s      *folderScan
	every  int
	mu     sync.Mutex
	queued []state.MessageRecord
	notes  map[string]int64 // item notes of the creates, by kind
	err    error            // the first failed write
}

func (p *pass) newCommitter(s *folderScan) *committer {
	return &committer{p: p, s: s, every: commitEvery, notes: map[string]int64{}}
}

// record queues one message's record (itemID "" when it is not in the
// target) and writes the queue when it is full.
func (c *committer) record(m newMsg, itemID string, notes []string) error {
	fl := flagsFromIMAP(m.Flags)
	rec := state.MessageRecord{UID: m.UID, SourceKey: m.SourceKey, ItemID: itemID, Flags: flagBits(fl), Size: m.Size, Keywords: fl.Categories}
	if m.outOfScope {
		rec.Flags |= state.FlagOutOfScope
	}
	c.mu.Lock()
	c.queued = append(c.queued, rec)
	if !c.s.stream {
		// A streamed folder's records are what the state knew when it
		// started: its scan reads them while its creates run (stream.go),
		// and nothing later in the pass needs the new ones.
		c.s.records[m.UID] = liteOf(rec)
	}
	for _, n := range notes {
		c.notes[n]++
	}
	full := len(c.queued) >= c.every
	c.mu.Unlock()
	if full {
		return c.flush()
	}
	return nil
}

// flush writes the queued records and the user's progress. A failed write
// is remembered: the creates stop.
func (c *committer) flush() error {
	c.mu.Lock()
	recs := c.queued
	c.queued = nil
	c.mu.Unlock()
	if err := c.p.e.store.PutMessages(c.p.email, c.s.plan.Src.Name, recs); err != nil {
		err = Fatal(err)
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.mu.Unlock()
		return err
	}
	c.p.prog.persist(c.p.e.store, c.p.email)
	return nil
}

// failed returns the first failed write, if any.
func (c *committer) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// close writes what is queued and adds the item notes to the user.
func (c *committer) close() error {
	if err := c.flush(); err != nil {
		return err
	}
	return c.addNotes()
}

// take returns the queued records and empties the queue: the caller
// writes them (completeFolder, with the folder's finished state: one
// commit instead of two).
func (c *committer) take() []state.MessageRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs := c.queued
	c.queued = nil
	return recs
}

// addNotes adds the item notes of the creates to the user.
func (c *committer) addNotes() error {
	if len(c.notes) == 0 {
		return nil
	}
	if _, err := c.p.e.store.UpdateUser(c.p.email, func(u *state.User) error {
		if u.ItemNotes == nil {
			u.ItemNotes = map[string]int64{}
		}
		for k, n := range c.notes {
			u.ItemNotes[k] += n
		}
		return nil
	}); err != nil {
		return Fatal(err)
	}
	return nil
}
