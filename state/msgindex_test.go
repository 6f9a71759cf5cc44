package state

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, bytes.Repeat([]byte{5}, 32), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sumRecords is the totals computed the slow way, from every record.
func sumRecords(t *testing.T, s *Store, email, folder string) MessageTotals {
	t.Helper()
	var want MessageTotals
	mustDo(t, s.Messages(email, folder, func(r MessageRecord) error {
		want.Count++
		if r.Flags&FlagOutOfScope == 0 {
			want.InScope++
			want.InScopeBytes += r.Size
		}
		if r.ItemID != "" {
			want.Items++
			want.ItemBytes += r.Size
		}
		return nil
	}))
	return want
}

func newIndexUser(t *testing.T, s *Store, folders ...string) string {
	t.Helper()
	mustDo(t, s.CreateBatch(Batch{Name: "b"}, []NewUser{{EmailAddress: "Ix@x.org", UserName: "ix", Password: "p"}}))
	for _, f := range folders {
		mustDo(t, s.PutFolder("ix@x.org", FolderState{Name: f}))
	}
	return "ix@x.org"
}

// A random mix of inserts, replacements (key, item, scope and size
// changing) and deletes keeps the totals equal to the records' sum and the
// index equal to the records (Check), after every step.
func TestMsgIndex_FollowsEveryWrite(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	e := newIndexUser(t, s, "INBOX", "Moved")
	// Not kept while a folder is first copied; built in one go after.
	mustDo(t, s.PutMessages(e, "INBOX", []MessageRecord{{UID: 500, SourceKey: "first", ItemID: "i", Size: 7}}))
	if _, built, err := s.FolderTotals(e, "INBOX"); built || err != nil {
		t.Fatalf("an index before EnsureIndex: %v %v", built, err)
	}
	if got, err := s.EnsureIndex(e, "INBOX"); err != nil || got != (MessageTotals{Count: 1, InScope: 1, InScopeBytes: 7, Items: 1, ItemBytes: 7}) {
		t.Fatalf("EnsureIndex: %+v %v", got, err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := 0; step < 40; step++ {
		var recs []MessageRecord
		for i := 0; i < 30; i++ {
			r := MessageRecord{UID: uint32(rng.IntN(200) + 1), SourceKey: fmt.Sprintf("h%02d", rng.IntN(40)), Size: int64(rng.IntN(5000))}
			if o := rng.IntN(3); o > 0 {
				r.SourceKey += fmt.Sprintf("#%d", o+1)
			}
			if rng.IntN(4) > 0 {
				r.ItemID = fmt.Sprintf("item%d", rng.IntN(1000))
			}
			if rng.IntN(5) == 0 {
				r.Flags |= FlagOutOfScope
			}
			recs = append(recs, r)
		}
		mustDo(t, s.PutMessages(e, "INBOX", recs))
		var del []uint32
		for i := 0; i < 10; i++ {
			del = append(del, uint32(rng.IntN(220)+1))
		}
		mustDo(t, s.DeleteMessages(e, "INBOX", del))
		got, built, err := s.FolderTotals(e, "INBOX")
		mustDo(t, err)
		if !built {
			t.Fatal("the index is gone")
		}
		if want := sumRecords(t, s, e, "INBOX"); got != want {
			t.Fatalf("step %d: totals %+v, records sum to %+v", step, got, want)
		}
		if err := s.Check(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	want := sumRecords(t, s, e, "INBOX")
	mustDo(t, s.RenameFolder(e, "INBOX", FolderState{Name: "Renamed"}))
	if got, built, _ := s.FolderTotals(e, "Renamed"); got != want || !built {
		t.Fatalf("totals after the rename: %+v, want %+v", got, want)
	}
	if got, _, _ := s.FolderTotals(e, "INBOX"); got != (MessageTotals{}) {
		t.Fatalf("the old name keeps totals %+v", got)
	}
	mustDo(t, s.Check())
	mustDo(t, s.PutMessages(e, "Moved", []MessageRecord{{UID: 1, SourceKey: "k", ItemID: "i", Size: 3}}))
	_, err := s.EnsureIndex(e, "Moved")
	mustDo(t, err)
	mustDo(t, s.ResetMessages(e, "Moved"))
	if got, _, _ := s.FolderTotals(e, "Moved"); got != (MessageTotals{}) {
		t.Fatalf("totals after a reset: %+v", got)
	}
	mustDo(t, s.DeleteFolder(e, "Renamed"))
	mustDo(t, s.Check())
	mustDo(t, s.PutMessages(e, "Moved", []MessageRecord{{UID: 1, SourceKey: "k", ItemID: "i", Size: 3}}))
	_, err = s.EnsureIndex(e, "Moved")
	mustDo(t, err)
	mustDo(t, s.RemoveUser(e))
	mustDo(t, s.db.View(func(tx *bolt.Tx) error {
		if sub(tx, bMsgIndex, e) != nil {
			t.Error("the removed user's index is still there")
		}
		return nil
	}))
	mustDo(t, s.Check())
}

// Check finds an index that disagrees with the records: wrong totals, a
// record not indexed, an entry without its record.
func TestMsgIndex_CheckFindsDrift(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		break_     func(b *bolt.Bucket) error
	}{
		{"totals", "totals", func(b *bolt.Bucket) error {
			return b.Put(totalsKey, indexHeader{t: MessageTotals{Count: 3, InScope: 3, Items: 3}, watermark: 3}.encode())
		}},
		{"record not indexed", "is not indexed", func(b *bolt.Bucket) error { return b.Delete(indexKey([]byte("b"), 2)) }},
		{"stray entry", "matches no record", func(b *bolt.Bucket) error { return b.Put(indexKey([]byte("zz"), 1), nil) }},
		{"entry above the watermark", "at or above the watermark", func(b *bolt.Bucket) error { return b.Put(indexKey([]byte("zz"), 9), nil) }},
		{"stale count", "the header counts 1 stale", func(b *bolt.Bucket) error {
			return b.Put(totalsKey, indexHeader{t: MessageTotals{Count: 2, InScope: 2, Items: 1}, watermark: 3, stale: 1}.encode())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, t.TempDir())
			defer s.Close()
			e := newIndexUser(t, s, "INBOX")
			mustDo(t, s.PutMessages(e, "INBOX", []MessageRecord{{UID: 1, SourceKey: "a", ItemID: "I1"}, {UID: 2, SourceKey: "b"}}))
			_, err := s.EnsureIndex(e, "INBOX")
			mustDo(t, err)
			mustDo(t, s.Check())
			mustDo(t, s.db.Update(func(tx *bolt.Tx) error { return tc.break_(sub(tx, bMsgIndex, e, "INBOX")) }))
			err = s.Check()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check after breaking the index: %v, want %q", err, tc.want)
			}
		})
	}
}

// A schema-3 file (records, no index) opens as schema 4 and gets a
// folder's index when it is first asked for (EnsureIndex, after a pass).
func TestOpen_UpgradesSchema3WithMessageIndexes(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	e := newIndexUser(t, s, "INBOX", "Sent")
	var recs []MessageRecord
	for i := 1; i <= 300; i++ {
		r := MessageRecord{UID: uint32(i), SourceKey: fmt.Sprintf("%032x", i%250), Size: int64(i)}
		if i > 250 {
			r.SourceKey += "#2"
		}
		if i%3 != 0 {
			r.ItemID = fmt.Sprintf("I%d", i)
		}
		if i%7 == 0 {
			r.Flags = FlagOutOfScope
		}
		recs = append(recs, r)
	}
	mustDo(t, s.PutMessages(e, "INBOX", recs))
	mustDo(t, s.PutMessages(e, "Sent", recs[:5]))
	want := sumRecords(t, s, e, "INBOX")
	mustDo(t, s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put([]byte("schema"), u64(3)) }))
	mustDo(t, s.Close())
	s = openTest(t, dir)
	defer s.Close()
	mustDo(t, s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get([]byte("schema")); !bytes.Equal(v, u64(SchemaVersion)) || SchemaVersion != 6 {
			t.Errorf("schema after the upgrade: %x", v)
		}
		return nil
	}))
	mustDo(t, s.Check())
	if _, built, _ := s.FolderTotals(e, "INBOX"); built {
		t.Fatal("a schema-3 folder has an index before it was built")
	}
	// A write before the index is built does not need it.
	mustDo(t, s.PutMessages(e, "INBOX", []MessageRecord{{UID: 301, SourceKey: fmt.Sprintf("%032x", 7), Size: 1}}))
	want.Count, want.InScope, want.InScopeBytes = want.Count+1, want.InScope+1, want.InScopeBytes+1
	got, err := s.EnsureIndex(e, "INBOX")
	mustDo(t, err)
	if got != want || got.Count != 301 {
		t.Fatalf("totals built after the upgrade: %+v, want %+v", got, want)
	}
	if again, _ := s.EnsureIndex(e, "INBOX"); again != got {
		t.Fatalf("EnsureIndex twice: %+v then %+v", got, again)
	}
	mustDo(t, s.Check())
	h7 := fmt.Sprintf("%032x", 7)
	keys, err := s.KeysWithPrefix(e, "INBOX", []string{h7})
	mustDo(t, err)
	if got := keys[h7]; !slices.Equal(got, []string{h7, h7, h7 + "#2"}) {
		t.Fatalf("keys of hash 7 after the upgrade: %q", got)
	}
	// From now on every write keeps it.
	mustDo(t, s.DeleteMessages(e, "INBOX", []uint32{301, 7}))
	mustDo(t, s.Check())
	if got, _, _ := s.FolderTotals(e, "INBOX"); got != sumRecords(t, s, e, "INBOX") {
		t.Fatalf("totals after a delete: %+v", got)
	}
}

