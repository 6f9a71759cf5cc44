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
//	0x00                   → the index's header: the folder's
//	                         MessageTotals, then its watermark and its
//	                         stale count (uvarints)
//	source key ‖ UID (4 B) → empty: the records by source key
//
// A source key never starts with a zero byte, so the header key sorts
// first and is never mistaken for a source key. Once built (EnsureIndex,
// in one transaction, after a folder's first full pass), every write of
// messages/<user>/<folder> updates the header in the same transaction.
// It is not kept while a folder is first copied: an initial sync's
// records arrive in UID order but their source keys are random, and
// inserting them 64 at a time would rewrite a random index page per record.
//
// Writes that cost the changes (schema 5). Source keys are random, so
// every index entry written or deleted copies a random index page of some
// 80 entries (bbolt's copy-on-write); for a delta that was most of what it
// allocated. So the index is exact only below its watermark, and lets
// deletions go stale:
//
//   - Records at or above the watermark (the UIDs that arrived since the
//     index was built: new messages) have no entry. The records bucket,
//     keyed by UID, is their log: KeysWithPrefix scans those records.
//   - A record below the watermark that is deleted, or rewritten with
//     another source key, leaves its entry in place and the header counts
//     it stale. Readers check each entry against its record (the entry
//     names the UID); an entry whose record is gone or has another key is
//     stale. A record that comes back with the same key makes its entry
//     live again.
//   - A record written below the watermark gets its entry, as before.
//
// Check verifies all of it: every record below the watermark has its
// entry, no entry is at or above it, and the entries that match no record
// are exactly the stale count. When the tail above the watermark and the
// stale entries together pass compactAt of the folder, EnsureIndex (at
// the end of every pass over the folder) rebuilds the index: entries for
// all records, the watermark above the highest UID, nothing stale.
//
// A schema-4 header has neither field: every record is indexed and none
// is stale, which is a schema-5 index with its watermark above every UID
// (noWatermark).
var bMsgIndex = []byte("msgindex")

var totalsKey = []byte{0}

// noWatermark is the watermark of an index that covers every UID.
const noWatermark = uint64(1) << 32

// compactMin is the least number of tail records and stale entries that
// makes EnsureIndex rebuild an index (a variable for tests).
var compactMin int64 = 4096

// compactAt is when EnsureIndex rebuilds the index of a folder of count
// records: its tail and stale entries passed a quarter of the folder (a
// rebuild reads every record and writes every entry; it is paid for by
// that many changes, and KeysWithPrefix scans at most that many records
// of the tail).
func compactAt(count int64) int64 { return max(compactMin, count/4) }

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

// indexHeader is the value of an index's header key.
type indexHeader struct {
	t         MessageTotals
	watermark uint64 // records with a UID below it are indexed
	stale     int64  // entries that match no record
}

func (h indexHeader) encode() []byte {
	b := make([]byte, 0, 7*binary.MaxVarintLen64)
	for _, v := range []int64{h.t.Count, h.t.InScope, h.t.InScopeBytes, h.t.Items, h.t.ItemBytes} {
		b = binary.AppendVarint(b, v)
	}
	b = binary.AppendUvarint(b, h.watermark)
	return binary.AppendVarint(b, h.stale)
}

func decodeHeader(b []byte) (indexHeader, error) {
	h := indexHeader{watermark: noWatermark}
	for _, f := range []*int64{&h.t.Count, &h.t.InScope, &h.t.InScopeBytes, &h.t.Items, &h.t.ItemBytes} {
		v, w := binary.Varint(b)
		if w <= 0 {
			return h, errShort
		}
		*f, b = v, b[w:]
	}
	if len(b) == 0 {
		return h, nil // schema 4: every record indexed
	}
	wm, w := binary.Uvarint(b)
	if w <= 0 || wm > noWatermark {
		return h, errShort
	}
	b = b[w:]
	st, w := binary.Varint(b)
	if w <= 0 || st < 0 || len(b) != w {
		return h, errShort
	}
	h.watermark, h.stale = wm, st
	return h, nil
}

// folderIndex is a folder's index open in a write transaction.
type folderIndex struct {
	b *bolt.Bucket
	c *bolt.Cursor // for entry lookups
	h indexHeader
}

// openIndex opens a folder's index for a write, or returns nil when it is
// not built (the write then has nothing to keep in step).
func openIndex(tx *bolt.Tx, user, folder string) (*folderIndex, error) {
	b := sub(tx, bMsgIndex, user, folder)
	if b == nil {
		return nil, nil
	}
	h, err := decodeHeader(b.Get(totalsKey))
	if err != nil {
		return nil, fmt.Errorf("%w: index header of %s/%s: %v", ErrCorrupt, user, folder, err)
	}
	return &folderIndex{b: b, c: b.Cursor(), h: h}, nil
}

