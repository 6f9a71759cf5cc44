package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// indexOf reads a folder's index header and entry count.
func indexOf(t *testing.T, s *Store, email, folder string) (indexHeader, int) {
	t.Helper()
	var h indexHeader
	n := 0
	mustDo(t, s.db.View(func(tx *bolt.Tx) error {
		b := sub(tx, bMsgIndex, email, folder)
		if b == nil {
			return fmt.Errorf("no index")
		}
		var err error
		if h, err = decodeHeader(b.Get(totalsKey)); err != nil {
			return err
		}
		n = b.Stats().KeyN - 1
		return nil
	}))
	return h, n
}

// keysTheSlowWay is KeysWithPrefix computed from every record.
func keysTheSlowWay(t *testing.T, s *Store, email, folder string, prefixes []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	mustDo(t, s.Messages(email, folder, func(r MessageRecord) error {
		for _, p := range prefixes {
			if strings.HasPrefix(r.SourceKey, p) {
				out[p] = append(out[p], r.SourceKey)
			}
		}
		return nil
	}))
	for _, ks := range out {
		slices.Sort(ks)
	}
	return out
}

func sameKeys(a, b map[string][]string) bool {
	for p, ks := range a {
		if !slices.Equal(ks, b[p]) {
			return false
		}
	}
	for p, ks := range b {
		if !slices.Equal(ks, a[p]) {
			return false
		}
	}
	return true
}

// New records above the watermark write no index entry, deleted ones
// leave a stale entry that the readers skip, a record back with its key
// makes its entry live again; KeysWithPrefix and the totals stay those
// of the records, and Check holds after every step.
func TestMsgIndex_TailAndStaleEntries(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	e := newIndexUser(t, s, "INBOX")
	hash := func(i int) string { return fmt.Sprintf("%032x", i) }
	var recs []MessageRecord
	for i := 1; i <= 100; i++ {
		recs = append(recs, MessageRecord{UID: uint32(i), SourceKey: hash(i % 80), ItemID: "I", Size: 10})
	}
	mustDo(t, s.PutMessages(e, "INBOX", recs))
	_, err := s.EnsureIndex(e, "INBOX")
	mustDo(t, err)
	if h, n := indexOf(t, s, e, "INBOX"); h.watermark != 101 || h.stale != 0 || n != 100 {
		t.Fatalf("built: watermark %d stale %d entries %d, want 101 0 100", h.watermark, h.stale, n)
	}
	check := func(step string, wantStale int64, wantEntries int) {
		t.Helper()
		h, n := indexOf(t, s, e, "INBOX")
		if h.stale != wantStale || n != wantEntries {
			t.Fatalf("%s: stale %d entries %d, want %d %d", step, h.stale, n, wantStale, wantEntries)
		}
		if h.t != sumRecords(t, s, e, "INBOX") {
			t.Fatalf("%s: totals %+v, records %+v", step, h.t, sumRecords(t, s, e, "INBOX"))
		}
		prefixes := []string{hash(5), hash(15), hash(90), hash(3)}
		got, err := s.KeysWithPrefix(e, "INBOX", prefixes)
		mustDo(t, err)
		if want := keysTheSlowWay(t, s, e, "INBOX", prefixes); !sameKeys(got, want) {
			t.Fatalf("%s: KeysWithPrefix %q, want %q", step, got, want)
		}
		mustDo(t, s.Check())
	}
	check("built", 0, 100)
	// The tail: duplicates of indexed hashes and new hashes, no entries.
	mustDo(t, s.PutMessages(e, "INBOX", []MessageRecord{{UID: 101, SourceKey: hash(5) + "#3"}, {UID: 102, SourceKey: hash(90)}, {UID: 150, SourceKey: hash(15) + "#2", ItemID: "J", Size: 4}}))
	check("tail written", 0, 100)
	// Deleted below the watermark: stale; above it: gone.
	mustDo(t, s.DeleteMessages(e, "INBOX", []uint32{3, 5, 85, 102}))
	check("deleted", 3, 100)
	// Back with its key: live again; another key: the old entry is stale
	// and the new one written.
	mustDo(t, s.PutMessages(e, "INBOX", []MessageRecord{{UID: 5, SourceKey: hash(5), ItemID: "I", Size: 10}, {UID: 15, SourceKey: hash(90) + "#2"}}))
	check("rewritten", 3, 101)
	// A rewrite in the tail changes nothing in the index.
	mustDo(t, s.PutMessages(e, "INBOX", []MessageRecord{{UID: 150, SourceKey: hash(3) + "#2"}}))
	check("tail rewritten", 3, 101)
	// A flag change keeps the entry as it is.
	mustDo(t, s.PutMessages(e, "INBOX", []MessageRecord{{UID: 20, SourceKey: hash(20), ItemID: "I", Size: 10, Flags: FlagSeen}}))
	check("flags", 3, 101)
}

