package migrate

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/state"
)

// The planner's table tests: plain data in, actions out, no I/O.

var planDay = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// meta is a source message of the fetched range: UID, header hash, the
// day it arrived (planDay + day) and its IMAP flags.
func meta(uid uint32, hash string, day int, flags ...string) MessageMeta {
	return MessageMeta{UID: uid, HeaderHash: hash, InternalDate: planDay.AddDate(0, 0, day), Size: 1000, Flags: flags}
}

// rec is a stored record mapped to target item "item-<key>".
func rec(uid uint32, key string, flags uint8) state.MessageRecord {
	return state.MessageRecord{UID: uid, SourceKey: key, ItemID: "item-" + key, Flags: flags, Size: 1000}
}

// folder builds a scanned folder from its records and the metas of the
// fetched range, running the scan's classification (observe).
func folder(name string, records []state.MessageRecord, after time.Time, metas ...MessageMeta) *folderScan {
	s := &folderScan{plan: folderPlan{Src: Folder{Name: name}, Display: name}, records: map[uint32]lite{}, hasSaved: len(records) > 0}
	ordinals := map[string]int{}
	for _, r := range records {
		s.records[r.UID] = liteOf(r)
		h, o := SplitSourceKey(r.SourceKey)
		ordinals[h] = max(ordinals[h], o)
	}
	for _, m := range metas {
		s.observe(m, ordinals, after)
	}
	return s
}

// describe runs the whole planner over the scans and lists its actions as
// text: the pass's moves, each changed folder's actions, the gone folders.
func describe(scans []*folderScan, have map[string]map[string]string, lim limits) []string {
	pp := planPass(scans, lim.maxItems)
	var out []string
	for _, m := range pp.moves {
		out = append(out, fmt.Sprintf("move %s/%d→%s/%d", m.from.plan.Src.Name, m.rec.UID, m.to.plan.Src.Name, m.meta.UID))
	}
	for _, s := range pp.folders {
		h := have[s.plan.Src.Name]
		if h == nil {
			h = map[string]string{}
		}
		for _, a := range planFolder(s, h, lim) {
			out = append(out, s.plan.Src.Name+": "+a.String())
		}
	}
	for _, s := range pp.gone {
		out = append(out, "forget "+s.plan.Src.Name)
	}
	return out
}

// String is an action as the tests spell it.
func (a action) String() string {
	switch a.op {
	case opCreate:
		return fmt.Sprintf("create %d %s", a.msg.UID, a.msg.SourceKey)
	case opAdopt:
		if a.prior {
			return fmt.Sprintf("adopt %d %s (prior)", a.msg.UID, a.itemID)
		}
		return fmt.Sprintf("adopt %d %s", a.msg.UID, a.itemID)
	case opSkip:
		switch {
		case a.outOfScope:
			return fmt.Sprintf("skip %d out-of-scope", a.msg.UID)
		case a.overCap:
			return fmt.Sprintf("skip %d over-cap %s", a.msg.UID, a.reason)
		}
		return fmt.Sprintf("skip %d %s", a.msg.UID, a.reason)
	case opSetFlags:
		return fmt.Sprintf("set-flags %d %+v", a.flags.uid, a.flags.flags)
	case opDelete:
		return fmt.Sprintf("delete %d %s", a.rec.UID, a.rec.ItemID)
	}
	return "?"
}

var defaultLimits = limits{maxItems: 500000, maxBytes: 35 << 20}

