package state_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/imapmig/imapmig/state"
)

// BenchmarkStateDelta_OnePercent100k is the state's part of a 1% delta of
// a 100,000-message folder whose index is built, in the order a pass does
// it (migrate/scan.go, apply.go, commit.go): the totals, the records of
// 500 flag changes, the keys of 250 new header hashes, the expunged UIDs
// and their records; then 250 new records committed 64 at a time, the 500
// flag changes read and written 100 at a time, 250 records deleted 100 at
// a time, and the folder finished. The changed and expunged UIDs are
// random (scattered over the folder's pages). Each iteration is one delta
// on the folder the previous ones left.
func BenchmarkStateDelta_OnePercent100k(b *testing.B) {
	const n, email, folder = 100000, "u@x.org", "INBOX"
	// With -memprofile, the profile holds only the deltas' allocations:
	// the set-up runs with profiling off.
	rate := runtime.MemProfileRate
	setUp := func(on bool) {
		if on {
			runtime.MemProfileRate = 0
		} else {
			runtime.MemProfileRate = rate
		}
	}
	defer setUp(false)
	setUp(true)
	s := storeWithInbox(b)
	recs := hashedRecords(n)
	if err := s.PutMessages(email, folder, recs); err != nil {
		b.Fatal(err)
	}
	if _, err := s.EnsureIndex(email, folder); err != nil {
		b.Fatal(err)
	}
	live := make([]uint32, n) // the source's UIDs, ascending
	for i := range live {
		live[i] = uint32(i + 1)
	}
	next := uint32(n + 1)
	rng := rand.New(rand.NewPCG(7, 8))
	b.ReportAllocs()
	b.ResetTimer()
	for round := 0; round < b.N; round++ {
		b.StopTimer()
		setUp(true)
		perm := rng.Perm(len(live))
		flagged := make([]uint32, 500)
		for i := range flagged {
			flagged[i] = live[perm[i]]
		}
		gone := make([]uint32, 250)
		for i := range gone {
			gone[i] = live[perm[500+i]]
		}
		current := slices.DeleteFunc(slices.Clone(live), func(u uint32) bool { return slices.Contains(gone, u) })
		var fresh []state.MessageRecord
		var hashes []string
		for j := 0; j < 250; j++ {
			sum := sha256.Sum256(fmt.Appendf(nil, "new %d %d", round, j))
			h := hex.EncodeToString(sum[:16])
			hashes = append(hashes, h)
			fresh = append(fresh, state.MessageRecord{UID: next, SourceKey: h, ItemID: fmt.Sprintf("AAMkAD%064d", next), Size: 300})
			current = append(current, next)
			next++
		}
		setUp(false)
		b.StartTimer()

		// Scan.
		if _, built, err := s.FolderTotals(email, folder); err != nil || !built {
			b.Fatal(built, err)
		}
		if sums, err := s.SummariesOf(email, folder, flagged); err != nil || len(sums) != len(flagged) {
			b.Fatal(len(sums), err)
		}
		if _, err := s.KeysWithPrefix(email, folder, hashes); err != nil {
			b.Fatal(err)
		}
		missing, err := s.MissingUIDs(email, folder, current)
		if err != nil || len(missing) != len(gone) {
			b.Fatal(len(missing), err)
		}
		if got, err := s.MessagesOf(email, folder, missing); err != nil || len(got) != len(gone) {
			b.Fatal(len(got), err)
		}
		// Apply and commit: creates, flags, deletes.
		for i := 0; i < len(fresh); i += 64 {
			if err := s.PutMessages(email, folder, fresh[i:min(i+64, len(fresh))]); err != nil {
				b.Fatal(err)
			}
		}
		for i := 0; i < len(flagged); i += 100 {
			rs, err := s.MessagesOf(email, folder, flagged[i:i+100])
			if err != nil || len(rs) != 100 {
				b.Fatal(len(rs), err)
			}
			for j := range rs {
				rs[j].Flags ^= state.FlagFlagged
			}
			if err := s.PutMessages(email, folder, rs); err != nil {
				b.Fatal(err)
			}
		}
		for i := 0; i < len(gone); i += 100 {
			if err := s.DeleteMessages(email, folder, gone[i:min(i+100, len(gone))]); err != nil {
				b.Fatal(err)
			}
		}
		t, err := s.EnsureIndex(email, folder)
		if err != nil || t.Count != int64(len(current)) {
			b.Fatalf("%+v %v (want %d records)", t, err, len(current))
		}
		if err := s.PutFolder(email, state.FolderState{Name: folder, UIDNext: next, Items: t.Items, ItemBytes: t.ItemBytes}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		live = current
		b.StartTimer()
	}
	b.StopTimer()
	setUp(true)
	if err := s.Check(); err != nil {
		b.Fatal(err)
	}
}
