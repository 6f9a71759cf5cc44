package state_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
)

// smallDisk mounts a 1 MiB tmpfs for the test (root only; CI runs as
// root) and returns its path.
func smallDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a full disk needs a small tmpfs, and mounting one needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs (%v: %s): this test needs CAP_SYS_ADMIN", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestFullDisk_ClearErrorAndLastConsistentState: the state file on a disk
// that fills up. The write that does not fit fails with ENOSPC naming the
// file, is rolled back whole, and everything committed before it stays
// readable and consistent, also after a reopen; once there is room again,
// writes go on.
func TestFullDisk_ClearErrorAndLastConsistentState(t *testing.T) {
	dir := smallDisk(t)
	st, err := state.Open(dir, statetest.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBatch(state.Batch{Name: "b"}, []state.NewUser{{EmailAddress: "ann@example.org", UserName: "ann", Password: "Secret-1"}}); err != nil {
		t.Fatal(err)
	}
	const email, folder = "ann@example.org", "INBOX"
	if err := st.PutFolder(email, state.FolderState{Name: folder, UIDValidity: 1}); err != nil {
		t.Fatal(err)
	}
	// A filler takes most of the room, so the state file meets the end
	// of the disk after a few hundred records.
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 700<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	committed := 0
	var werr error
	for chunk := 0; chunk < 1000 && werr == nil; chunk++ {
		recs := make([]state.MessageRecord, 50)
		for i := range recs {
			uid := uint32(committed + i + 1)
			recs[i] = state.MessageRecord{UID: uid, SourceKey: fmt.Sprintf("%064d", uid), ItemID: strings.Repeat("A", 150) + fmt.Sprint(uid), Size: 1000}
		}
		if werr = st.PutMessages(email, folder, recs); werr == nil {
			committed += len(recs)
		}
	}
	if werr == nil {
		t.Fatal("the disk never filled up: the test proves nothing")
	}
	if !errors.Is(werr, syscall.ENOSPC) {
		t.Fatalf("write on a full disk: %v, want ENOSPC (no space left on device)", werr)
	}
	t.Logf("%d records committed, then: %v", committed, werr)
	check := func(s *state.Store, when string) {
		t.Helper()
		if n, err := s.MessageCount(email, folder); err != nil || n != committed {
			t.Errorf("%s: %d records (%v), want the %d committed before the disk was full", when, n, err, committed)
		}
		if err := s.Check(); err != nil {
			t.Errorf("%s: invariants: %v", when, err)
		}
		if u, err := s.User(email); err != nil || u.Batch != "b" {
			t.Errorf("%s: user %+v, %v", when, u, err)
		}
	}
	check(st, "after the failed write")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = state.Open(dir, statetest.Key, nil)
	if err != nil {
		t.Fatalf("reopening on the full disk: %v", err)
	}
	defer st.Close()
	check(st, "reopened on the full disk")
	// Room again: writing goes on.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := st.PutMessages(email, folder, []state.MessageRecord{{UID: uint32(committed + 1), SourceKey: "k", ItemID: "i"}}); err != nil {
		t.Fatalf("write after space was freed: %v", err)
	}
	committed++
	check(st, "after space was freed")
}
