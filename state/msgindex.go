// Each folder's message indexes, kept in step with its records so that an
// incremental pass reads what changed, not the whole folder.

package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// bMsgIndex holds, for each folder whose index is built,
// msgindex/<user>/<folder>:
//
//	0x00                   → the folder's MessageTotals (uvarints)
//	source key ‖ UID (4 B) → empty: the records by source key
//
// A source key never starts with a zero byte, so the totals key sorts
// first and is never mistaken for a source key. Once built (EnsureIndex,
// in one transaction, after a folder's first full pass), every write of
// messages/<user>/<folder> updates the index in the same transaction.
// It is not kept while a folder is first copied: an initial sync's
// records arrive in UID order but their source keys are random, and
// inserting them 64 at a time would rewrite a random index page per record.
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

// openIndex opens a folder's index for a write, or returns nil when it is
// not built (the write then has nothing to keep in step).
func openIndex(tx *bolt.Tx, user, folder string) (*folderIndex, error) {
	b := sub(tx, bMsgIndex, user, folder)
	if b == nil {
		return nil, nil
	}
	ix := &folderIndex{b: b}
	if v := b.Get(totalsKey); v != nil {
		var err error
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

// insert indexes one encoded record (nothing when the index is not built).
func (ix *folderIndex) insert(uid uint32, v []byte) error {
	if ix == nil {
		return nil
	}
	r, err := splitRecord(v)
	if err != nil {
		return err
	}
	ix.t.add(r, 1)
	return ix.b.Put(indexKey(r.key, uid), nil)
}

// remove unindexes one encoded record (the one stored before a write).
func (ix *folderIndex) remove(uid uint32, old []byte) error {
	if ix == nil {
		return nil
	}
	r, err := splitRecord(old)
	if err != nil {
		return fmt.Errorf("%w: message UID %d: %v", ErrCorrupt, uid, err)
	}
	ix.t.add(r, -1)
	return ix.b.Delete(indexKey(r.key, uid))
}

// replace re-indexes a record written over old: only the totals change
// when its source key stays (a flag update), so the index page is not
// rewritten.
func (ix *folderIndex) replace(uid uint32, old, v []byte) error {
	if ix == nil {
		return nil
	}
	o, err := splitRecord(old)
	if err != nil {
		return fmt.Errorf("%w: message UID %d: %v", ErrCorrupt, uid, err)
	}
	r, err := splitRecord(v)
	if err != nil {
		return err
	}
	if !bytes.Equal(o.key, r.key) {
		if err := ix.b.Delete(indexKey(o.key, uid)); err != nil {
			return err
		}
		if err := ix.b.Put(indexKey(r.key, uid), nil); err != nil {
			return err
		}
	}
	ix.t.add(o, -1)
	ix.t.add(r, 1)
	return nil
}

func (ix *folderIndex) save() error {
	if ix == nil {
		return nil
	}
	return ix.b.Put(totalsKey, ix.t.encode())
}

// buildIndex builds a folder's index from its records in one pass, the
// keys in order (each index page is written once), and returns its totals.
func buildIndex(tx *bolt.Tx, user, folder string) (MessageTotals, error) {
	var t MessageTotals
	if err := deleteSub2(tx, bMsgIndex, user, folder); err != nil {
		return t, err
	}
	recs := sub(tx, bMessages, user, folder)
	if recs == nil {
		return t, nil
	}
	var keys [][]byte
	if err := recs.ForEach(func(k, v []byte) error {
		r, err := splitRecord(v)
		if err != nil || len(k) != 4 {
			return fmt.Errorf("%w: messages/%s/%s/%x: %v", ErrCorrupt, user, folder, k, err)
		}
		t.add(r, 1)
		keys = append(keys, indexKey(r.key, binary.BigEndian.Uint32(k)))
		return nil
	}); err != nil {
		return t, err
	}
	slices.SortFunc(keys, bytes.Compare)
	b, err := subCreate(tx, bMsgIndex, user, folder)
	if err != nil {
		return t, err
	}
	b.FillPercent = 0.9 // appended in order; later inserts are few
	if err := b.Put(totalsKey, t.encode()); err != nil {
		return t, err
	}
	for _, k := range keys {
		if err := b.Put(k, nil); err != nil {
			return t, err
		}
	}
	return t, nil
}

// EnsureIndex returns a folder's totals from its index, building the
// index first when it is not (a folder after its initial copy, or a
// state file from before schema 4). A folder without records has zero
// totals and no index.
func (s *Store) EnsureIndex(email, folder string) (MessageTotals, error) {
	t, built, err := s.FolderTotals(email, folder)
	if err != nil || built {
		return t, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if sub(tx, bMsgIndex, UserKey(email), folder) != nil {
			ix, err := openIndex(tx, UserKey(email), folder) // built meanwhile
			if err == nil {
				t = ix.t
			}
			return err
		}
		t, err = buildIndex(tx, UserKey(email), folder)
		return err
	})
	return t, err
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
		return nil // not built
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

// FolderTotals returns a folder's recorded messages summed up, read from
// its index; built is false when the index is not built (the totals are
// then zero and say nothing) or the folder has no records.
func (s *Store) FolderTotals(email, folder string) (t MessageTotals, built bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if sub(tx, bMessages, UserKey(email), folder) == nil {
			built = true // nothing recorded: zero totals are the truth
			return nil
		}
		b := sub(tx, bMsgIndex, UserKey(email), folder)
		if b == nil {
			return nil
		}
		built = true
		v := b.Get(totalsKey)
		var err error
		if t, err = decodeTotals(v); err != nil {
			return fmt.Errorf("%w: totals of %s/%s: %v", ErrCorrupt, email, folder, err)
		}
		return nil
	})
	return t, built, err
}

// SummariesOf returns the summaries of the recorded messages among uids,
// in the order given; UIDs without a record are left out.
func (s *Store) SummariesOf(email, folder string, uids []uint32) ([]MessageSummary, error) {
	return recordsOf(s, email, folder, uids, decodeSummary)
}

func recordsOf[T any](s *Store, email, folder string, uids []uint32, decode func(uint32, []byte) (T, error)) ([]T, error) {
	var out []T
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
			r, err := decode(uid, v)
			if err != nil {
				return fmt.Errorf("%w: message %s/%s/%d: %v", ErrCorrupt, email, folder, uid, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// MessagesOf returns the records among uids, in the order given, in one
// read transaction; UIDs without a record are left out.
func (s *Store) MessagesOf(email, folder string, uids []uint32) ([]MessageRecord, error) {
	return recordsOf(s, email, folder, uids, decodeMessage)
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