func indexKey(sourceKey []byte, uid uint32) []byte {
	k := make([]byte, 0, len(sourceKey)+4)
	k = append(k, sourceKey...)
	return binary.BigEndian.AppendUint32(k, uid)
}

// entry gives a record below the watermark its index entry: an entry
// already there was stale and is live again.
func (ix *folderIndex) entry(key []byte, uid uint32) error {
	k := indexKey(key, uid)
	if got, _ := ix.c.Seek(k); bytes.Equal(got, k) {
		ix.h.stale--
		return nil
	}
	return ix.b.Put(k, nil)
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
	ix.h.t.add(r, 1)
	if uint64(uid) >= ix.h.watermark {
		return nil // the tail: found by scanning the records
	}
	return ix.entry(r.key, uid)
}

// remove unindexes one encoded record (the one stored before a write):
// its entry, if it has one, goes stale.
func (ix *folderIndex) remove(uid uint32, old []byte) error {
	if ix == nil {
		return nil
	}
	r, err := splitRecord(old)
	if err != nil {
		return fmt.Errorf("%w: message UID %d: %v", ErrCorrupt, uid, err)
	}
	ix.h.t.add(r, -1)
	if uint64(uid) < ix.h.watermark {
		ix.h.stale++
	}
	return nil
}

// replace re-indexes a record written over old: only the header changes
// when its source key stays (a flag update), so no index page is
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
	ix.h.t.add(o, -1)
	ix.h.t.add(r, 1)
	if bytes.Equal(o.key, r.key) || uint64(uid) >= ix.h.watermark {
		return nil
	}
	ix.h.stale++ // the old key's entry
	return ix.entry(r.key, uid)
}

func (ix *folderIndex) save() error {
	if ix == nil {
		return nil
	}
	return ix.b.Put(totalsKey, ix.h.encode())
}

// buildIndex builds a folder's index from its records in one pass, the
// keys in order (each index page is written once), and returns its totals.
// The watermark goes above the highest recorded UID; nothing is stale.
func buildIndex(tx *bolt.Tx, user, folder string) (MessageTotals, error) {
	var h indexHeader
	if err := deleteSub2(tx, bMsgIndex, user, folder); err != nil {
		return h.t, err
	}
	recs := sub(tx, bMessages, user, folder)
	if recs == nil {
		return h.t, nil
	}
	// The keys in one arena (a rebuild's allocations grow with the
	// folder: one per key would be 100,000 for a large folder).
	n := recs.Stats().KeyN
	keys := make([][]byte, 0, n)
	arena := make([]byte, 0, n*(32+4))
	var last uint32
	if err := recs.ForEach(func(k, v []byte) error {
		r, err := splitRecord(v)
		if err != nil || len(k) != 4 {
			return fmt.Errorf("%w: messages/%s/%s/%x: %v", ErrCorrupt, user, folder, k, err)
		}
		h.t.add(r, 1)
		last = binary.BigEndian.Uint32(k)
		if cap(arena)-len(arena) < len(r.key)+4 {
			arena = make([]byte, 0, max(64*1024, len(r.key)+4))
		}
		start := len(arena)
		arena = binary.BigEndian.AppendUint32(append(arena, r.key...), last)
		keys = append(keys, arena[start:len(arena):len(arena)])
		return nil
	}); err != nil {
		return h.t, err
	}
	h.watermark = uint64(last) + 1
	slices.SortFunc(keys, bytes.Compare)
	b, err := subCreate(tx, bMsgIndex, user, folder)
	if err != nil {
		return h.t, err
	}
	b.FillPercent = 0.9 // appended in order; later inserts are few
	if err := b.Put(totalsKey, h.encode()); err != nil {
		return h.t, err
	}
	for _, k := range keys {
		if err := b.Put(k, nil); err != nil {
			return h.t, err
		}
	}
	return h.t, nil
}

// EnsureIndex returns a folder's totals from its index, building the
// index first when it is not (a folder after its initial copy, or a
// state file from before schema 4), or rebuilding it when its tail and
// stale entries passed compactAt. A folder without records has zero
// totals and no index.
func (s *Store) EnsureIndex(email, folder string) (MessageTotals, error) {
	var t MessageTotals
	due := false
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		t, due, err = indexState(tx, UserKey(email), folder)
		return err
	})
	if err != nil || !due {
		return t, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if t, due, err = indexState(tx, UserKey(email), folder); err != nil || !due {
			return err // built meanwhile
		}
		t, err = buildIndex(tx, UserKey(email), folder)
		return err
	})
	return t, err
}

// FinishFolder saves the state of a folder whose pass is done, with Items
// and ItemBytes from its records' totals, building or rebuilding its index
// first when due (EnsureIndex), all in one transaction: a finished folder
// costs one commit, not two. It returns the state saved.
func (s *Store) FinishFolder(email string, f FolderState) (FolderState, error) {
	var out FolderState
	err := s.db.Batch(func(tx *bolt.Tx) (err error) {
		out, err = s.finishFolderTx(tx, email, f)
		return err
	})
	return out, err
}