// A random mix of writes across the watermark, with EnsureIndex after each
// step rebuilding the index once the tail and the stale entries pass
// compactAt: the reads always equal the records', Check always holds, and
// a rebuild leaves nothing stale and the watermark above every UID.
func TestMsgIndex_CompactsTailAndStale(t *testing.T) {
	defer func(v int64) { compactMin = v }(compactMin)
	compactMin = 40
	s := openTest(t, t.TempDir())
	defer s.Close()
	e := newIndexUser(t, s, "INBOX")
	rng := rand.New(rand.NewPCG(5, 6))
	key := func() string {
		k := fmt.Sprintf("%032x", rng.IntN(60))
		if o := rng.IntN(4); o > 1 {
			k += fmt.Sprintf("#%d", o)
		}
		return k
	}
	next := 1
	put := func(n int) {
		var recs []MessageRecord
		for range n {
			uid := next
			if rng.IntN(3) == 0 && next > 1 {
				uid = 1 + rng.IntN(next-1) // an older UID: rewritten or back
			} else {
				next++
			}
			recs = append(recs, MessageRecord{UID: uint32(uid), SourceKey: key(), ItemID: fmt.Sprint(rng.IntN(3)), Size: int64(rng.IntN(100))})
		}
		mustDo(t, s.PutMessages(e, "INBOX", recs))
	}
	put(150)
	_, err := s.EnsureIndex(e, "INBOX")
	mustDo(t, err)
	rebuilds := 0
	var prefixes []string
	for i := range 60 {
		prefixes = append(prefixes, fmt.Sprintf("%032x", i))
	}
	for step := range 60 {
		put(1 + rng.IntN(12))
		var del []uint32
		for range rng.IntN(8) {
			del = append(del, uint32(1+rng.IntN(next)))
		}
		mustDo(t, s.DeleteMessages(e, "INBOX", del))
		got, err := s.KeysWithPrefix(e, "INBOX", prefixes)
		mustDo(t, err)
		if want := keysTheSlowWay(t, s, e, "INBOX", prefixes); !sameKeys(got, want) {
			t.Fatalf("step %d: KeysWithPrefix %q, want %q", step, got, want)
		}
		mustDo(t, s.Check())
		before, _ := indexOf(t, s, e, "INBOX")
		tot, err := s.EnsureIndex(e, "INBOX")
		mustDo(t, err)
		if tot != sumRecords(t, s, e, "INBOX") {
			t.Fatalf("step %d: EnsureIndex totals %+v, records %+v", step, tot, sumRecords(t, s, e, "INBOX"))
		}
		after, n := indexOf(t, s, e, "INBOX")
		var maxUID uint32
		mustDo(t, s.Messages(e, "INBOX", func(r MessageRecord) error { maxUID = r.UID; return nil }))
		if after != before {
			rebuilds++
			if after.stale != 0 || after.watermark != uint64(maxUID)+1 || int64(n) != after.t.Count {
				t.Fatalf("step %d: after a rebuild stale %d watermark %d (highest UID %d), %d entries for %d records", step, after.stale, after.watermark, maxUID, n, after.t.Count)
			}
		}
		mustDo(t, s.Check())
	}
	if rebuilds < 3 {
		t.Fatalf("%d rebuilds in 60 steps, want several", rebuilds)
	}
}

