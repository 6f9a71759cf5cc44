package state_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
)

func users(n int, prefix string) []state.NewUser {
	out := make([]state.NewUser, n)
	for i := range out {
		out[i] = state.NewUser{
			EmailAddress: fmt.Sprintf("%s%d@Example.org", prefix, i),
			UserName:     fmt.Sprintf("%s%d", prefix, i),
			Password:     fmt.Sprintf("Sup3r-Secret-%s-%d!", prefix, i),
		}
	}
	return out
}

func TestSealer_RoundTripAndContext(t *testing.T) {
	s, err := state.NewSealer(statetest.Key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("hunter2", "a@b.c")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatal("sealed value contains the plain text")
	}
	if got, err := s.Open(sealed, "a@b.c"); err != nil || got != "hunter2" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(sealed, "other@b.c"); !errors.Is(err, state.ErrUnseal) {
		t.Fatalf("Open with other context: %v, want ErrUnseal", err)
	}
	if _, err := state.NewSealer([]byte("short")); !errors.Is(err, state.ErrBadKey) {
		t.Fatalf("NewSealer(short) = %v", err)
	}
}

func TestLoadKey_CreatesFile0600AndReusesIt(t *testing.T) {
	t.Setenv(state.KeyEnv, "")
	dir := t.TempDir()
	k1, err := state.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, state.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := state.LoadKey(dir)
	if err != nil || !bytes.Equal(k1, k2) || len(k1) != 32 {
		t.Fatalf("second LoadKey: %v, equal=%v", err, bytes.Equal(k1, k2))
	}
}

func TestLoadKey_FromEnv(t *testing.T) {
	want := bytes.Repeat([]byte{9}, 32)
	t.Setenv(state.KeyEnv, base64.StdEncoding.EncodeToString(want))
	dir := t.TempDir()
	got, err := state.LoadKey(dir)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("LoadKey = %x, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, state.KeyFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("key file written although the env var is set: %v", err)
	}
	t.Setenv(state.KeyEnv, "bm90IDMyIGJ5dGVz")
	if _, err := state.LoadKey(dir); !errors.Is(err, state.ErrBadKey) {
		t.Fatalf("bad env key: %v", err)
	}
}

func TestCreateBatch_UserDuplicateInOtherBatch(t *testing.T) {
	s := statetest.MustOpen(t)
	if err := s.CreateBatch(state.Batch{Name: "b1"}, users(3, "u")); err != nil {
		t.Fatal(err)
	}
	// u1 again, with different case, in another batch.
	nu := users(2, "v")
	nu = append(nu, state.NewUser{EmailAddress: "U1@EXAMPLE.ORG", UserName: "x", Password: "y"})
	err := s.CreateBatch(state.Batch{Name: "b2"}, nu)
	var dup *state.DuplicateUserError
	if !errors.As(err, &dup) || dup.OtherBatch != "b1" || dup.Code() != "UserDuplicateInOtherBatch" {
		t.Fatalf("err = %v, want UserDuplicateInOtherBatch naming b1", err)
	}
	if _, err := s.Batch("b2"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("b2 was created although refused: %v", err)
	}
	if us, _ := s.Users(""); len(us) != 3 {
		t.Fatalf("%d users stored, want 3 (nothing of b2)", len(us))
	}
	if err := s.CreateBatch(state.Batch{Name: "b1"}, nil); !errors.Is(err, state.ErrExists) {
		t.Fatalf("second b1: %v, want ErrExists", err)
	}
}