// finishFolderTx is FinishFolder within tx.
func (s *Store) finishFolderTx(tx *bolt.Tx, email string, f FolderState) (FolderState, error) {
	if err := s.userExists(tx, email); err != nil {
		return FolderState{}, err
	}
	user := UserKey(email)
	t, due, err := indexState(tx, user, f.Name)
	if err == nil && due {
		t, err = buildIndex(tx, user, f.Name)
	}
	if err != nil {
		return FolderState{}, err
	}
	out := f
	out.Items, out.ItemBytes = t.Items, t.ItemBytes
	b, err := subCreate(tx, bFolders, user)
	if err != nil {
		return FolderState{}, err
	}
	return out, putJSON(b, out.Name, out)
}

// indexState returns a folder's totals and whether its index is due to
// be built or rebuilt.
func indexState(tx *bolt.Tx, user, folder string) (MessageTotals, bool, error) {
	recs := sub(tx, bMessages, user, folder)
	if recs == nil {
		return MessageTotals{}, false, nil
	}
	ib := sub(tx, bMsgIndex, user, folder)
	if ib == nil {
		return MessageTotals{}, true, nil
	}
	h, err := decodeHeader(ib.Get(totalsKey))
	if err != nil {
		return h.t, false, fmt.Errorf("%w: index header of %s/%s: %v", ErrCorrupt, user, folder, err)
	}
	limit := compactAt(h.t.Count)
	n := h.stale
	if n <= limit && h.watermark < noWatermark {
		c := recs.Cursor()
		for k, _ := c.Seek(u32(uint32(h.watermark))); k != nil && n <= limit; k, _ = c.Next() {
			n++
		}
	}
	return h.t, n > limit, nil
}

// deleteSub2 deletes the bucket top/user/name if it exists.
func deleteSub2(tx *bolt.Tx, top []byte, user, name string) error {
	b := sub(tx, top, user)
	if b == nil || b.Bucket([]byte(name)) == nil {
		return nil
	}
	return b.DeleteBucket([]byte(name))
}

// checkIndex compares a folder's index with its records: the totals, an
// entry for every record below the watermark, none at or above it, and
// the entries that match no record exactly the stale count.
func checkIndex(tx *bolt.Tx, user, folder string) []error {
	recs := sub(tx, bMessages, user, folder)
	ib := sub(tx, bMsgIndex, user, folder)
	if ib == nil {
		return nil // not built
	}
	var errs []error
	h, err := decodeHeader(ib.Get(totalsKey))
	if err != nil {
		return []error{fmt.Errorf("msgindex/%s/%s: the header (totals) does not decode", user, folder)}
	}
	var want MessageTotals
	c := ib.Cursor()
	_ = recs.ForEach(func(k, v []byte) error {
		r, err := splitRecord(v)
		if err != nil || len(k) != 4 {
			return nil // reported by the record check
		}
		want.add(r, 1)
		uid := binary.BigEndian.Uint32(k)
		if ik := indexKey(r.key, uid); uint64(uid) < h.watermark {
			if got, _ := c.Seek(ik); !bytes.Equal(got, ik) {
				errs = append(errs, fmt.Errorf("msgindex/%s/%s: UID %d (%s) is not indexed", user, folder, uid, r.key))
			}
		}
		return nil
	})
	if h.t != want {
		errs = append(errs, fmt.Errorf("msgindex/%s/%s: totals %+v, the records sum to %+v", user, folder, h.t, want))
	}
	var stale int64
	_ = ib.ForEach(func(k, _ []byte) error {
		if bytes.Equal(k, totalsKey) {
			return nil
		}
		if len(k) < 5 {
			errs = append(errs, fmt.Errorf("msgindex/%s/%s: bad key %x", user, folder, k))
			return nil
		}
		uid := binary.BigEndian.Uint32(k[len(k)-4:])
		if uint64(uid) >= h.watermark {
			errs = append(errs, fmt.Errorf("msgindex/%s/%s: entry %q UID %d is at or above the watermark %d", user, folder, k[:len(k)-4], uid, h.watermark))
			return nil
		}
		v := recs.Get(u32(uid))
		if r, err := splitRecord(v); v == nil || err != nil || !bytes.Equal(r.key, k[:len(k)-4]) {
			stale++
		}
		return nil
	})
	if stale != h.stale {
		errs = append(errs, fmt.Errorf("msgindex/%s/%s: %d entries, each matches no record; the header counts %d stale", user, folder, stale, h.stale))
	}
	return errs
}

func hasKey(b *bolt.Bucket, k []byte) bool {
	got, _ := b.Cursor().Seek(k)
	return bytes.Equal(got, k)
}
