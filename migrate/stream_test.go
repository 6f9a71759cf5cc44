package migrate_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
)

// A large first copy is streamed (stream.go): read chunk by chunk and
// copied oldest first as the metadata arrives. These tests make every
// first copy large (StreamFirstCopyAt 1) or none (-1) and compare.

func streamAlways(o *migrate.Options) { o.StreamFirstCopyAt = 1 }
func streamNever(o *migrate.Options)  { o.StreamFirstCopyAt = -1 }

// seedLarge is a mailbox whose INBOX spans several stream chunks (200,
// 400, 800, …) with exact duplicates spread over them (#2, #3 across chunk
// boundaries), a message over the size limit, flags, and small folders.
func seedLarge(s *fakeServer) {
	s.addFolder("Sent", `\Sent`)
	s.addFolder("Projects", "")
	s.addFolder("Empty", "")
	for i := 0; i < 700; i++ {
		subject := fmt.Sprintf("inbox %d", i)
		if i%90 == 5 {
			subject = "same every 90" // duplicates at 5, 95, 185, 275, …
		}
		var flags []string
		if i%3 == 0 {
			flags = []string{`\Seen`}
		}
		size := 300
		if i == 401 {
			size = 5000 // over MaxMessageBytes below
		}
		s.append("INBOX", rawMsg(subject, size), day0.Add(time.Duration(i)*time.Hour), flags...)
	}
	for i := 0; i < 5; i++ {
		s.append("Sent", rawMsg(fmt.Sprintf("sent %d", i), 300), day0.AddDate(0, 0, i), `\Seen`)
		s.append("Projects", rawMsg("dup project", 300), day0.AddDate(0, 0, i))
	}
}

// copyLarge runs one first copy of seedLarge into a fresh target.
func copyLarge(t *testing.T, tweak func(*migrate.Options)) (*memtarget.Target, *harness, state.User) {
	t.Helper()
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	seedLarge(src)
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, func(o *migrate.Options) {
		o.MaxMessageBytes = 4000
		tweak(o)
	})
	h.batch("b", "ann@contoso.com")
	u := h.waitUser("ann@contoso.com", model.UserSynced)
	return tgt, h, u
}

// targetView is what a target holds, by folder name: source key → flags.
func targetView(t *testing.T, tgt *memtarget.Target) map[string]map[string]migrate.Flags {
	t.Helper()
	mb := tgt.Box("ann@contoso.com")
	names := map[string]string{}
	for _, n := range []string{migrate.WellKnownInbox, migrate.WellKnownSentItems, "Projects", "Empty"} {
		names[mb.FolderByName(n)] = n
	}
	out := map[string]map[string]migrate.Flags{}
	for _, it := range mb.Items() {
		n := names[it.Folder]
		if out[n] == nil {
			out[n] = map[string]migrate.Flags{}
		}
		if _, dup := out[n][it.Key]; dup {
			t.Errorf("source key %s is twice in %s", it.Key, n)
		}
		out[n][it.Key] = it.Flags
	}
	return out
}