// A schema-4 file: its indexes have no watermark and nothing stale. It
// opens as the current schema, reads and writes as an index of every UID, and gets
// its watermark when it is rebuilt.
func TestOpen_UpgradesSchema4Indexes(t *testing.T) {
	defer func(v int64) { compactMin = v }(compactMin)
	dir := t.TempDir()
	s := openTest(t, dir)
	e := newIndexUser(t, s, "INBOX")
	var recs []MessageRecord
	for i := 1; i <= 50; i++ {
		recs = append(recs, MessageRecord{UID: uint32(i), SourceKey: fmt.Sprintf("%032x", i%40), ItemID: "I", Size: int64(i)})
	}
	mustDo(t, s.PutMessages(e, "INBOX", recs))
	_, err := s.EnsureIndex(e, "INBOX")
	mustDo(t, err)
	// Write the header as schema 4 did: the five totals only.
	mustDo(t, s.db.Update(func(tx *bolt.Tx) error {
		b := sub(tx, bMsgIndex, e, "INBOX")
		h, err := decodeHeader(b.Get(totalsKey))
		if err != nil {
			return err
		}
		var v4 []byte
		for _, v := range []int64{h.t.Count, h.t.InScope, h.t.InScopeBytes, h.t.Items, h.t.ItemBytes} {
			v4 = binary.AppendVarint(v4, v)
		}
		if err := b.Put(totalsKey, v4); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put([]byte("schema"), u64(4))
	}))
	mustDo(t, s.Close())
	s = openTest(t, dir)
	defer s.Close()
	mustDo(t, s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get([]byte("schema")); !bytes.Equal(v, u64(SchemaVersion)) {
			t.Errorf("schema after opening a schema-4 file: %x", v)
		}
		return nil
	}))
	mustDo(t, s.Check())
	if h, n := indexOf(t, s, e, "INBOX"); h.watermark != noWatermark || h.stale != 0 || n != 50 {
		t.Fatalf("schema-4 index: watermark %d stale %d entries %d", h.watermark, h.stale, n)
	}
	// Every UID is below its watermark: a new record gets its entry, a
	// deleted one goes stale.
	mustDo(t, s.PutMessages(e, "INBOX", []MessageRecord{{UID: 51, SourceKey: fmt.Sprintf("%032x", 7) + "#2"}}))
	mustDo(t, s.DeleteMessages(e, "INBOX", []uint32{7}))
	if h, n := indexOf(t, s, e, "INBOX"); h.stale != 1 || n != 51 {
		t.Fatalf("after writes: stale %d entries %d, want 1 51", h.stale, n)
	}
	mustDo(t, s.Check())
	h7 := fmt.Sprintf("%032x", 7)
	keys, err := s.KeysWithPrefix(e, "INBOX", []string{h7})
	mustDo(t, err)
	if !slices.Equal(keys[h7], []string{h7, h7 + "#2"}) {
		t.Fatalf("keys of hash 7: %q", keys[h7])
	}
	// Rebuilt once its stale entries pass compactAt (a quarter of the
	// records): a watermark.
	compactMin = 0
	_, err = s.EnsureIndex(e, "INBOX")
	mustDo(t, err)
	if h, _ := indexOf(t, s, e, "INBOX"); h.watermark != noWatermark || h.stale != 1 {
		t.Fatalf("rebuilt too early: watermark %d stale %d", h.watermark, h.stale)
	}
	mustDo(t, s.DeleteMessages(e, "INBOX", []uint32{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22}))
	_, err = s.EnsureIndex(e, "INBOX")
	mustDo(t, err)
	if h, n := indexOf(t, s, e, "INBOX"); h.watermark != 52 || h.stale != 0 || n != 37 {
		t.Fatalf("rebuilt: watermark %d stale %d entries %d, want 52 0 37", h.watermark, h.stale, n)
	}
	mustDo(t, s.Check())
}
