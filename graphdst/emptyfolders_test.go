package graphdst_test

import (
	"context"
	"testing"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// TestEmptyFolders_NoRequestsUntilWritten: a folder the Mailbox created
// is answered for without a request (Keys, LookupKey, SweepPending) until
// something is written into it; then, and in the next pass's Mailbox, the
// service is asked again.
func TestEmptyFolders_NoRequestsUntilWritten(t *testing.T) {
	f := start(t, graphemu.Options{}, nil)
	ctx := context.Background()
	mb, err := f.target.Mailbox(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	sw := mb.(migrate.PendingSweeper)
	inbox, err := mb.EnsureFolder(ctx, migrate.FolderPath{WellKnown: migrate.WellKnownInbox})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sw.SweepPending(ctx, inbox); err != nil { // looks the staging folder up, once per Mailbox
		t.Fatal(err)
	}
	folder, err := mb.EnsureFolder(ctx, migrate.FolderPath{Names: []string{"Fresh"}})
	if err != nil {
		t.Fatal(err)
	}
	nm := simpleMessage("fresh", 1)
	requests := func() int64 { return f.emu.Stats().Requests }
	calls := func(mb migrate.Mailbox) (keys int, found bool) {
		t.Helper()
		if _, err := mb.(migrate.PendingSweeper).SweepPending(ctx, folder); err != nil {
			t.Fatal(err)
		}
		if err := mb.Keys(ctx, folder, func(migrate.KeyedItem) error { keys++; return nil }); err != nil {
			t.Fatal(err)
		}
		_, found, err := mb.LookupKey(ctx, folder, nm.Meta.SourceKey)
		if err != nil {
			t.Fatal(err)
		}
		return keys, found
	}

	before := requests()
	if keys, found := calls(mb); keys != 0 || found {
		t.Fatalf("new folder: %d keys, found %v", keys, found)
	}
	if n := requests() - before; n != 0 {
		t.Fatalf("new folder: %d requests for sweep, keys and lookup, want 0", n)
	}

	if _, err := mb.Create(ctx, folder, nm); err != nil {
		t.Fatal(err)
	}
	before = requests()
	if keys, found := calls(mb); keys != 1 || !found {
		t.Fatalf("after a create: %d keys, found %v; want 1, true", keys, found)
	}
	if n := requests() - before; n < 3 {
		t.Fatalf("after a create: %d requests for sweep, keys and lookup, want at least 3", n)
	}

	// The next pass's Mailbox did not create the folder.
	next, err := f.target.Mailbox(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := next.EnsureFolder(ctx, migrate.FolderPath{Names: []string{"Fresh"}}); err != nil {
		t.Fatal(err)
	}
	if keys, found := calls(next); keys != 1 || !found {
		t.Fatalf("next pass: %d keys, found %v; want 1, true", keys, found)
	}
}

// TestEmptyFolders_FirstCreateAmbiguous: every create takes effect but is
// answered 504. The first create into a new folder must be resolved by a
// real lookup (the folder is no longer known empty once the create is
// sent), or it would be posted again.
func TestEmptyFolders_FirstCreateAmbiguous(t *testing.T) {
	b := graphdst.DefaultBudget().Scaled(60)
	f := start(t, graphemu.Options{TimeScale: 60, AmbiguousRate: 1, Seed: 7}, &b)
	ctx := context.Background()
	mb, err := f.target.Mailbox(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	folder, err := mb.EnsureFolder(ctx, migrate.FolderPath{Names: []string{"Ambiguous"}})
	if err != nil {
		t.Fatal(err)
	}
	nm := simpleMessage("ambiguous", 1)
	id, err := mb.Create(ctx, folder, nm)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := f.emu.Dump(user)
	var in []string
	for _, m := range d.Messages {
		if m.FolderID == folder {
			in = append(in, m.ID)
		}
	}
	if len(in) != 1 || in[0] != id {
		t.Fatalf("folder holds %v after one ambiguous create, want [%s]", in, id)
	}
	if st := f.emu.Stats(); st.Ambiguous == 0 {
		t.Fatalf("no ambiguous create was injected: %+v", st)
	}
}

// TestEnsureFolder_OneRequestPerNewFolder: a new folder costs its create
// only; an existing one (the next pass's Mailbox, which did not create
// it) is found through the create's 409 ErrorFolderExists.
func TestEnsureFolder_OneRequestPerNewFolder(t *testing.T) {
	f := start(t, graphemu.Options{}, nil)
	ctx := context.Background()
	mb, err := f.target.Mailbox(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.EnsureFolder(ctx, migrate.FolderPath{WellKnown: migrate.WellKnownInbox}); err != nil {
		t.Fatal(err)
	}
	path := migrate.FolderPath{WellKnown: migrate.WellKnownInbox, Names: []string{"Projects", "2019", "Q1"}}
	before := f.emu.Stats().Requests
	id, err := mb.EnsureFolder(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.emu.Stats().Requests - before; n != 3 {
		t.Fatalf("three new folders cost %d requests, want 3", n)
	}
	next, err := f.target.Mailbox(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	again, err := next.EnsureFolder(ctx, path)
	if err != nil || again != id {
		t.Fatalf("existing folder: %q, %v; want %q", again, err, id)
	}
	d, _ := f.emu.Dump(user)
	n := 0
	for _, fd := range d.Folders {
		if fd.DisplayName == "Q1" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d folders named Q1, want 1", n)
	}
}
