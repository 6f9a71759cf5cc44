package sourcetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

func testFoldersSeeded(t *testing.T, e *env) {
	names := map[string][]string{
		"Projekte":           {"Projekte"},
		"Projekte/2019":      {"Projekte", "2019"},
		"Gelöschte Elemente": {"Gelöschte Elemente"},
		"Entwürfe/日本語 & Co":  {"Entwürfe", "日本語 & Co"},
	}
	e.create(t, "Projekte")
	e.create(t, "Entwürfe")
	for _, path := range names {
		e.create(t, path...)
	}
	e.seed.Append(t, e.name("Projekte", "2019"), Message("one", "x"), nil, time.Now())
	e.seed.Append(t, e.name("Projekte", "2019"), Message("two", "y"), nil, time.Now())
	n := 0
	for _, f := range e.folders(t) {
		if slices.Equal(f.Path, []string{"INBOX"}) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("INBOX listed %d times, want once", n)
	}
	inbox := e.folder(t, "INBOX")
	if inbox.NoSelect || inbox.UIDValidity == 0 {
		t.Errorf("INBOX = %+v, want selectable with UIDVALIDITY", inbox)
	}
	for name, path := range names {
		f := e.folder(t, path...)
		if f.Delimiter != e.delim {
			t.Errorf("%q: Delimiter %q, want %q", name, f.Delimiter, e.delim)
		}
		if f.UIDValidity == 0 || f.UIDNext == 0 {
			t.Errorf("%q: status missing: %+v", name, f)
		}
		if e.opts.CondStore && f.HighestModSeq == 0 {
			t.Errorf("%q: HighestModSeq 0 on a CONDSTORE server", name)
		}
		if !e.opts.CondStore && f.HighestModSeq != 0 {
			t.Errorf("%q: HighestModSeq %d without CONDSTORE", name, f.HighestModSeq)
		}
	}
	f := e.folder(t, "Projekte", "2019")
	if f.Messages != 2 {
		t.Errorf("Projekte/2019: Messages %d, want 2", f.Messages)
	}
	if f.UIDNext < 3 {
		t.Errorf("Projekte/2019: UIDNext %d, want ≥ 3", f.UIDNext)
	}
}

// testFoldersStatusEach: each folder's status is its own (a source that
// pipelines STATUS commands or reads LIST-STATUS answers attributes each
// answer to the folder it names), also for names that need quoting or
// modified UTF-7; a listing with a parent that exists only as the parent
// of a folder does not fail, and every selectable folder has a status.
func testFoldersStatusEach(t *testing.T, e *env) {
	names := []string{"Liste 0", "Entwürfe 1", "日本語 2", "R&D 3", "Komma, Plus+ 4", "Ärger & Ölfass 5"}
	for i, n := range names {
		e.create(t, n)
		for j := 0; j <= i; j++ {
			e.seed.Append(t, e.name(n), Message(fmt.Sprintf("%d in %s", j, n), "x"), nil, time.Now())
		}
	}
	e.create(t, "Nur Eltern", "Kind")
	fs := e.folders(t)
	for i, n := range names {
		f := e.folder(t, n)
		if f.NoSelect || f.Messages != uint32(i+1) || f.UIDNext < uint32(i+2) || f.UIDValidity == 0 {
			t.Errorf("%q: %+v, want selectable with %d messages and UIDNEXT ≥ %d", n, f, i+1, i+2)
		}
	}
	e.folder(t, "Nur Eltern", "Kind")
	for _, f := range fs {
		if !f.NoSelect && f.UIDValidity == 0 {
			t.Errorf("%q is selectable but has no status: %+v", f.Name, f)
		}
	}
}

func testFoldersSpecialUse(t *testing.T, e *env) {
	if !e.opts.SpecialUse {
		for _, f := range e.folders(t) {
			if f.SpecialUse != "" {
				t.Logf("%q has %s on a server declared without SPECIAL-USE", f.Name, f.SpecialUse)
			}
		}
		return
	}
	var sent *migrate.Folder
	fs := e.folders(t)
	for i := range fs {
		if fs[i].SpecialUse == `\Sent` {
			sent = &fs[i]
		}
	}
	if sent == nil {
		t.Fatalf("no folder with \\Sent among %+v", fs)
	}
	if sent.Path[len(sent.Path)-1] != "Sent" {
		t.Errorf("\\Sent folder path %q, want …Sent", sent.Path)
	}
}

