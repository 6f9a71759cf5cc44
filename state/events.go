package state

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// AppendEvent adds an event to a batch's log, dropping the oldest beyond
// MaxEventsPerBatch.
func (s *Store) AppendEvent(batch string, ev Event) error {
	if ev.At.IsZero() {
		ev.At = s.now().UTC()
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bBatches).Get([]byte(batch)) == nil {
			return fmt.Errorf("batch %q: %w", batch, ErrNotFound)
		}
		b, err := subCreate(tx, bEvents, batch)
		if err != nil {
			return err
		}
		seq, key, err := nextSeq(b)
		if err != nil {
			return err
		}
		e := ev
		e.Seq = seq
		if err := putJSON(b, string(key), e); err != nil {
			return err
		}
		if seq > MaxEventsPerBatch {
			return b.Delete(u64(seq - MaxEventsPerBatch))
		}
		return nil
	})
}

// Events returns the last n events of a batch, oldest first (n ≤ 0: all).
func (s *Store) Events(batch string, n int) ([]Event, error) {
	var out []Event
	err := s.db.View(func(tx *bolt.Tx) error {
		b := sub(tx, bEvents, batch)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && (n <= 0 || len(out) < n); k, v = c.Prev() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("%w: event %s: %v", ErrCorrupt, batch, err)
			}
			out = append(out, e)
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}