// The delta reads: records by UID list and from a UID on, the UIDs no
// longer in a current set, the keys of a header hash.
func TestMsgIndex_DeltaReads(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	e := newIndexUser(t, s, "INBOX")
	var recs []MessageRecord
	for uid := uint32(10); uid <= 100; uid += 10 {
		recs = append(recs, MessageRecord{UID: uid, SourceKey: fmt.Sprintf("k%d", uid), ItemID: "x"})
	}
	recs = append(recs, MessageRecord{UID: 101, SourceKey: "h10#2"}, MessageRecord{UID: 102, SourceKey: "h10#10"}, MessageRecord{UID: 103, SourceKey: "h100"}, MessageRecord{UID: 104, SourceKey: "h10"})
	mustDo(t, s.PutMessages(e, "INBOX", recs))
	_, err := s.EnsureIndex(e, "INBOX")
	mustDo(t, err)

	got, err := s.SummariesOf(e, "INBOX", []uint32{30, 31, 100, 5})
	mustDo(t, err)
	if len(got) != 2 || got[0].UID != 30 || got[1].UID != 100 || got[0].SourceKey != "k30" || !got[0].InTarget {
		t.Fatalf("SummariesOf: %+v", got)
	}
	full, err := s.MessagesOf(e, "INBOX", []uint32{100, 31, 30})
	mustDo(t, err)
	if len(full) != 2 || full[0].UID != 100 || full[1].UID != 30 || full[1].ItemID != "x" || full[1].SourceKey != "k30" {
		t.Fatalf("MessagesOf: %+v", full)
	}
	var from []uint32
	mustDo(t, s.SummariesFrom(e, "INBOX", 95, func(m MessageSummary) error { from = append(from, m.UID); return nil }))
	if !slices.Equal(from, []uint32{100, 101, 102, 103, 104}) {
		t.Fatalf("SummariesFrom 95: %v", from)
	}
	missing, err := s.MissingUIDs(e, "INBOX", []uint32{1, 10, 20, 21, 50, 60, 70, 80, 90, 101, 103, 104, 500})
	mustDo(t, err)
	if !slices.Equal(missing, []uint32{30, 40, 100, 102}) {
		t.Fatalf("MissingUIDs: %v", missing)
	}
	missing, err = s.MissingUIDs(e, "INBOX", nil)
	mustDo(t, err)
	if len(missing) != len(recs) {
		t.Fatalf("MissingUIDs of an empty folder: %v", missing)
	}
	keys, err := s.KeysWithPrefix(e, "INBOX", []string{"h10", "h7", "k30"})
	mustDo(t, err)
	// "h10" as a prefix also finds h100: the caller splits the keys.
	if !slices.Equal(keys["h10"], []string{"h10", "h10#10", "h10#2", "h100"}) || len(keys["h7"]) != 0 || !slices.Equal(keys["k30"], []string{"k30"}) {
		t.Fatalf("KeysWithPrefix: %q", keys)
	}
	mustDo(t, s.Check())
}