// testFolderRenamed: a renamed folder is listed under its new path only,
// with its messages.
func testFolderRenamed(t *testing.T, e *env) {
	e.create(t, "Alt")
	raw := Message("in renamed", "x")
	e.seed.Append(t, e.name("Alt"), raw, nil, time.Now())
	e.seed.Rename(t, e.name("Alt"), e.name("Neu"))
	for _, f := range e.folders(t) {
		if slices.Equal(f.Path, []string{"Alt"}) {
			t.Errorf("old name still listed: %+v", f)
		}
	}
	ms := e.metas(t, e.folder(t, "Neu"), 1, 0)
	if len(ms) != 1 || ms[0].HeaderHash != migrate.HeaderHash(migrate.HeaderBlock(raw)) {
		t.Errorf("renamed folder holds %+v", ms)
	}
}

// testFolderGone: every call on a folder deleted since it was listed wraps
// migrate.ErrFolderGone (the engine looks at it again next pass).
func testFolderGone(t *testing.T, e *env) {
	e.create(t, "Weg")
	u := e.seed.Append(t, e.name("Weg"), Message("weg", "x"), nil, time.Now())
	f := e.folder(t, "Weg")
	e.seed.Delete(t, e.name("Weg"))
	nop := func(migrate.MessageMeta) error { return nil }
	for name, call := range map[string]func() error{
		"Metas":        func() error { return e.src.Metas(e.ctx, f, 1, 0, nop) },
		"ChangedSince": func() error { return e.src.ChangedSince(e.ctx, f, 0, nop) },
		"UIDs":         func() error { _, err := e.src.UIDs(e.ctx, f); return err },
		"Fetch": func() error {
			b, err := e.src.Fetch(e.ctx, f, u)
			if err == nil {
				b.Close()
			}
			return err
		},
	} {
		if err := call(); !errors.Is(err, migrate.ErrFolderGone) {
			t.Errorf("%s on a deleted folder: %v, want ErrFolderGone", name, err)
		}
	}
}

// waitNextSecond returns once the wall clock shows a later second than t
// (the condition for a clock-derived UIDVALIDITY to change).
func waitNextSecond(t time.Time) {
	next := t.Truncate(time.Second).Add(time.Second)
	for time.Now().Before(next) {
		time.Sleep(time.Until(next))
	}
}

func testUIDValidityReset(t *testing.T, e *env) {
	e.create(t, "Reset")
	e.seed.Append(t, e.name("Reset"), Message("before", "x"), nil, time.Now())
	old := e.folder(t, "Reset")
	e.seed.Delete(t, e.name("Reset"))
	// Servers that derive UIDVALIDITY from the clock (seconds) give the
	// recreated folder the old value within the same second: recreate it
	// once the clock shows a second after the last create, until the value
	// changes or a generous deadline passes.
	deadline := time.Now().Add(30 * time.Second)
	var now migrate.Folder
	for {
		created := time.Now()
		e.create(t, "Reset")
		now = e.folder(t, "Reset")
		if now.UIDValidity != old.UIDValidity || time.Now().After(deadline) {
			break
		}
		e.seed.Delete(t, e.name("Reset"))
		waitNextSecond(created)
	}
	if now.UIDValidity == old.UIDValidity {
		t.Fatalf("UIDVALIDITY unchanged after delete+create: %d", now.UIDValidity)
	}
	if now.Messages != 0 {
		t.Errorf("recreated folder has %d messages", now.Messages)
	}
	nop := func(migrate.MessageMeta) error { return nil }
	if err := e.src.Metas(e.ctx, old, 1, 0, nop); !errors.Is(err, migrate.ErrUIDValidityChanged) {
		t.Errorf("Metas with the old UIDVALIDITY: %v; want ErrUIDValidityChanged", err)
	}
	if err := e.src.ChangedSince(e.ctx, old, 0, nop); !errors.Is(err, migrate.ErrUIDValidityChanged) {
		t.Errorf("ChangedSince with the old UIDVALIDITY: %v; want ErrUIDValidityChanged", err)
	}
	if ms := e.metas(t, now, 1, 0); len(ms) != 0 {
		t.Errorf("Metas of recreated folder: %v", uidsOf(ms))
	}
}

func lowerSorted(fs []string) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = strings.ToLower(f)
	}
	slices.Sort(out)
	return out
}
