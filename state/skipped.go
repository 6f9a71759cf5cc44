package state

import (
	"encoding/json"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// AddSkipped records a skipped message. A message already recorded (same
// folder and source key, or same folder and UID when it has no key) is not
// recorded twice, so a retried pass does not inflate the list.
func (s *Store) AddSkipped(email string, it SkippedItem) (added bool, err error) {
	err = s.db.Batch(func(tx *bolt.Tx) error {
		added = false
		if err := s.userExists(tx, email); err != nil {
			return err
		}
		b, err := subCreate(tx, bSkipped, UserKey(email))
		if err != nil {
			return err
		}
		key := skippedKey(it)
		if b.Get(key) != nil {
			return nil
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		it.Seq = seq
		if it.At.IsZero() {
			it.At = s.now().UTC()
		}
		added = true
		return putJSON(b, string(key), it)
	})
	return added, err
}

// skippedKey identifies a skipped message: folder, then its source key (or
// UID when it has none), so a retried pass records it once.
func skippedKey(it SkippedItem) []byte {
	id := it.SourceKey
	if id == "" {
		id = fmt.Sprintf("uid:%d", it.UID)
	}
	return []byte(it.Folder + "\x00" + id)
}

// Skipped lists a user's skipped items in the order recorded.
func (s *Store) Skipped(email string) ([]SkippedItem, error) {
	var out []SkippedItem
	err := s.db.View(func(tx *bolt.Tx) error {
		b := sub(tx, bSkipped, UserKey(email))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var it SkippedItem
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("%w: skipped %s: %v", ErrCorrupt, email, err)
			}
			out = append(out, it)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, err
}

// ApproveSkipped marks all of a user's skipped items approved and returns
// how many changed.
func (s *Store) ApproveSkipped(email string) (int, error) {
	n := 0
	err := s.db.Batch(func(tx *bolt.Tx) error {
		n = 0
		b := sub(tx, bSkipped, UserKey(email))
		if b == nil {
			return nil
		}
		type kv struct {
			k  []byte
			it SkippedItem
		}
		var upd []kv
		err := b.ForEach(func(k, v []byte) error {
			var it SkippedItem
			if err := json.Unmarshal(v, &it); err != nil {
				return err
			}
			if !it.Approved {
				it.Approved = true
				upd = append(upd, kv{append([]byte(nil), k...), it})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, u := range upd {
			if err := putJSON(b, string(u.k), u.it); err != nil {
				return err
			}
		}
		n = len(upd)
		return nil
	})
	return n, err
}

// ClearSkipped removes skipped items matching keep == false.
func (s *Store) ClearSkipped(email string, drop func(SkippedItem) bool) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b := sub(tx, bSkipped, UserKey(email))
		if b == nil {
			return nil
		}
		var del [][]byte
		_ = b.ForEach(func(k, v []byte) error {
			var it SkippedItem
			if json.Unmarshal(v, &it) == nil && drop(it) {
				del = append(del, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range del {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