// MissingUIDs (seeks into the gaps of the current set) equals the plain
// set difference, for random folders and current sets.
func TestMissingUIDs_SameAsSetDifference(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	e := newIndexUser(t, s)
	rng := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 30; round++ {
		folder := fmt.Sprintf("F%d", round)
		mustDo(t, s.PutFolder(e, FolderState{Name: folder}))
		recorded := map[uint32]bool{}
		var recs []MessageRecord
		for i := 0; i < 1+rng.IntN(300); i++ {
			uid := uint32(1 + rng.IntN(400))
			if round%5 == 0 {
				uid = 1<<32 - 1 - uint32(rng.IntN(5)) // the top of the UID space
			}
			recorded[uid] = true
			recs = append(recs, MessageRecord{UID: uid, SourceKey: fmt.Sprint(uid)})
		}
		mustDo(t, s.PutMessages(e, folder, recs))
		var current []uint32
		for uid := range recorded {
			if rng.IntN(10) > 0 {
				current = append(current, uid)
			}
		}
		for i := 0; i < rng.IntN(50); i++ {
			current = append(current, uint32(1+rng.IntN(450))) // new, unrecorded UIDs
		}
		slices.Sort(current)
		var want []uint32
		for uid := range recorded {
			if !slices.Contains(current, uid) {
				want = append(want, uid)
			}
		}
		slices.Sort(want)
		got, err := s.MissingUIDs(e, folder, current)
		mustDo(t, err)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: MissingUIDs %v, want %v", round, got, want)
		}
		// The same set as ranges cut at random places (an ESEARCH answer
		// need not be maximal runs) gives the same.
		var ranges []UIDRange
		for _, r := range UIDRanges(current) {
			for r.First < r.Last && rng.IntN(3) == 0 {
				cut := r.First + uint32(rng.IntN(int(r.Last-r.First)))
				ranges = append(ranges, UIDRange{r.First, cut})
				r.First = cut + 1
			}
			ranges = append(ranges, r)
		}
		var back []uint32
		for _, r := range ranges {
			for u := uint64(r.First); u <= uint64(r.Last); u++ {
				back = append(back, uint32(u))
			}
		}
		if !slices.Equal(back, slices.Compact(slices.Clone(current))) {
			t.Fatalf("round %d: UIDRanges %v of %v", round, ranges, current)
		}
		got, err = s.MissingUIDsIn(e, folder, ranges)
		mustDo(t, err)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: MissingUIDsIn %v, want %v", round, got, want)
		}
	}
}