func TestPlan_Deltas(t *testing.T) {
	seen := state.FlagSeen
	cases := []struct {
		name  string
		scans func() []*folderScan
		have  map[string]map[string]string
		want  []string
	}{{
		name: "new messages are created newest first",
		scans: func() []*folderScan {
			return []*folderScan{folder("INBOX", nil, time.Time{}, meta(1, "a", 1), meta(2, "b", 3), meta(3, "c", 2))}
		},
		want: []string{"INBOX: create 2 b", "INBOX: create 3 c", "INBOX: create 1 a"},
	}, {
		name: "no change: a known message with the same flags plans nothing",
		scans: func() []*folderScan {
			return []*folderScan{folder("INBOX", []state.MessageRecord{rec(1, "a", seen)}, time.Time{}, meta(1, "a", 1, `\Seen`))}
		},
		want: nil,
	}, {
		name: "an unchanged folder is not applied at all",
		scans: func() []*folderScan {
			s := folder("INBOX", nil, time.Time{})
			s.unchanged = true
			return []*folderScan{s}
		},
		want: nil,
	}, {
		name: "flag change of a known message",
		scans: func() []*folderScan {
			return []*folderScan{folder("INBOX", []state.MessageRecord{rec(1, "a", 0)}, time.Time{}, meta(1, "a", 1, `\Seen`, `\Flagged`, "$label1"))}
		},
		want: []string{"INBOX: set-flags 1 {Seen:true Flagged:true Answered:false Categories:[Important]}"},
	}, {
		name: "flag change of a message not in the target is not replayed",
		scans: func() []*folderScan {
			r := rec(1, "a", 0)
			r.ItemID = ""
			return []*folderScan{folder("INBOX", []state.MessageRecord{r}, time.Time{}, meta(1, "a", 1, `\Seen`))}
		},
		want: nil,
	}, {
		name: "hard delete: an expunged message's item is deleted",
		scans: func() []*folderScan {
			s := folder("INBOX", []state.MessageRecord{rec(1, "a", 0), rec(2, "b", 0)}, time.Time{})
			s.vanished = []state.MessageRecord{rec(2, "b", 0)}
			return []*folderScan{s}
		},
		want: []string{"INBOX: delete 2 item-b"},
	}, {
		name: "move between folders: vanished here, new there, same header",
		scans: func() []*folderScan {
			in := folder("INBOX", []state.MessageRecord{rec(1, "a", 0), rec(2, "b", 0)}, time.Time{})
			in.vanished = []state.MessageRecord{rec(2, "b", 0)}
			ar := folder("Archive", nil, time.Time{}, meta(7, "b", 2), meta(8, "c", 1))
			return []*folderScan{in, ar}
		},
		want: []string{"move INBOX/2→Archive/7", "Archive: create 8 c"},
	}, {
		name: "move within a folder (new UID, same header) is a move, not a copy",
		scans: func() []*folderScan {
			in := folder("INBOX", []state.MessageRecord{rec(1, "a", 0)}, time.Time{}, meta(5, "a", 1))
			in.vanished = []state.MessageRecord{rec(1, "a", 0)}
			return []*folderScan{in}
		},
		want: []string{"move INBOX/1→INBOX/5"},
	}, {
		name: "a vanished message never copied is not a move source",
		scans: func() []*folderScan {
			r := rec(1, "a", 0)
			r.ItemID = ""
			in := folder("INBOX", []state.MessageRecord{r}, time.Time{})
			in.vanished = []state.MessageRecord{r}
			ar := folder("Archive", nil, time.Time{}, meta(3, "a", 1))
			return []*folderScan{in, ar}
		},
		want: []string{"INBOX: delete 1 ", "Archive: create 3 a"},
	}, {
		name: "a folder gone from the source is forgotten; its moved messages move",
		scans: func() []*folderScan {
			g := &folderScan{plan: folderPlan{Src: Folder{Name: "Old"}}, gone: true, hasSaved: true,
				vanished: []state.MessageRecord{rec(1, "a", 0), rec(2, "b", 0)}}
			nw := folder("New", nil, time.Time{}, meta(1, "a", 1))
			return []*folderScan{g, nw}
		},
		want: []string{"move Old/1→New/1", "forget Old"},
	}, {
		name: "duplicate headers get ordinals in UID order, continuing the records'",
		scans: func() []*folderScan {
			return []*folderScan{folder("INBOX", []state.MessageRecord{rec(1, "d", 0), rec(2, "d#2", 0)}, time.Time{},
				meta(3, "d", 1), meta(4, "d", 1), meta(5, "e", 1))}
		},
		want: []string{"INBOX: create 3 d#3", "INBOX: create 4 d#4", "INBOX: create 5 e"},
	}, {
		name: "rebuild: keys the target holds are adopted, by ordinal; a recorded key is never mapped twice",
		scans: func() []*folderScan {
			s := folder("INBOX", []state.MessageRecord{rec(1, "x", 0)}, time.Time{}, meta(2, "d", 2), meta(3, "d", 1))
			s.rebuild = true
			return []*folderScan{s}
		},
		have: map[string]map[string]string{"INBOX": {"d#2": "T2", "x": "TX"}},
		want: []string{"INBOX: create 2 d", "INBOX: adopt 3 T2"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := describe(c.scans(), c.have, defaultLimits)
			if !slices.Equal(got, c.want) {
				t.Errorf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

// TestPlan_UIDValidityReset: after a reset every message is new again; the
// ones the target holds are adopted, the ones recorded before the reset and
// deleted in the target since are recorded (the user's delete stands), the
// rest are copied.
func TestPlan_UIDValidityReset(t *testing.T) {
	f := Folder{Name: "INBOX", UIDValidity: 2, UIDNext: 4, Messages: 3, HighestModSeq: 9}
	sv := state.FolderState{Name: "INBOX", UIDValidity: 1, UIDNext: 40, Messages: 3, HighestModSeq: 9, Complete: true}
	mode := modeOf(f, sv, true)
	if mode != (folderMode{reset: true, rebuild: true, from: 1}) {
		t.Fatalf("mode %+v, want a reset, rebuilt from UID 1", mode)
	}
	s := folder("INBOX", nil, time.Time{}, meta(1, "a", 1), meta(2, "b", 2), meta(3, "c", 3))
	s.rebuild = true
	s.prior = map[string]string{"a": "old-a", "b": "old-b"}
	got := describe([]*folderScan{s}, map[string]map[string]string{"INBOX": {"b": "T-b"}}, defaultLimits)
	want := []string{"INBOX: create 3 c", "INBOX: adopt 2 T-b", "INBOX: adopt 1 old-a (prior)"}
	if !slices.Equal(got, want) {
		t.Errorf("plan %q, want %q", got, want)
	}
}

func TestPlan_FolderMode(t *testing.T) {
	f := Folder{Name: "INBOX", UIDValidity: 7, UIDNext: 11, Messages: 10, HighestModSeq: 50}
	done := state.FolderState{Name: "INBOX", UIDValidity: 7, UIDNext: 11, Messages: 10, HighestModSeq: 50, Complete: true}
	noCond := f
	noCond.HighestModSeq = 0
	doneNoCond := done
	doneNoCond.HighestModSeq = 0
	grown := f
	grown.UIDNext, grown.Messages, grown.HighestModSeq = 13, 12, 52
	dirty := done
	dirty.Dirty = true
	partial := done
	partial.Complete = false
	cases := []struct {
		name     string
		f        Folder
		sv       state.FolderState
		hasSaved bool
		want     folderMode
	}{
		{"first pass", f, state.FolderState{}, false, folderMode{rebuild: true, from: 1}},
		{"no change with CONDSTORE", f, done, true, folderMode{unchanged: true}},
		{"no change without CONDSTORE is still scanned", noCond, doneNoCond, true, folderMode{from: 11}},
		{"new messages", grown, done, true, folderMode{from: 11}},
		{"interrupted pass (dirty)", grown, dirty, true, folderMode{rebuild: true, from: 11}},
		{"incomplete first pass", grown, partial, true, folderMode{rebuild: true, from: 1}},
		{"not selectable", Folder{Name: "x", NoSelect: true}, state.FolderState{}, false, folderMode{unchanged: true}},
	}
	for _, c := range cases {
		if got := modeOf(c.f, c.sv, c.hasSaved); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestPlan_FlagScanModSeq(t *testing.T) {
	cases := []struct {
		name        string
		fMod, svMod uint64
		from        uint32
		known       int
		want        uint64
		ok          bool
	}{
		{"first pass: nothing known", 5, 0, 1, 0, 0, false},
		{"same mod-sequence: nothing changed", 5, 5, 10, 3, 0, false},
		{"CHANGEDSINCE the saved mod-sequence", 9, 5, 10, 3, 5, true},
		{"no CONDSTORE: every message's flags", 0, 0, 10, 3, 0, true},
		{"CONDSTORE lost: every message's flags", 0, 5, 10, 3, 0, true},
	}
	for _, c := range cases {
		got, ok := flagScanModSeq(Folder{HighestModSeq: c.fMod}, state.FolderState{HighestModSeq: c.svMod}, c.from, c.known)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %d %v, want %d %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestPlan_VanishedUIDs(t *testing.T) {
	recs := map[uint32]lite{5: {}, 1: {}, 3: {}, 9: {}}
	got := vanishedUIDs(recs, map[uint32]struct{}{3: {}, 4: {}})
	if !slices.Equal(got, []uint32{1, 5, 9}) {
		t.Errorf("vanished %v, want [1 5 9]", got)
	}
	s := folder("INBOX", []state.MessageRecord{rec(1, "a", 0), rec(2, "b", 0)}, time.Time{}, meta(3, "c", 1))
	s.plan.Src.Messages = 3
	if s.expungeSuspected() {
		t.Error("2 known + 1 new = 3 messages: nothing vanished, no UID SEARCH needed")
	}
	s.plan.Src.Messages = 2
	if !s.expungeSuspected() {
		t.Error("2 known + 1 new but 2 messages: an expunge must be looked for")
	}
}

// TestPlan_MailboxItemLimit: beyond the mailbox item limit the oldest new
// messages are skipped with ReasonMailboxItemLimit; items already in the
// target count, out-of-scope messages do not.
func TestPlan_MailboxItemLimit(t *testing.T) {
	full := &folderScan{plan: folderPlan{Src: Folder{Name: "Big"}}, unchanged: true, saved: state.FolderState{Items: 499_998}}
	after := planDay.AddDate(0, 0, 2)
	in := folder("INBOX", []state.MessageRecord{rec(1, "k", 0)}, after,
		meta(2, "old", 0), meta(3, "n3", 3), meta(4, "n4", 5), meta(5, "n5", 4), meta(6, "n6", 6))
	got := describe([]*folderScan{full, in}, nil, defaultLimits)
	// Room: 500,000 − 499,998 − 1 = 1. In scope: n3..n6; the newest (n6) is copied.
	want := []string{
		"INBOX: create 6 n6",
		"INBOX: skip 4 over-cap MailboxItemLimit",
		"INBOX: skip 5 over-cap MailboxItemLimit",
		"INBOX: skip 3 over-cap MailboxItemLimit",
		"INBOX: skip 2 out-of-scope",
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	a := planNew(newMsg{MessageMeta: meta(9, "z", 1), overCap: true}, nil, nil, defaultLimits)
	if !strings.Contains(a.detail, "500000") {
		t.Errorf("over-cap detail %q does not name the limit", a.detail)
	}
}

// TestPlan_MailboxItemLimitTies: messages received at the cut-off time are
// copied up to the room left, in UID order.
func TestPlan_MailboxItemLimitTies(t *testing.T) {
	in := folder("INBOX", nil, time.Time{}, meta(1, "a", 1), meta(2, "b", 1), meta(3, "c", 1), meta(4, "d", 0))
	got := describe([]*folderScan{in}, nil, limits{maxItems: 2, maxBytes: 1 << 20})
	want := []string{"INBOX: create 1 a", "INBOX: create 2 b", "INBOX: skip 3 over-cap MailboxItemLimit", "INBOX: skip 4 over-cap MailboxItemLimit"}
	if !slices.Equal(got, want) {
		t.Errorf("plan %q, want %q", got, want)
	}
}

// TestPlan_OutOfScope: messages before received_after are recorded, never
// copied, not counted in the estimate, never the target of a move and
// never over the cap.
func TestPlan_OutOfScope(t *testing.T) {
	after := planDay.AddDate(0, 0, 10)
	outRec := rec(1, "o", 0)
	outRec.Flags |= state.FlagOutOfScope
	outRec.ItemID = ""
	in := folder("INBOX", []state.MessageRecord{outRec, rec(2, "m", 0)}, after)
	in.vanished = []state.MessageRecord{rec(2, "m", 0)}
	ar := folder("Archive", nil, after, meta(5, "m", 1), meta(6, "x", 11), meta(7, "y", 1))
	scans := []*folderScan{in, ar}
	if !ar.newMetas[0].outOfScope || ar.newMetas[1].outOfScope || !ar.newMetas[2].outOfScope {
		t.Fatalf("scope of the new messages: %+v", ar.newMetas)
	}
	n, _ := estimate(scans)
	if n != 1 { // only x: o is out of scope, m vanished, m and y (new) are out of scope
		t.Errorf("estimate %d, want 1", n)
	}
	// Room for one: the known m still counts (its delete comes after the
	// creates), o was never copied; out-of-scope messages take no room.
	got := describe(scans, nil, limits{maxItems: 2, maxBytes: 1 << 20})
	want := []string{"INBOX: delete 2 item-m", "Archive: create 6 x", "Archive: skip 5 out-of-scope", "Archive: skip 7 out-of-scope"}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, m := range ar.newMetas {
		if slices.ContainsFunc(m.Flags, func(f string) bool { return strings.HasPrefix(f, `\X-`) }) {
			t.Errorf("UID %d carries a marker flag %v: scope is a field, not a flag", m.UID, m.Flags)
		}
	}
}

// TestPlan_OverSize: a message over the size limit is skipped, even when an
// interrupted pass left its key in the target.
func TestPlan_OverSize(t *testing.T) {
	big := meta(2, "big", 1)
	big.Size = 40 << 20
	s := folder("INBOX", nil, time.Time{}, meta(1, "a", 0), big)
	s.rebuild = true
	got := describe([]*folderScan{s}, map[string]map[string]string{"INBOX": {"big": "T"}}, defaultLimits)
	want := []string{"INBOX: skip 2 MessageTooLarge", "INBOX: create 1 a"}
	if !slices.Equal(got, want) {
		t.Errorf("plan %q, want %q", got, want)
	}
	if a := planNew(newMsg{MessageMeta: big}, nil, nil, defaultLimits); !strings.Contains(a.detail, "41943040 bytes") {
		t.Errorf("detail %q does not give the size", a.detail)
	}
}

// TestPlan_Renames: a gone folder matches a new folder with (nearly) the
// same headers; parents are planned before their children.
func TestPlan_Renames(t *testing.T) {
	gone := func(name string, path []string, uv uint32, keys ...string) *folderScan {
		g := &folderScan{plan: folderPlan{Src: Folder{Name: name}}, gone: true, hasSaved: true,
			saved: state.FolderState{Name: name, Path: path, UIDValidity: uv, TargetID: "T-" + name}}
		for i, k := range keys {
			g.vanished = append(g.vanished, rec(uint32(i+1), k, 0))
		}
		return g
	}
	fresh := func(name string, uv uint32, hashes ...string) *folderScan {
		s := folder(name, nil, time.Time{})
		s.plan.Src.UIDValidity = uv
		for i, h := range hashes {
			s.observe(meta(uint32(i+1), h, 1), map[string]int{}, time.Time{})
		}
		return s
	}
	child := gone("Old/Kid", []string{"Old", "Kid"}, 1, "k1", "k2")
	parent := gone("Old", []string{"Old"}, 1, "a", "b", "c", "d", "e")
	newParent := fresh("New", 1, "a", "b", "c", "d", "x") // 4 of 5, same UIDVALIDITY
	other := fresh("Other", 2, "a", "q", "r", "s", "t")   // 1 of 5: not a rename
	newKid := fresh("New/Kid", 3, "k1", "k2")             // all keys, new UIDVALIDITY
	got := planRenames([]*folderScan{child, newParent, other, parent, newKid})
	var desc []string
	for _, m := range got {
		var names []string
		for _, f := range m.fresh {
			names = append(names, f.plan.Src.Name)
		}
		desc = append(desc, m.gone.plan.Src.Name+"→"+strings.Join(names, ","))
	}
	want := []string{"Old→New", "Old/Kid→New/Kid"}
	if !slices.Equal(desc, want) {
		t.Errorf("renames %q, want %q", desc, want)
	}
	if planRenames([]*folderScan{fresh("Lonely", 1, "a")}) != nil {
		t.Error("a new folder with no gone folder is no rename")
	}
}
