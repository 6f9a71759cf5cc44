// Each folder's message indexes, kept in step with its records so that an
// incremental pass reads what changed, not the whole folder.

package state

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// bMsgIndex holds, for each folder with records, msgindex/<user>/<folder>:
//
//	0x00                   → the folder's MessageTotals (uvarints)
//	source key ‖ UID (4 B) → empty: the records by source key
//
// A source key never starts with a zero byte, so the totals key sorts
// first and is never mistaken for a source key. Every write of
// messages/<user>/<folder> updates the index in the same transaction.
var bMsgIndex = []byte("msgindex")

var totalsKey = []byte{0}

// MessageTotals are a folder's recorded messages summed up: what a pass
// needs for its estimate and its folder counts without reading every
// record.
type MessageTotals struct {
	Count        int64 // records
	InScope      int64 // records without FlagOutOfScope
	InScopeBytes int64
	Items        int64 // records with a target item
	ItemBytes    int64
}

func (t *MessageTotals) add(r rawRecord, sign int64) {
	t.Count += sign
	if r.flags&FlagOutOfScope == 0 {
		t.InScope += sign
		t.InScopeBytes += sign * r.size
	}
	if len(r.itemID) > 0 {
		t.Items += sign
		t.ItemBytes += sign * r.size
	}
}

func (t MessageTotals) encode() []byte {
	b := make([]byte, 0, 5*binary.MaxVarintLen64)
	for _, v := range []int64{t.Count, t.InScope, t.InScopeBytes, t.Items, t.ItemBytes} {
		b = binary.AppendVarint(b, v)
	}
	return b
}

func decodeTotals(b []byte) (MessageTotals, error) {
	var t MessageTotals
	for _, f := range []*int64{&t.Count, &t.InScope, &t.InScopeBytes, &t.Items, &t.ItemBytes} {
		v, w := binary.Varint(b)
		if w <= 0 {
			return t, errShort
		}
		*f, b = v, b[w:]
	}
	return t, nil
}

// folderIndex is a folder's index open in a write transaction.
type folderIndex struct {
	b *bolt.Bucket
	t MessageTotals
}

func openIndex(tx *bolt.Tx, user, folder string) (*folderIndex, error) {
	b, err := subCreate(tx, bMsgIndex, user, folder)
	if err != nil {
		return nil, err
	}
	ix := &folderIndex{b: b}
	if v := b.Get(totalsKey); v != nil {
		if ix.t, err = decodeTotals(v); err != nil {
			return nil, fmt.Errorf("%w: totals of %s/%s: %v", ErrCorrupt, user, folder, err)
		}
	}
	return ix, nil
}

func indexKey(sourceKey []byte, uid uint32) []byte {
	k := make([]byte, 0, len(sourceKey)+4)
	k = append(k, sourceKey...)
	return binary.BigEndian.AppendUint32(k, uid)
}

// insert indexes one encoded record.
func (ix *folderIndex) insert(uid uint32, v []byte) error {
	r, err := splitRecord(v)
	if err != nil {
		return err
	}
	ix.t.add(r, 1)
	return ix.b.Put(indexKey(r.key, uid), nil)
}

// remove unindexes one encoded record (the one stored before a write).
func (ix *folderIndex) remove(uid uint32, old []byte) error {
	r, err := splitRecord(old)
	if err != nil {
		return fmt.Errorf("%w: message UID %d: %v", ErrCorrupt, uid, err)
	}
	ix.t.add(r, -1)
	return ix.b.Delete(indexKey(r.key, uid))
}

func (ix *folderIndex) save() error { return ix.b.Put(totalsKey, ix.t.encode()) }

// rebuildIndex builds a folder's index from its records (schema upgrade).
func rebuildIndex(tx *bolt.Tx, user, folder string) error {
	if err := deleteSub2(tx, bMsgIndex, user, folder); err != nil {
		return err
	}
	recs := sub(tx, bMessages, user, folder)
	if recs == nil {
		return nil
	}
	ix, err := openIndex(tx, user, folder)
	if err != nil {
		return err
	}
	if err := recs.ForEach(func(k, v []byte) error {
		if len(k) != 4 {
			return fmt.Errorf("%w: messages/%s/%s: bad UID key", ErrCorrupt, user, folder)
		}
		if err := ix.insert(binary.BigEndian.Uint32(k), v); err != nil {
			return fmt.Errorf("%w: messages/%s/%s/%x: %v", ErrCorrupt, user, folder, k, err)
		}
		return nil
	}); err != nil {
		return err
	}
	return ix.save()
}

// deleteSub2 deletes the bucket top/user/name if it exists.
func deleteSub2(tx *bolt.Tx, top []byte, user, name string) error {
	b := sub(tx, top, user)
	if b == nil || b.Bucket([]byte(name)) == nil {
		return nil
	}
	return b.DeleteBucket([]byte(name))
}

