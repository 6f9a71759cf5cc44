package sourcetest

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

func testMetasFields(t *testing.T, e *env) {
	d1 := time.Date(2009, 11, 10, 23, 0, 0, 0, time.UTC)
	d2 := time.Date(2021, 2, 3, 4, 5, 6, 0, time.FixedZone("", 3600))
	raw1 := Message("=?UTF-8?B?R3LDvMOfZQ==?= aus Köln", "hallo")
	raw2 := Message("second", strings.Repeat("line\r\n", 1000))
	u1 := e.append(t, "INBOX", raw1, []string{`\Seen`, `\Flagged`, "$Work"}, d1)
	u2 := e.append(t, "INBOX", raw2, []string{`\Answered`, `\Draft`}, d2)
	ms := e.metas(t, e.folder(t, "INBOX"), 1, 0)
	if !slices.Equal(uidsOf(ms), []uint32{u1, u2}) {
		t.Fatalf("UIDs %v, want [%d %d]", uidsOf(ms), u1, u2)
	}
	for i, tc := range []struct {
		raw   []byte
		flags []string
		date  time.Time
		subj  string
	}{
		{raw1, []string{`\Flagged`, `\Seen`, "$Work"}, d1, "Grüße aus Köln"},
		{raw2, []string{`\Answered`, `\Draft`}, d2, "second"},
	} {
		m := ms[i]
		// Flags and keywords are case-insensitive (imapmemserver lowercases
		// keywords).
		got := lowerSorted(m.Flags)
		want := lowerSorted(tc.flags)
		if !slices.Equal(got, want) {
			t.Errorf("UID %d flags %v, want %v (no \\Recent)", m.UID, m.Flags, tc.flags)
		}
		if !m.InternalDate.Equal(tc.date) {
			t.Errorf("UID %d InternalDate %v, want %v", m.UID, m.InternalDate, tc.date)
		}
		if m.Size != int64(len(tc.raw)) {
			t.Errorf("UID %d Size %d, want %d", m.UID, m.Size, len(tc.raw))
		}
		if want := migrate.HeaderHash(migrate.HeaderBlock(tc.raw)); m.HeaderHash != want {
			t.Errorf("UID %d HeaderHash %s, want %s", m.UID, m.HeaderHash, want)
		}
		if m.SourceKey != "" {
			t.Errorf("UID %d SourceKey %q: the engine assigns it", m.UID, m.SourceKey)
		}
		if m.Subject != tc.subj {
			t.Errorf("UID %d Subject %q, want %q", m.UID, m.Subject, tc.subj)
		}
		if m.Date.IsZero() {
			t.Errorf("UID %d Date not decoded", m.UID)
		}
		if e.opts.CondStore && m.ModSeq == 0 {
			t.Errorf("UID %d ModSeq 0 on a CONDSTORE server", m.UID)
		}
		if !e.opts.CondStore && m.ModSeq != 0 {
			t.Errorf("UID %d ModSeq %d without mod-sequences", m.UID, m.ModSeq)
		}
	}
}

func testMetasRange(t *testing.T, e *env) {
	var uids []uint32
	for i := 0; i < 6; i++ {
		uids = append(uids, e.append(t, "INBOX", Message(fmt.Sprintf("r%d", i), "x"), nil, time.Now()))
	}
	f := e.folder(t, "INBOX")
	for _, tc := range []struct {
		name     string
		from, to uint32
		want     []uint32
	}{
		{"All", 1, 0, uids},
		{"FromMiddle", uids[2], 0, uids[2:]},
		{"Bounded", uids[1], uids[3], uids[1:4]},
		{"BeyondLast", uids[5] + 1, 0, nil},
		{"FarBeyondLast", uids[5] + 1000, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := uidsOf(e.metas(t, f, tc.from, tc.to)); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("Metas(%d, %d) = %v, want %v", tc.from, tc.to, got, tc.want)
			}
		})
	}
}

func testMetasDuplicates(t *testing.T, e *env) {
	raw := Message("dup", "same")
	a := e.append(t, "INBOX", raw, nil, time.Now())
	b := e.append(t, "INBOX", raw, nil, time.Now())
	ms := e.metas(t, e.folder(t, "INBOX"), 1, 0)
	if len(ms) != 2 || ms[0].UID != a || ms[1].UID != b {
		t.Fatalf("metas %v, want UIDs %d %d", uidsOf(ms), a, b)
	}
	if ms[0].HeaderHash != ms[1].HeaderHash {
		t.Errorf("identical copies have different header hashes")
	}
}

var errStop = errors.New("sourcetest: stop")

