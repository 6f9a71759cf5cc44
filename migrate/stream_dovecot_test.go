package migrate_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// TestDovecot_StreamedFirstCopyEqualsFullScan: against real Dovecot, a
// streamed first copy (chunks of UIDs read as they are copied) of a
// realistic mailbox (mailgen's kinds, its duplicates and malformed mail)
// plus an INBOX over several chunks with exact duplicates across chunk
// boundaries records the same source keys, per folder and UID, as the
// full scan, and puts the same items in the target. A second streamed run
// from an empty state file over the same target creates nothing.
func TestDovecot_StreamedFirstCopyEqualsFullScan(t *testing.T) {
	srv := dc.Get(t)
	u := srv.MustNewUser(t, "stream", dovecot.LayoutSlash)
	if err := srv.Seed(u.Name, mailgen.Generate(mailgen.Options{Seed: 15, Messages: 80, MaxSize: 8 << 10})); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2019, 5, 1, 8, 0, 0, 0, time.UTC)
	var inbox []mailgen.Message
	for i := 0; i < 520; i++ {
		subject := fmt.Sprintf("bulk %d", i)
		if i%170 == 3 {
			subject = "the same every 170" // #2 and #3 land in later chunks
		}
		raw := fmt.Appendf(nil, "From: a@example.org\r\nTo: b@example.org\r\nSubject: %s\r\nDate: Wed, 01 May 2019 08:00:00 +0000\r\n\r\nbody\r\n", subject)
		inbox = append(inbox, mailgen.Message{Raw: raw, InternalDate: base.Add(time.Duration(i) * time.Minute)})
	}
	if err := srv.WriteMaildir(u.Name, []string{"INBOX"}, inbox); err != nil {
		t.Fatal(err)
	}

	run := func(at int) (*dovecotWorld, string) {
		w, addr := newDovecotWorld(t, srv, u, worldOptions{engine: func(o *migrate.Options) { o.StreamFirstCopyAt = at }})
		w.h.waitUser(addr, model.UserSynced)
		return w, addr
	}
	ws, addr := run(1)
	wf, _ := run(-1)
	records := func(st *state.Store) map[string]map[uint32]string {
		fs, err := st.Folders(addr)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]map[uint32]string{}
		for name := range fs {
			out[name] = recordsOf(t, st, addr, name)
		}
		return out
	}
	rs, rf := records(ws.h.st), records(wf.h.st)
	if len(rs) != len(rf) || len(rs["INBOX"]) < 520 {
		t.Fatalf("folders: %d streamed, %d scanned; INBOX records %d streamed", len(rs), len(rf), len(rs["INBOX"]))
	}
	for folder, recs := range rf {
		if len(rs[folder]) != len(recs) {
			t.Errorf("%s: %d records streamed, %d scanned", folder, len(rs[folder]), len(recs))
		}
		for uid, k := range recs {
			if rs[folder][uid] != k {
				t.Errorf("%s UID %d: %q streamed, %q scanned", folder, uid, rs[folder][uid], k)
			}
		}
	}
	bs, bf := ws.tgt.Box(addr), wf.tgt.Box(addr)
	if len(bs.Items()) != len(bf.Items()) || bs.Duplicates() != 0 {
		t.Errorf("target: %d items streamed (%d duplicates), %d scanned", len(bs.Items()), bs.Duplicates(), len(bf.Items()))
	}
	ws.h.stop()
	creates := bs.Counts().Creates

	// A new state file over the streamed target: everything is adopted.
	h := newHarnessWith(t, statetest.MustOpen(t), dovecotConnector(t, srv, nil), ws.tgt, 10, func(o *migrate.Options) { o.StreamFirstCopyAt = 1 })
	h.startBatch("again", state.BatchOptions{MigrateDeletedItems: true, SyncInterval: time.Hour}, batchUser{addr, u.Name, u.Password})
	h.waitUser(addr, model.UserSynced)
	if bs.Counts().Creates != creates || bs.Duplicates() != 0 {
		t.Errorf("the re-run from an empty state created %d, %d duplicates", bs.Counts().Creates-creates, bs.Duplicates())
	}
}
