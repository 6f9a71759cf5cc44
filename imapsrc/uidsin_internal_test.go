package imapsrc

import (
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmig/imapmig/migrate"
)

// uidsIn expands a search result's ranges, clipped to [from, to], sorted
// and without repeats.
func TestUIDsIn_ExpandsAndClipsRanges(t *testing.T) {
	set := imap.UIDSet{{Start: 1, Stop: 3}, {Start: 7, Stop: 7}, {Start: 12, Stop: 10}, {Start: 20, Stop: 0}, {Start: 2, Stop: 2}}
	for _, c := range []struct {
		from, to uint32
		want     []uint32
	}{
		{1, 0, []uint32{1, 2, 3, 7, 10, 11, 12, 20}},
		{3, 11, []uint32{3, 7, 10, 11}},
		{21, 0, []uint32{}},
		{0, 2, []uint32{1, 2}},
	} {
		if got := uidsIn(set, c.from, c.to); !slices.Equal(got, c.want) {
			t.Errorf("uidsIn [%d, %d]: %v, want %v", c.from, c.to, got, c.want)
		}
	}
	if got := uidsIn(nil, 1, 0); len(got) != 0 {
		t.Errorf("no result: %v", got)
	}
}

// rangesIn gives a search result as sorted ranges that neither overlap
// nor touch, whatever order and overlaps the server sent.
func TestRangesIn_SortsAndMerges(t *testing.T) {
	set := imap.UIDSet{{Start: 20, Stop: 0}, {Start: 1, Stop: 3}, {Start: 7, Stop: 7}, {Start: 12, Stop: 10}, {Start: 2, Stop: 2}, {Start: 4, Stop: 5}, {Start: 9, Stop: 9}}
	want := []migrate.UIDRange{{First: 1, Last: 5}, {First: 7, Last: 7}, {First: 9, Last: 12}, {First: 20, Last: 20}}
	if got := rangesIn(set); !slices.Equal(got, want) {
		t.Errorf("rangesIn: %v, want %v", got, want)
	}
	if got := rangesIn(nil); len(got) != 0 {
		t.Errorf("no result: %v", got)
	}
	top := imap.UIDSet{{Start: 1<<32 - 2, Stop: 1<<32 - 1}, {Start: 5, Stop: 6}}
	if got := rangesIn(top); !slices.Equal(got, []migrate.UIDRange{{First: 5, Last: 6}, {First: 1<<32 - 2, Last: 1<<32 - 1}}) {
		t.Errorf("the top of the UID space: %v", got)
	}
}
