package migrate

import (
	"testing"
	"time"

	"github.com/imapmig/imapmig/state"
)

// A rebuilt folder (scanned from UID 1) numbers its new messages by
// counting duplicates in UID order, known ones included: the later copy of
// a duplicate was recorded as h#2 before a stop, the earlier one never
// was; it is h (what verify expects and a first pass gives), not h#3.
// A count whose key a recorded message holds (numbered after an expunge)
// moves on above the highest.
func TestObserve_RecountFromUIDOne(t *testing.T) {
	s := &folderScan{records: map[uint32]lite{}}
	recs := []state.MessageRecord{rec(7, "h#2", 0), rec(9, "g#2", 0), rec(13, "k#3", 0)}
	taken, highest := map[string]bool{}, map[string]int{}
	for _, r := range recs {
		s.records[r.UID] = liteOf(r)
		taken[r.SourceKey] = true
		h, o := SplitSourceKey(r.SourceKey)
		highest[h] = max(highest[h], o)
	}
	s.recount = &recount{taken: taken, highest: highest}
	ordinals := map[string]int{}
	for _, m := range []MessageMeta{meta(6, "h", 0), meta(7, "h", 0), meta(8, "g", 0), meta(9, "g", 0), meta(10, "g", 0), meta(11, "h", 0), meta(12, "k", 0), meta(13, "k", 0), meta(14, "k", 0)} {
		s.observe(m, ordinals, time.Time{})
	}
	var got []string
	for _, m := range s.newMetas {
		got = append(got, m.SourceKey)
	}
	want := []string{"h", "g", "g#3", "h#3", "k", "k#4"} // UIDs 6, 8, 10, 11, 12, 14
	if len(got) != len(want) {
		t.Fatalf("keys %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("keys %q, want %q", got, want)
		}
	}
	// Without a recount (a delta): the next after the highest recorded.
	d := &folderScan{records: map[uint32]lite{}}
	d.observe(meta(12, "h", 0), map[string]int{"h": 2}, time.Time{})
	if k := d.newMetas[0].SourceKey; k != "h#3" {
		t.Fatalf("a delta's new duplicate: %q, want h#3", k)
	}
}