// recordsOf is the state's records of a folder: UID → source key and
// whether the message is in the target.
func recordsOf(t *testing.T, st *state.Store, addr, folder string) map[uint32]string {
	t.Helper()
	out := map[uint32]string{}
	if err := st.Messages(addr, folder, func(r state.MessageRecord) error {
		out[r.UID] = r.SourceKey + " in-target=" + strconv.FormatBool(r.ItemID != "")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// createOrder is the received times of a folder's items in the order they
// were created (memtarget numbers its items).
func createOrder(tgt *memtarget.Target, folder string) []time.Time {
	mb := tgt.Box("ann@contoso.com")
	items := mb.InFolder(mb.FolderByName(folder))
	id := func(it memtarget.Item) int { n, _ := strconv.Atoi(it.ID[1:]); return n }
	slices.SortFunc(items, func(a, b memtarget.Item) int { return cmp.Compare(id(a), id(b)) })
	out := make([]time.Time, len(items))
	for i, it := range items {
		out[i] = it.Received
	}
	return out
}

// TestEngine_StreamedFirstCopyEqualsFullScan: a streamed first copy gives
// the target the same items (keys, duplicates' ordinals, flags), the state
// the same records, the same skipped items and figures as the full scan;
// only the order differs: oldest first instead of newest first.
func TestEngine_StreamedFirstCopyEqualsFullScan(t *testing.T) {
	tgtS, hS, uS := copyLarge(t, streamAlways)
	tgtF, hF, uF := copyLarge(t, streamNever)

	vs, vf := targetView(t, tgtS), targetView(t, tgtF)
	if len(vs[migrate.WellKnownInbox]) != 699 || len(vs["Projects"]) != 5 || len(vs[migrate.WellKnownSentItems]) != 5 {
		t.Fatalf("streamed: %d in Inbox (want 699), %d in Projects, %d in Sent Items", len(vs[migrate.WellKnownInbox]), len(vs["Projects"]), len(vs[migrate.WellKnownSentItems]))
	}
	for folder, items := range vf {
		for key, fl := range items {
			got, ok := vs[folder][key]
			if !ok {
				t.Errorf("%s: key %s copied by the full scan, not by the stream", folder, key)
			} else if !sameTestFlags(got, fl) {
				t.Errorf("%s: key %s has flags %+v streamed, %+v scanned", folder, key, got, fl)
			}
		}
	}
	for folder, items := range vs {
		for key := range items {
			if _, ok := vf[folder][key]; !ok {
				t.Errorf("%s: key %s copied by the stream, not by the full scan", folder, key)
			}
		}
	}
	for _, f := range []string{"INBOX", "Sent", "Projects", "Empty"} {
		rs, rf := recordsOf(t, hS.st, "ann@contoso.com", f), recordsOf(t, hF.st, "ann@contoso.com", f)
		if len(rs) != len(rf) {
			t.Errorf("%s: %d records streamed, %d scanned", f, len(rs), len(rf))
		}
		for uid, k := range rf {
			if rs[uid] != k {
				t.Errorf("%s UID %d: record %q streamed, %q scanned", f, uid, rs[uid], k)
			}
		}
	}
	skS, _ := hS.st.Skipped("ann@contoso.com")
	skF, _ := hF.st.Skipped("ann@contoso.com")
	if len(skS) != 1 || len(skF) != 1 || skS[0].UID != skF[0].UID || skS[0].Reason != migrate.ReasonMessageTooLarge {
		t.Errorf("skipped: streamed %+v, scanned %+v", skS, skF)
	}
	if uS.SyncedItemCount != uF.SyncedItemCount || uS.EstimatedTotalCount != uF.EstimatedTotalCount ||
		uS.EstimatedTotalSize != uF.EstimatedTotalSize || uS.DataConsistencyScore != uF.DataConsistencyScore {
		t.Errorf("figures: streamed synced %d est %d/%d score %s; scanned synced %d est %d/%d score %s",
			uS.SyncedItemCount, uS.EstimatedTotalCount, uS.EstimatedTotalSize, uS.DataConsistencyScore,
			uF.SyncedItemCount, uF.EstimatedTotalCount, uF.EstimatedTotalSize, uF.DataConsistencyScore)
	}
	// The order tells the two paths apart: oldest first when streamed.
	// Creates run concurrently, so only the first ones are compared: they
	// are among the 40 oldest (INBOX's message i is received at hour i).
	for _, it := range createOrder(tgtS, migrate.WellKnownInbox)[:20] {
		if !it.Before(day0.Add(40 * time.Hour)) {
			t.Errorf("streamed: %v is among the first 20 created, not oldest first", it)
		}
	}
	for _, it := range createOrder(tgtF, migrate.WellKnownInbox)[:20] {
		if it.Before(day0.Add(660 * time.Hour)) {
			t.Errorf("scanned: %v is among the first 20 created, not newest first", it)
		}
	}
	// A delta after a streamed copy has nothing to do.
	before := tgtS.Box("ann@contoso.com").Counts()
	hS.syncNow("ann@contoso.com")
	if after := tgtS.Box("ann@contoso.com").Counts(); after != before {
		t.Errorf("the delta after a streamed copy wrote: %+v → %+v", before, after)
	}
}

func sameTestFlags(a, b migrate.Flags) bool {
	return a.Seen == b.Seen && a.Flagged == b.Flagged && a.Answered == b.Answered && slices.Equal(a.Categories, b.Categories)
}

// TestEngine_StreamedRerunFromEmptyStateNeverDuplicates: a streamed first
// copy with a new state file over a target that holds everything adopts
// every item by source key (duplicates' ordinals included) and creates
// nothing.
func TestEngine_StreamedRerunFromEmptyStateNeverDuplicates(t *testing.T) {
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	seedLarge(src)
	tweak := func(o *migrate.Options) { o.MaxMessageBytes = 4000; streamAlways(o) }
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, tweak)
	h.batch("b", "ann@contoso.com")
	h.waitUser("ann@contoso.com", model.UserSynced)
	h.stop()
	mb := tgt.Box("ann@contoso.com")
	creates := mb.Counts().Creates

	h2 := newHarness(t, statetest.MustOpen(t), src, tgt, 5, tweak)
	h2.batch("again", "ann@contoso.com")
	u := h2.waitUser("ann@contoso.com", model.UserSynced)
	if mb.Counts().Creates != creates || mb.Duplicates() != 0 {
		t.Errorf("re-run created %d messages, %d duplicates", mb.Counts().Creates-creates, mb.Duplicates())
	}
	if u.SyncedItemCount != int64(len(mb.Items())) {
		t.Errorf("after re-run: synced %d, the target has %d", u.SyncedItemCount, len(mb.Items()))
	}
}

// TestEngine_StreamedStopAtChunkEdgesLosesAndDuplicatesNothing stops a
// streamed first copy at body fetches around the chunk boundaries (the
// first chunk is 200 messages) and at the last one; the next pass resumes
// the folder (records, dirty) and streams it again: every message is in
// the target once.
func TestEngine_StreamedStopAtChunkEdgesLosesAndDuplicatesNothing(t *testing.T) {
	for _, k := range []int32{1, 2, 199, 200, 201, 202, 450} {
		t.Run(fmt.Sprintf("fetch%d", k), func(t *testing.T) {
			src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
			for i := 0; i < 450; i++ {
				subject := fmt.Sprintf("m %d", i)
				if i%150 == 7 {
					subject = "dup" // #2 and #3 in later chunks
				}
				src.append("INBOX", rawMsg(subject, 300), day0.Add(time.Duration(i)*time.Minute))
			}
			stopAtFetchThenResume(t, src, tgt, "", k, streamAlways)
			mb := tgt.Box("ann@contoso.com")
			if n := len(mb.Items()); n != 450 || mb.Duplicates() != 0 {
				t.Errorf("stopped at fetch %d: %d items, %d duplicates", k, n, mb.Duplicates())
			}
		})
	}
}

// TestEngine_StreamedStopAtEveryFetchAcrossFolders is the folder sweep of
// TestEngine_StopAtEveryFetchAcrossFoldersLosesAndDuplicatesNothing with
// every first copy streamed.
func TestEngine_StreamedStopAtEveryFetchAcrossFolders(t *testing.T) {
	stopAcrossFolders(t, []string{"A", "A/B", "C"}, 3, func(t *testing.T, k, total int32, mb *memtarget.Mailbox) {
		if n := len(mb.Items()); n != int(total) || mb.Duplicates() != 0 {
			t.Errorf("stopped at fetch %d: %d items, %d duplicates", k, n, mb.Duplicates())
		}
	}, streamAlways)
}

// TestEngine_StreamedResumeReplaysExpungesAndFlags: a streamed first copy
// stopped half way; meanwhile a copied message is expunged, another gets
// a flag, and mail arrives. The resumed pass streams the folder again: the
// expunged message's item is deleted, the flag replayed, the new mail
// copied, nothing twice.
func TestEngine_StreamedResumeReplaysExpungesAndFlags(t *testing.T) {
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	for i := 0; i < 300; i++ {
		src.append("INBOX", rawMsg(fmt.Sprintf("m %d", i), 300), day0.Add(time.Duration(i)*time.Minute))
	}
	var h *harness
	stopped := make(chan struct{})
	var once sync.Once
	src.onFetch = func(ctx context.Context, f string, uid uint32) {
		if uid != 250 {
			return
		}
		once.Do(func() {
			go func() { _ = h.eng.StopBatch(context.Background(), "b") }()
			<-ctx.Done()
			close(stopped)
		})
	}
	h = newHarness(t, statetest.MustOpen(t), src, tgt, 5, streamAlways)
	h.batch("b", "ann@contoso.com")
	h.waitUser("ann@contoso.com", model.UserStopped)
	<-stopped
	mb := tgt.Box("ann@contoso.com")
	if n := len(mb.Items()); n == 0 || n >= 300 {
		t.Fatalf("the stop left %d items; the test needs a partial copy", n)
	}
	src.expunge("INBOX", 3)
	src.setFlags("INBOX", 4, `\Flagged`)
	src.append("INBOX", rawMsg("late", 300), day0.AddDate(1, 0, 0))
	if err := h.eng.StartBatch(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	h.waitUser("ann@contoso.com", model.UserSynced)
	if n := len(mb.Items()); n != 300 || mb.Duplicates() != 0 {
		t.Errorf("after the resume: %d items (want 300), %d duplicates", n, mb.Duplicates())
	}
	for _, it := range mb.Items() {
		if it.Headers != "" && strings.Contains(it.Headers, "Subject: m 2\r\n") {
			t.Errorf("the expunged message (UID 3) is still in the target")
		}
		if strings.Contains(it.Headers, "Subject: m 3\r\n") && !it.Flags.Flagged {
			t.Errorf("UID 4's new flag was not replayed: %+v", it.Flags)
		}
	}
	v, err := h.eng.VerifyUser(context.Background(), "ann@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Differences) != 0 || v.TargetCount != v.SourceCount {
		t.Errorf("verify: source %d, target %d, differences %+v", v.SourceCount, v.TargetCount, v.Differences)
	}
}

// TestEngine_StreamingFallsBackForTheItemLimit: a first copy that could
// go over the mailbox item limit is scanned whole (the cap picks the
// oldest of the whole mailbox), even when large enough to stream.
func TestEngine_StreamingFallsBackForTheItemLimit(t *testing.T) {
	src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
	for i := 0; i < 5; i++ {
		src.append("INBOX", rawMsg(fmt.Sprintf("m%d", i), 200), day0.AddDate(0, i, 0))
	}
	h := newHarness(t, statetest.MustOpen(t), src, tgt, 5, func(o *migrate.Options) { o.MaxMailboxItems = 3; streamAlways(o) })
	h.batch("b", "ann@contoso.com")
	h.waitUser("ann@contoso.com", model.UserSynced)
	mb := tgt.Box("ann@contoso.com")
	if len(mb.Items()) != 3 {
		t.Fatalf("%d items, want 3", len(mb.Items()))
	}
	for _, it := range mb.Items() {
		if it.Received.Before(day0.AddDate(0, 2, 0)) {
			t.Errorf("an old message was kept: %v", it.Received)
		}
	}
}
