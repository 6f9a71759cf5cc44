package graphdst_test

import (
	"context"
	"testing"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// TestSetFlagsBatch_ThrottledBatchesAndMissingItems sends 45 flag updates
// (three $batch requests) to a mailbox that throttles after a few dozen
// requests, one of them for an item that no longer exists.
func TestSetFlagsBatch_ThrottledBatchesAndMissingItems(t *testing.T) {
	f := start(t, graphemu.Options{TimeScale: 60, Limits: graphemu.Limits{Requests: 60}}, nil)
	ctx := context.Background()
	mb, folder := f.inbox(t)
	var ups []migrate.FlagUpdate
	for i := range 45 {
		id, err := mb.Create(ctx, folder, simpleMessage("batch", i))
		if err != nil {
			t.Fatal(err)
		}
		ups = append(ups, migrate.FlagUpdate{ItemID: id, Flags: migrate.Flags{Seen: i%2 == 0, Flagged: i%3 == 0, Categories: []string{"Work"}}})
	}
	gone := ups[7].ItemID
	if err := mb.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	before := f.emu.Stats()
	errs := mb.(migrate.FlagBatcher).SetFlagsBatch(ctx, ups)
	after := f.emu.Stats()
	for i, err := range errs {
		switch {
		case i == 7 && migrate.KindOf(err) != migrate.KindSkipItem:
			t.Errorf("update of a deleted item: %v, want a skip-item error", err)
		case i != 7 && err != nil:
			t.Errorf("update %d: %v", i, err)
		}
	}
	for i, u := range ups {
		if i == 7 {
			continue
		}
		it, ok := f.inspect(t, user, u.ItemID)
		if !ok || it.IsRead != u.Flags.Seen || it.Flagged != u.Flags.Flagged || len(it.Categories) != 1 {
			t.Errorf("item %d after the batch: %+v", i, it)
		}
	}
	if after.Throttled == before.Throttled {
		t.Errorf("no 429 inside the batches; the test proves nothing about them (%+v)", after)
	}
	t.Logf("45 updates: %d requests (batches and their parts), %d answered 429", after.Requests-before.Requests, after.Throttled-before.Throttled)
}

func TestDeleteBatch_AlreadyGoneCountsAsDeleted(t *testing.T) {
	f := start(t, graphemu.Options{}, nil)
	ctx := context.Background()
	mb, folder := f.inbox(t)
	var ids []string
	for i := range 25 {
		id, err := mb.Create(ctx, folder, simpleMessage("del", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := mb.Delete(ctx, ids[3]); err != nil {
		t.Fatal(err)
	}
	before := f.emu.Stats().Requests
	for i, err := range mb.(migrate.DeleteBatcher).DeleteBatch(ctx, ids) {
		if err != nil {
			t.Errorf("delete %d: %v", i, err)
		}
	}
	// A source expunge is mirrored with permanentDelete: nothing in
	// Deleted Items (a soft DELETE would put all 25 there).
	if d, _ := f.emu.Dump(user); len(d.Messages) != 0 || d.Purged != 25 {
		t.Errorf("%d items left, %d purged; want 0 and 25", len(d.Messages), d.Purged)
	}
	if n := f.emu.Stats().Requests - before; n > 27 {
		t.Errorf("25 deletes took %d requests; want 2 batches and their 25 parts", n)
	}
}
