// The reads of an incremental pass: a folder's totals, the records of the
// UIDs a change names, the UIDs gone from the source and the keys of new
// messages, each costing the changes rather than the folder (msgindex.go).

package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

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
		h, err := decodeHeader(b.Get(totalsKey))
		if err != nil {
			return fmt.Errorf("%w: index header of %s/%s: %v", ErrCorrupt, email, folder, err)
		}
		t = h.t
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
		c := b.Cursor() // one cursor for every lookup: bucket Gets allocate one each
		var key [4]byte
		for _, uid := range uids {
			binary.BigEndian.PutUint32(key[:], uid)
			k, v := c.Seek(key[:])
			if !bytes.Equal(k, key[:]) {
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

// UIDRange is the UIDs First to Last, both included.
type UIDRange struct{ First, Last uint32 }

// UIDRanges is uids (sorted ascending) as runs of consecutive UIDs.
func UIDRanges(uids []uint32) []UIDRange {
	var out []UIDRange
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] <= uids[j]+1 && uids[j+1] >= uids[j] {
			j++ // the run of consecutive UIDs goes on
		}
		out = append(out, UIDRange{uids[i], uids[j]})
		i = j + 1
	}
	return out
}

// MissingUIDs returns the recorded UIDs of a folder that are not in
// current (sorted ascending), in UID order (MissingUIDsIn).
func (s *Store) MissingUIDs(email, folder string, current []uint32) ([]uint32, error) {
	return s.MissingUIDsIn(email, folder, UIDRanges(current))
}

// MissingUIDsIn returns the recorded UIDs of a folder that are in none of
// current's ranges (sorted ascending, not overlapping: an ESEARCH result's
// form), in UID order. It seeks into the gaps between the ranges, so its
// reads grow with the number of gaps and missing records, not with the
// folder; no record is decoded, and a folder's UID set costs its ranges,
// not its messages.
func (s *Store) MissingUIDsIn(email, folder string, current []UIDRange) ([]uint32, error) {
	var out []uint32
	err := s.db.View(func(tx *bolt.Tx) error {
		b := sub(tx, bMessages, UserKey(email), folder)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var key [4]byte
		lo := uint64(0) // the gap [lo, hi) before current[i]
		for i := 0; ; i++ {
			hi := uint64(1) << 32
			if i < len(current) {
				hi = uint64(current[i].First)
			}
			binary.BigEndian.PutUint32(key[:], uint32(lo))
			for k, _ := c.Seek(key[:]); lo < hi && k != nil; k, _ = c.Next() {
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
			lo = max(lo, uint64(current[i].Last)+1)
			if lo > 1<<32-1 {
				return nil
			}
		}
	})
	return out, err
}

// KeysWithPrefix returns, for each prefix, the recorded source keys of a
// folder that start with it (a header hash gives the source keys of its
// duplicates), in source-key order: the index's live entries, and the
// records above its watermark.
func (s *Store) KeysWithPrefix(email, folder string, prefixes []string) (map[string][]string, error) {
	out := make(map[string][]string, len(prefixes))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := sub(tx, bMsgIndex, UserKey(email), folder)
		recs := sub(tx, bMessages, UserKey(email), folder)
		if b == nil || recs == nil {
			return nil
		}
		h, err := decodeHeader(b.Get(totalsKey))
		if err != nil {
			return fmt.Errorf("%w: index header of %s/%s: %v", ErrCorrupt, email, folder, err)
		}
		c, rc := b.Cursor(), recs.Cursor()
		for _, p := range prefixes {
			if p == "" {
				continue
			}
			for k, _ := c.Seek([]byte(p)); k != nil && bytes.HasPrefix(k, []byte(p)); k, _ = c.Next() {
				if len(k) < len(p)+4 {
					continue
				}
				uk, v := rc.Seek(k[len(k)-4:])
				if r, err := splitRecord(v); !bytes.Equal(uk, k[len(k)-4:]) || err != nil || !bytes.Equal(r.key, k[:len(k)-4]) {
					continue // stale
				}
				out[p] = append(out[p], string(k[:len(k)-4]))
			}
		}
		if h.watermark < noWatermark {
			return tailKeys(rc, uint32(h.watermark), prefixes, out)
		}
		return nil
	})
	return out, err
}

// tailKeys adds to out the source keys of the records from UID from on
// that start with one of prefixes, and sorts the lists it added to.
func tailKeys(rc *bolt.Cursor, from uint32, prefixes []string, out map[string][]string) error {
	want := make(map[string]bool, len(prefixes))
	var lens []int // the prefixes' lengths, each once
	for _, p := range prefixes {
		if p != "" && !want[p] {
			want[p] = true
			if !slices.Contains(lens, len(p)) {
				lens = append(lens, len(p))
			}
		}
	}
	added := map[string]bool{}
	for k, v := rc.Seek(u32(from)); k != nil; k, v = rc.Next() {
		r, err := splitRecord(v)
		if err != nil {
			return fmt.Errorf("%w: message UID %x: %v", ErrCorrupt, k, err)
		}
		for _, n := range lens {
			if len(r.key) >= n && want[string(r.key[:n])] {
				p := string(r.key[:n])
				out[p] = append(out[p], string(r.key))
				added[p] = true
			}
		}
	}
	for p := range added {
		slices.Sort(out[p])
	}
	return nil
}
