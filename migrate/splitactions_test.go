package migrate

import (
	"slices"
	"testing"
)

// splitActions gives the creates, flag updates and deletes of a plan in
// plan order, as pieces of the plan when it is ordered as planFolder
// orders it, and as copies when it is not; appending to one piece never
// overwrites the next.
func TestSplitActions_OrderedAndNot(t *testing.T) {
	a := func(o op, uid uint32) action { return action{op: o, flags: flagChange{uid: uid}} }
	uids := func(acts []action) []uint32 {
		var out []uint32
		for _, x := range acts {
			out = append(out, x.flags.uid)
		}
		return out
	}
	for _, tc := range []struct {
		name                    string
		plan                    []action
		creates, flags, deletes []uint32
	}{
		{"all kinds", []action{a(opCreate, 1), a(opSkip, 2), a(opSetFlags, 3), a(opSetFlags, 4), a(opDelete, 5)}, []uint32{1, 2}, []uint32{3, 4}, []uint32{5}},
		{"no flags", []action{a(opCreate, 1), a(opDelete, 5), a(opDelete, 6)}, []uint32{1}, nil, []uint32{5, 6}},
		{"flags only", []action{a(opSetFlags, 3)}, nil, []uint32{3}, nil},
		{"deletes only", []action{a(opDelete, 5)}, nil, nil, []uint32{5}},
		{"empty", nil, nil, nil, nil},
		{"out of order", []action{a(opSetFlags, 3), a(opCreate, 1), a(opDelete, 5), a(opAdopt, 2), a(opSetFlags, 4)}, []uint32{1, 2}, []uint32{3, 4}, []uint32{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, f, d := splitActions(tc.plan)
			if !slices.Equal(uids(c), tc.creates) || !slices.Equal(uids(f), tc.flags) || !slices.Equal(uids(d), tc.deletes) {
				t.Fatalf("creates %v flags %v deletes %v, want %v %v %v", uids(c), uids(f), uids(d), tc.creates, tc.flags, tc.deletes)
			}
			c = append(c, a(opCreate, 99))
			f = append(f, a(opSetFlags, 98))
			_ = append(d, a(opDelete, 97))
			c2, f2, d2 := splitActions(tc.plan)
			if !slices.Equal(uids(c2), tc.creates) || !slices.Equal(uids(f2), tc.flags) || !slices.Equal(uids(d2), tc.deletes) {
				t.Fatalf("after appending to the pieces: creates %v flags %v deletes %v", uids(c2), uids(f2), uids(d2))
			}
		})
	}
}