// checkIndex compares a folder's index with its records.
func checkIndex(tx *bolt.Tx, user, folder string) []error {
	recs := sub(tx, bMessages, user, folder)
	ib := sub(tx, bMsgIndex, user, folder)
	if ib == nil {
		return []error{fmt.Errorf("messages/%s/%s has no index", user, folder)}
	}
	var errs []error
	var want MessageTotals
	n := 0
	_ = recs.ForEach(func(k, v []byte) error {
		r, err := splitRecord(v)
		if err != nil || len(k) != 4 {
			return nil // reported by the record check
		}
		want.add(r, 1)
		n++
		if !hasKey(ib, indexKey(r.key, binary.BigEndian.Uint32(k))) {
			errs = append(errs, fmt.Errorf("msgindex/%s/%s: UID %d (%s) is not indexed", user, folder, binary.BigEndian.Uint32(k), r.key))
		}
		return nil
	})
	got, err := decodeTotals(ib.Get(totalsKey))
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("msgindex/%s/%s: totals do not decode", user, folder))
	case got != want:
		errs = append(errs, fmt.Errorf("msgindex/%s/%s: totals %+v, the records sum to %+v", user, folder, got, want))
	}
	entries := 0
	_ = ib.ForEach(func(k, _ []byte) error {
		if bytes.Equal(k, totalsKey) {
			return nil
		}
		entries++
		if len(k) < 5 {
			errs = append(errs, fmt.Errorf("msgindex/%s/%s: bad key %x", user, folder, k))
			return nil
		}
		uid := binary.BigEndian.Uint32(k[len(k)-4:])
		v := recs.Get(u32(uid))
		r, err := splitRecord(v)
		if v == nil || err != nil || !bytes.Equal(r.key, k[:len(k)-4]) {
			errs = append(errs, fmt.Errorf("msgindex/%s/%s: entry %q UID %d matches no record", user, folder, k[:len(k)-4], uid))
		}
		return nil
	})
	if entries != n {
		errs = append(errs, fmt.Errorf("msgindex/%s/%s: %d entries for %d records", user, folder, entries, n))
	}
	return errs
}

func hasKey(b *bolt.Bucket, k []byte) bool {
	got, _ := b.Cursor().Seek(k)
	return bytes.Equal(got, k)
}

// FolderTotals returns a folder's recorded messages summed up (zero when
// it has none), read from its index.
func (s *Store) FolderTotals(email, folder string) (MessageTotals, error) {
	var t MessageTotals
	err := s.db.View(func(tx *bolt.Tx) error {
		b := sub(tx, bMsgIndex, UserKey(email), folder)
		if b == nil {
			return nil
		}
		v := b.Get(totalsKey)
		if v == nil {
			return nil
		}
		var err error
		if t, err = decodeTotals(v); err != nil {
			return fmt.Errorf("%w: totals of %s/%s: %v", ErrCorrupt, email, folder, err)
		}
		return nil
	})
	return t, err
}

// SummariesOf returns the summaries of the recorded messages among uids,
// in the order given; UIDs without a record are left out.
func (s *Store) SummariesOf(email, folder string, uids []uint32) ([]MessageSummary, error) {
	var out []MessageSummary
	err := s.db.View(func(tx *bolt.Tx) error {
		b := sub(tx, bMessages, UserKey(email), folder)
		if b == nil {
			return nil
		}
		for _, uid := range uids {
			v := b.Get(u32(uid))
			if v == nil {
				continue
			}
			r, err := decodeSummary(uid, v)
			if err != nil {
				return fmt.Errorf("%w: message %s/%s/%d: %v", ErrCorrupt, email, folder, uid, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// SummariesFrom is Summaries for the UIDs from from on.
func (s *Store) SummariesFrom(email, folder string, from uint32, fn func(MessageSummary) error) error {
	return eachMessageFrom(s, email, folder, from, decodeSummary, fn)
}

// MissingUIDs returns the recorded UIDs of a folder that are not in
// current (sorted ascending), in UID order. It seeks into the gaps between
// current's runs of consecutive UIDs, so its reads grow with the number of
// gaps and missing records, not with the folder; no record is decoded.
func (s *Store) MissingUIDs(email, folder string, current []uint32) ([]uint32, error) {
	var out []uint32
	err := s.db.View(func(tx *bolt.Tx) error {
		b := sub(tx, bMessages, UserKey(email), folder)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		lo, i := uint64(0), 0 // the gap [lo, hi) before current[i]
		for {
			hi := uint64(1) << 32
			if i < len(current) {
				hi = uint64(current[i])
			}
			for k, _ := c.Seek(u32(uint32(lo))); lo < hi && k != nil; k, _ = c.Next() {
				if len(k) != 4 {
					return fmt.Errorf("%w: messages/%s/%s: bad UID key", ErrCorrupt, email, folder)
				}
				uid := binary.BigEndian.Uint32(k)
				if uint64(uid) >= hi {
					break
				}
				out = append(out, uid)
			}
			if i == len(current) {
				return nil
			}
			for i+1 < len(current) && current[i+1] <= current[i]+1 {
				i++ // the run of consecutive UIDs goes on
			}
			lo = uint64(current[i]) + 1
			i++
			if lo > 1<<32-1 {
				return nil
			}
		}
	})
	return out, err
}

// KeysWithPrefix returns, for each prefix, the recorded source keys of a
// folder that start with it (a header hash gives the source keys of its
// duplicates), read from the index.
func (s *Store) KeysWithPrefix(email, folder string, prefixes []string) (map[string][]string, error) {
	out := make(map[string][]string, len(prefixes))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := sub(tx, bMsgIndex, UserKey(email), folder)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for _, p := range prefixes {
			if p == "" {
				continue
			}
			for k, _ := c.Seek([]byte(p)); k != nil && bytes.HasPrefix(k, []byte(p)); k, _ = c.Next() {
				if len(k) < len(p)+4 {
					continue
				}
				out[p] = append(out[p], string(k[:len(k)-4]))
			}
		}
		return nil
	})
	return out, err
}

// rebuildIndexes builds every folder's index (upgrade from schema 3).
func rebuildIndexes(tx *bolt.Tx) error {
	return tx.Bucket(bMessages).ForEach(func(user, _ []byte) error {
		ub := sub(tx, bMessages, string(user))
		if ub == nil {
			return nil
		}
		var folders []string
		if err := ub.ForEach(func(folder, _ []byte) error {
			folders = append(folders, string(folder))
			return nil
		}); err != nil {
			return err
		}
		for _, f := range folders {
			if err := rebuildIndex(tx, string(user), f); err != nil {
				return err
			}
		}
		return nil
	})
}