func testMetasCallbackError(t *testing.T, e *env) {
	e.append(t, "INBOX", Message("cb1", "x"), nil, time.Now())
	e.append(t, "INBOX", Message("cb2", "x"), nil, time.Now())
	n := 0
	err := e.src.Metas(e.ctx, e.folder(t, "INBOX"), 1, 0, func(migrate.MessageMeta) error {
		n++
		return errStop
	})
	if !errors.Is(err, errStop) || n != 1 {
		t.Errorf("Metas with failing callback: err %v after %d calls, want errStop after 1", err, n)
	}
	// The source stays usable.
	if got := e.metas(t, e.folder(t, "INBOX"), 1, 0); len(got) != 2 {
		t.Errorf("after callback error: %d metas, want 2", len(got))
	}
}

func testUIDsAfterExpunge(t *testing.T, e *env) {
	var uids []uint32
	for i := 0; i < 5; i++ {
		uids = append(uids, e.append(t, "INBOX", Message(fmt.Sprintf("x%d", i), "x"), nil, time.Now()))
	}
	e.expunge(t, "INBOX", uids[1], uids[3])
	got, err := e.src.UIDs(e.ctx, e.folder(t, "INBOX"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{uids[0], uids[2], uids[4]}; !slices.Equal(got, want) {
		t.Errorf("UIDs = %v, want %v", got, want)
	}
	if r, ok := e.src.(migrate.UIDRanger); ok {
		// The same set as ranges.
		ranges, err := r.UIDRanges(e.ctx, e.folder(t, "INBOX"))
		if err != nil {
			t.Fatal(err)
		}
		var back []uint32
		for _, r := range ranges {
			for u := r.First; u <= r.Last; u++ {
				back = append(back, u)
			}
		}
		if !slices.Equal(back, got) || len(ranges) != 3 {
			t.Errorf("UIDRanges = %v, want the ranges of %v", ranges, got)
		}
	}
	e.create(t, "Empty")
	got, err = e.src.UIDs(e.ctx, e.folder(t, "Empty"))
	if err != nil || len(got) != 0 {
		t.Errorf("UIDs(Empty) = %v, %v; want none", got, err)
	}
}

func testFetchRoundTrip(t *testing.T, e *env) {
	raw := Message("body", strings.Repeat("0123456789abcdef\r\n", 5000))
	uid := e.append(t, "INBOX", raw, nil, time.Now())
	f := e.folder(t, "INBOX")
	b, err := e.src.Fetch(e.ctx, f, uid)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size() != int64(len(raw)) {
		t.Errorf("Size %d, want %d", b.Size(), len(raw))
	}
	for i := 0; i < 2; i++ {
		r, err := b.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != string(raw) {
			t.Fatalf("read %d: %d bytes, err %v; want the %d raw bytes", i, len(got), err, len(raw))
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Metadata after a fetch: \Seen must not have been set (BODY.PEEK).
	ms := e.metas(t, f, uid, uid)
	if len(ms) != 1 || slices.Contains(ms[0].Flags, `\Seen`) {
		t.Errorf("after Fetch: %+v, want one message without \\Seen", ms)
	}
}

func testFetchExpunged(t *testing.T, e *env) {
	uid := e.append(t, "INBOX", Message("gone", "x"), nil, time.Now())
	f := e.folder(t, "INBOX")
	e.expunge(t, "INBOX", uid)
	b, err := e.src.Fetch(e.ctx, f, uid)
	if err == nil {
		b.Close()
		t.Fatal("Fetch of an expunged UID succeeded")
	}
	if k := migrate.KindOf(err); k != migrate.KindSkipItem || !errors.Is(err, migrate.ErrMessageGone) {
		t.Errorf("Fetch of expunged UID: %v (kind %v), want skip-item wrapping ErrMessageGone", err, k)
	}
}

// testChangedSince: the contract the engine's flag sync relies on. With
// mod-sequences, ChangedSince(HighestModSeq) is empty and after a STORE it
// is exactly the changed message; without, any call reports every
// message's flags (the engine compares them with its state).
func testChangedSince(t *testing.T, e *env) {
	a := e.append(t, "INBOX", Message("c1", "x"), []string{`\Seen`}, time.Now())
	b := e.append(t, "INBOX", Message("c2", "x"), nil, time.Now())
	f := e.folder(t, "INBOX")
	all := e.changed(t, f, 0)
	if !slices.Equal(uidsOf(all), []uint32{a, b}) {
		t.Fatalf("ChangedSince(0) = %v, want every message [%d %d]", uidsOf(all), a, b)
	}
	if got := flagsOf(all, a); !slices.Equal(got, []string{`\seen`}) {
		t.Errorf("ChangedSince(0): UID %d flags %v, want [\\Seen]", a, got)
	}
	for _, m := range all {
		if (m.ModSeq != 0) != e.opts.CondStore {
			t.Errorf("ChangedSince(0): UID %d ModSeq %d (CONDSTORE %v)", m.UID, m.ModSeq, e.opts.CondStore)
		}
	}
	if e.opts.CondStore {
		if got := e.changed(t, f, f.HighestModSeq); len(got) != 0 {
			t.Fatalf("ChangedSince(current) = %v; want nothing", uidsOf(got))
		}
	}
	e.seed.SetFlags(t, "INBOX", b, []string{`\Flagged`})
	got := e.changed(t, f, f.HighestModSeq)
	want := []uint32{a, b} // without mod-sequences: every message
	if e.opts.CondStore {
		want = []uint32{b}
	}
	if !slices.Equal(uidsOf(got), want) {
		t.Fatalf("ChangedSince(%d) after STORE = %v, want %v", f.HighestModSeq, uidsOf(got), want)
	}
	if fl := flagsOf(got, b); !slices.Equal(fl, []string{`\flagged`}) {
		t.Errorf("UID %d flags %v, want [\\Flagged]", b, fl)
	}
	if cb, ok := e.src.(migrate.ChangedBelower); ok && e.opts.CondStore {
		// Bounded below a UID: the changed message only when below it.
		for _, c := range []struct {
			below uint32
			want  []uint32
		}{{b, nil}, {b + 1, []uint32{b}}, {a + 1, nil}} {
			var got []uint32
			if err := cb.ChangedSinceBelow(e.ctx, f, f.HighestModSeq, c.below, func(m migrate.MessageMeta) error {
				got = append(got, m.UID)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("ChangedSinceBelow(%d, below %d) = %v, want %v", f.HighestModSeq, c.below, got, c.want)
			}
		}
	}
	if e.opts.CondStore {
		if got[0].ModSeq <= f.HighestModSeq {
			t.Errorf("UID %d ModSeq %d, want > %d", b, got[0].ModSeq, f.HighestModSeq)
		}
		if f2 := e.folder(t, "INBOX"); f2.HighestModSeq <= f.HighestModSeq {
			t.Errorf("HighestModSeq %d did not grow from %d", f2.HighestModSeq, f.HighestModSeq)
		}
	}
	e.create(t, "Empty")
	if got := e.changed(t, e.folder(t, "Empty"), 0); len(got) != 0 {
		t.Errorf("ChangedSince(Empty) = %v", uidsOf(got))
	}
}

// testChangedSinceRemoved: a flag cleared is reported as clearly as one set.
func testChangedSinceRemoved(t *testing.T, e *env) {
	u := e.append(t, "INBOX", Message("rm", "x"), []string{`\Seen`, `\Flagged`}, time.Now())
	f := e.folder(t, "INBOX")
	e.seed.SetFlags(t, "INBOX", u, nil)
	got := e.changed(t, f, f.HighestModSeq)
	if len(got) != 1 || got[0].UID != u || len(got[0].Flags) != 0 {
		t.Errorf("after clearing every flag: %+v, want UID %d without flags", got, u)
	}
}

// testMoveByCopyExpunge: without MOVE a client moves with COPY and
// EXPUNGE. The Source reports it as the engine needs for a move: the UID
// gone from the source folder, a new UID with the same HeaderHash in the
// destination.
func testMoveByCopyExpunge(t *testing.T, e *env) {
	e.create(t, "Archiv")
	raw := Message("moved", "x")
	u := e.append(t, "INBOX", raw, []string{`\Seen`}, time.Now())
	keep := e.append(t, "INBOX", Message("stays", "x"), nil, time.Now())
	inbox0, arch0 := e.folder(t, "INBOX"), e.folder(t, "Archiv")
	e.seed.Copy(t, "INBOX", u, e.name("Archiv"))
	e.expunge(t, "INBOX", u)
	inbox, arch := e.folder(t, "INBOX"), e.folder(t, "Archiv")
	if inbox.Messages != inbox0.Messages-1 || arch.Messages != arch0.Messages+1 || arch.UIDNext <= arch0.UIDNext {
		t.Errorf("status after the move: INBOX %d→%d, Archiv %d→%d (UIDNEXT %d→%d)", inbox0.Messages, inbox.Messages,
			arch0.Messages, arch.Messages, arch0.UIDNext, arch.UIDNext)
	}
	uids, err := e.src.UIDs(e.ctx, inbox)
	if err != nil || !slices.Equal(uids, []uint32{keep}) {
		t.Errorf("UIDs(INBOX) = %v, %v; want [%d]", uids, err, keep)
	}
	ms := e.metas(t, arch, arch0.UIDNext, 0)
	if len(ms) != 1 || ms[0].HeaderHash != migrate.HeaderHash(migrate.HeaderBlock(raw)) {
		t.Fatalf("new in Archiv: %+v, want the moved message", ms)
	}
	if fl := lowerSorted(ms[0].Flags); !slices.Equal(fl, []string{`\seen`}) {
		t.Errorf("moved message flags %v, want [\\Seen]", fl)
	}
}
