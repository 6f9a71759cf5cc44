package imapsrc

import (
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
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