func TestStore_SurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := state.Open(dir, statetest.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBatch(state.Batch{Name: "wave1", Endpoint: "e", Tenant: "t"}, users(5, "a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := statetest.MustOpenDir(t, dir)
	b, err := s2.Batch("wave1")
	if err != nil || b.Status != model.BatchCreated || b.Endpoint != "e" {
		t.Fatalf("batch after reopen: %+v, %v", b, err)
	}
	us, err := s2.Users("wave1")
	if err != nil || len(us) != 5 {
		t.Fatalf("users after reopen: %d, %v", len(us), err)
	}
	pw, err := s2.Password(us[2])
	if err != nil || pw != "Sup3r-Secret-a-2!" {
		t.Fatalf("password after reopen: %q, %v", pw, err)
	}
}

func TestOpen_LockedByAnotherHandle(t *testing.T) {
	dir := t.TempDir()
	statetest.MustOpenDir(t, dir)
	_, err := state.Open(dir, statetest.Key, &state.Options{Timeout: 50e6})
	if !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

func TestStateFile_HasNoPlainPassword(t *testing.T) {
	dir := t.TempDir()
	s, err := state.Open(dir, statetest.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	us := users(50, "p")
	if err := s.CreateBatch(state.Batch{Name: "b"}, us); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(us[0].EmailAddress, "Changed-Pa55word"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	raw, err := os.ReadFile(filepath.Join(dir, state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range append(us, state.NewUser{Password: "Changed-Pa55word"}) {
		if bytes.Contains(raw, []byte(u.Password)) {
			t.Fatalf("state file contains the plain password of %s", u.EmailAddress)
		}
		if bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString([]byte(u.Password)))) {
			t.Fatalf("state file contains the base64 password of %s", u.EmailAddress)
		}
	}
	if !bytes.Contains(raw, []byte("p7@example.org")) && !bytes.Contains(raw, []byte("p7@Example.org")) {
		t.Fatal("sanity: user address not found in the file; the check above proves nothing")
	}
}

func TestMessages_RoundTripInChunks(t *testing.T) {
	s := statetest.MustOpen(t)
	if err := s.CreateBatch(state.Batch{Name: "b"}, users(1, "m")); err != nil {
		t.Fatal(err)
	}
	email := "m0@example.org"
	if err := s.PutMessages(email, "INBOX", []state.MessageRecord{{UID: 1}}); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("messages without folder state: %v", err)
	}
	if err := s.PutFolder(email, state.FolderState{Name: "INBOX", UIDValidity: 7, UIDNext: 10001}); err != nil {
		t.Fatal(err)
	}
	const n = 10000
	recs := make([]state.MessageRecord, n)
	for i := range recs {
		recs[i] = state.MessageRecord{UID: uint32(i + 1), SourceKey: fmt.Sprintf("k%d", i), ItemID: fmt.Sprintf("AAMk%d=", i), Flags: uint8(i % 4), Size: int64(i * 1000)}
	}
	recs[5].Keywords = []string{"$label1", "Work"}
	if err := s.PutMessages(email, "INBOX", recs); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMessages(email, "INBOX", []uint32{2, 3}); err != nil {
		t.Fatal(err)
	}
	var got []state.MessageRecord
	if err := s.Messages(email, "INBOX", func(r state.MessageRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != n-2 {
		t.Fatalf("got %d records, want %d", len(got), n-2)
	}
	for i := 1; i < len(got); i++ {
		if got[i].UID <= got[i-1].UID {
			t.Fatalf("records out of order at %d", i)
		}
	}
	if r := got[3]; r.UID != 6 || r.SourceKey != "k5" || r.ItemID != "AAMk5=" || r.Flags != 1 || r.Size != 5000 || len(r.Keywords) != 2 || r.Keywords[1] != "Work" {
		t.Fatalf("record 6 = %+v", r)
	}
	if c, _ := s.MessageCount(email, "INBOX"); c != n-2 {
		t.Fatalf("MessageCount = %d", c)
	}
	i := 0
	if err := s.Summaries(email, "INBOX", func(m state.MessageSummary) error {
		r := got[i]
		if m.UID != r.UID || m.SourceKey != r.SourceKey || m.Flags != r.Flags || m.Size != r.Size || m.InTarget != (r.ItemID != "") || len(m.Keywords) != len(r.Keywords) {
			t.Fatalf("summary %d = %+v, record %+v", i, m, r)
		}
		i++
		return nil
	}); err != nil || i != n-2 {
		t.Fatalf("summaries: %d, %v", i, err)
	}
	if err := s.ResetMessages(email, "INBOX"); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.MessageCount(email, "INBOX"); c != 0 {
		t.Fatalf("after reset MessageCount = %d", c)
	}
}

func TestRemoveBatch_DeletesUsersAndSyncState(t *testing.T) {
	s := statetest.MustOpen(t)
	if err := s.CreateBatch(state.Batch{Name: "gone"}, users(2, "g")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBatch(state.Batch{Name: "kept"}, users(1, "k")); err != nil {
		t.Fatal(err)
	}
	e := "g0@example.org"
	must(t, s.PutFolder(e, state.FolderState{Name: "INBOX"}))
	must(t, s.PutMessages(e, "INBOX", []state.MessageRecord{{UID: 1, SourceKey: "x"}}))
	if _, err := s.AddSkipped(e, state.SkippedItem{Folder: "INBOX", UID: 2, Reason: "MessageTooLarge"}); err != nil {
		t.Fatal(err)
	}
	must(t, s.AppendEvent("gone", state.Event{Message: "hi"}))
	must(t, s.RemoveBatch("gone"))
	if us, _ := s.Users(""); len(us) != 1 || us[0].Batch != "kept" {
		t.Fatalf("users left: %+v", us)
	}
	if f, _ := s.Folders(e); len(f) != 0 {
		t.Fatalf("folders left: %v", f)
	}
	// The address is free again for a new batch.
	must(t, s.CreateBatch(state.Batch{Name: "again"}, users(1, "g")))
}

func TestSkipped_DedupAndApprove(t *testing.T) {
	s := statetest.MustOpen(t)
	must(t, s.CreateBatch(state.Batch{Name: "b"}, users(1, "s")))
	e := "s0@example.org"
	for i := 0; i < 3; i++ {
		added, err := s.AddSkipped(e, state.SkippedItem{Folder: "INBOX", SourceKey: "abc", Reason: "MessageTooLarge", Size: 40 << 20})
		if err != nil || added != (i == 0) {
			t.Fatalf("AddSkipped #%d: added=%v err=%v", i, added, err)
		}
	}
	if _, err := s.AddSkipped(e, state.SkippedItem{Folder: "Sent", SourceKey: "abc", Reason: "MalformedMessage"}); err != nil {
		t.Fatal(err)
	}
	items, _ := s.Skipped(e)
	if len(items) != 2 || items[0].Folder != "INBOX" || items[1].Seq <= items[0].Seq {
		t.Fatalf("skipped = %+v", items)
	}
	n, err := s.ApproveSkipped(e)
	if err != nil || n != 2 {
		t.Fatalf("approve = %d, %v", n, err)
	}
	if n, _ := s.ApproveSkipped(e); n != 0 {
		t.Fatalf("second approve changed %d", n)
	}
	items, _ = s.Skipped(e)
	if !items[0].Approved || !items[1].Approved {
		t.Fatalf("not approved: %+v", items)
	}
}

func TestEvents_CappedOldestFirst(t *testing.T) {
	s := statetest.MustOpen(t)
	must(t, s.CreateBatch(state.Batch{Name: "b"}, nil))
	total := state.MaxEventsPerBatch + 25
	for i := 0; i < total; i++ {
		must(t, s.AppendEvent("b", state.Event{Message: fmt.Sprint(i)}))
	}
	all, err := s.Events("b", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != state.MaxEventsPerBatch || all[0].Message != "25" || all[len(all)-1].Message != fmt.Sprint(total-1) {
		t.Fatalf("events: %d, first %q last %q", len(all), all[0].Message, all[len(all)-1].Message)
	}
	last, _ := s.Events("b", 3)
	if len(last) != 3 || last[2].Message != fmt.Sprint(total-1) {
		t.Fatalf("last 3: %+v", last)
	}
}

func TestUpdateUser_PersistsFigures(t *testing.T) {
	s := statetest.MustOpen(t)
	must(t, s.CreateBatch(state.Batch{Name: "b"}, users(1, "f")))
	u, err := s.UpdateUser("F0@example.org", func(u *state.User) error {
		u.Status = model.UserQueued
		u.SyncedItemCount += 5
		return nil
	})
	if err != nil || u.Status != model.UserQueued {
		t.Fatal(u, err)
	}
	got, _ := s.User("f0@EXAMPLE.org")
	if got.SyncedItemCount != 5 || got.Status != model.UserQueued {
		t.Fatalf("user = %+v", got)
	}
	if _, err := s.UpdateUser("nobody@x.y", func(*state.User) error { return nil }); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDue_OrderAndIndexMaintenance(t *testing.T) {
	s := statetest.MustOpen(t)
	must(t, s.CreateBatch(state.Batch{Name: "b"}, users(4, "d")))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	set := func(i int, st state.UserStatus, queued, next time.Time) {
		t.Helper()
		if _, err := s.UpdateUser(fmt.Sprintf("d%d@example.org", i), func(u *state.User) error {
			u.Status, u.QueuedAt, u.NextSyncAt = st, queued, next
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	due := func(until time.Time) []string {
		var out []string
		if err := s.Due(until, func(u state.User) bool { out = append(out, u.UserName); return true }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := due(t0.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("Created users are due: %v", got)
	}
	set(0, model.UserQueued, t0.Add(2*time.Minute), time.Time{})
	set(1, model.UserQueued, t0.Add(time.Minute), t0.Add(3*time.Minute)) // backing off
	set(2, model.UserSynced, time.Time{}, t0.Add(30*time.Minute))
	set(3, model.UserFailed, t0, t0)
	if got := fmt.Sprint(due(t0.Add(5 * time.Minute))); got != "[d0 d1]" {
		t.Fatalf("due at +5m: %s", got)
	}
	if got := fmt.Sprint(due(t0.Add(time.Hour))); got != "[d0 d1 d2]" {
		t.Fatalf("due at +1h: %s", got)
	}
	if next, ok := s.NextDue(t0.Add(5 * time.Minute)); !ok || !next.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("NextDue = %v %v", next, ok)
	}
	// Syncing users leave the index; removing a user removes its entry.
	set(0, model.UserSyncing, t0, time.Time{})
	must(t, s.RemoveUser("d1@example.org"))
	if got := fmt.Sprint(due(t0.Add(time.Hour))); got != "[d2]" {
		t.Fatalf("after changes: %s", got)
	}
	stop := 0
	_ = s.Due(t0.Add(time.Hour), func(state.User) bool { stop++; return false })
	if stop != 1 {
		t.Fatalf("Due did not stop when asked: %d calls", stop)
	}
}

func TestRenameFolder_MovesStateAndMessages(t *testing.T) {
	s := statetest.MustOpen(t)
	must(t, s.CreateBatch(state.Batch{Name: "b"}, users(1, "r")))
	e := "r0@example.org"
	must(t, s.PutFolder(e, state.FolderState{Name: "Old", UIDValidity: 9, UIDNext: 3, TargetID: "F1"}))
	must(t, s.PutMessages(e, "Old", []state.MessageRecord{{UID: 1, SourceKey: "a", ItemID: "I1"}, {UID: 2, SourceKey: "b", ItemID: "I2"}}))
	must(t, s.PutFolder(e, state.FolderState{Name: "Other"}))
	if err := s.RenameFolder(e, "Old", state.FolderState{Name: "Other"}); !errors.Is(err, state.ErrExists) {
		t.Fatalf("rename onto an existing folder: %v", err)
	}
	must(t, s.RenameFolder(e, "Old", state.FolderState{Name: "New", UIDValidity: 9, UIDNext: 3, TargetID: "F1"}))
	fs, _ := s.Folders(e)
	if _, ok := fs["Old"]; ok || fs["New"].TargetID != "F1" {
		t.Fatalf("folders after rename: %+v", fs)
	}
	if n, _ := s.MessageCount(e, "New"); n != 2 {
		t.Fatalf("%d messages under the new name", n)
	}
	if n, _ := s.MessageCount(e, "Old"); n != 0 {
		t.Fatalf("%d messages left under the old name", n)
	}
}

// TestStore_UpdateBatchUsers: every user of the batch (and only of that
// batch) goes through fn; the changed ones are written and indexed as due.
func TestStore_UpdateBatchUsers(t *testing.T) {
	s := statetest.MustOpen(t)
	if err := s.CreateBatch(state.Batch{Name: "a"}, users(2500, "a")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBatch(state.Batch{Name: "b"}, users(3, "b")); err != nil {
		t.Fatal(err)
	}
	seen := 0
	n, err := s.UpdateBatchUsers("a", func(u *state.User) bool {
		seen++
		if strings.HasSuffix(u.UserName, "7") {
			return false // left as it is
		}
		u.Status = model.UserQueued
		return true
	})
	if err != nil || seen != 2500 || n != 2250 {
		t.Fatalf("UpdateBatchUsers: %d seen, %d changed, %v; want 2500, 2250, nil", seen, n, err)
	}
	us, _ := s.Users("")
	queued := 0
	for _, u := range us {
		if u.Status == model.UserQueued {
			queued++
			if u.Batch != "a" || strings.HasSuffix(u.UserName, "7") {
				t.Errorf("%s of batch %s is queued", u.EmailAddress, u.Batch)
			}
		}
	}
	if queued != 2250 {
		t.Errorf("%d users queued, want 2250", queued)
	}
	due := 0
	if err := s.Due(time.Now().Add(time.Hour), func(state.User) bool { due++; return true }); err != nil || due != 2250 {
		t.Errorf("%d users due, want 2250 (%v)", due, err)
	}
	if n, err := s.UpdateBatchUsers("nosuch", func(*state.User) bool { return true }); n != 0 || err != nil {
		t.Errorf("unknown batch: %d, %v", n, err)
	}
}
