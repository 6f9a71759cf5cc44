package imapsrc_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// plantLeftover writes a spool file as a killed process leaves it.
func plantLeftover(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "imapsrc-1234567.eml")
	if err := os.WriteFile(path, []byte("Subject: left by a crash\r\n\r\nplain customer mail\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}

// A connector starting on a spool dir sweeps what a crash left there,
// tightens the dir to 0700, leaves other files alone, and never removes the
// file of a body another connector on the same dir still holds.
func TestSpool_SweptAtStartButNotLiveBodies(t *testing.T) {
	srv, u := dovecotUser(t)
	ctx := context.Background()
	uids, err := srv.Append(ctx, u.Name, "INBOX", mailgen.Message{Raw: bigMessage("big", 200_000)})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "spool")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	leftover := plantLeftover(t, dir)
	other := filepath.Join(dir, "operator-notes.txt")
	if err := os.WriteFile(other, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := dovecotConfig(srv, imapsrc.SecuritySSL)
	cfg.SpoolDir, cfg.SpoolMemLimit = dir, 64<<10
	first := newConnector(t, cfg)
	if exists(t, leftover) {
		t.Fatal("the spool file a crash left behind is still there after New")
	}
	if !exists(t, other) {
		t.Error("a file that is not a spool file was removed")
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("spool dir mode %v (%v), want 0700", st.Mode().Perm(), err)
	}

	s := connectUser(t, first, u)
	fs, err := s.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Fetch(ctx, findFolder(t, fs, "INBOX"), uids[0])
	if err != nil {
		t.Fatal(err)
	}
	live := imapsrc.SpoolPath(b)
	if live == "" {
		t.Fatal("the body was not spooled to a file")
	}
	if st, err := os.Stat(live); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("spool file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	// A second connector on the same dir (the daemon builds one per pass)
	// sweeps a new leftover but not the live body.
	leftover = plantLeftover(t, dir)
	newConnector(t, cfg)
	if exists(t, leftover) {
		t.Error("the second connector did not sweep the leftover")
	}
	if !exists(t, live) {
		t.Fatal("a connector's sweep removed a body still in use")
	}
	if n, err := imapsrc.PrepareSpoolDir(dir); err != nil || n != 0 {
		t.Errorf("PrepareSpoolDir with only a live body: removed %d, %v", n, err)
	}
	if !exists(t, live) {
		t.Fatal("PrepareSpoolDir removed a body still in use")
	}

	// Shutdown: DiscardSpool removes every spool file, live or not.
	leftover = plantLeftover(t, dir)
	n, err := imapsrc.DiscardSpool(dir)
	if err != nil || n != 2 {
		t.Errorf("DiscardSpool removed %d files (%v), want 2", n, err)
	}
	if exists(t, live) || exists(t, leftover) {
		t.Error("spool files left after DiscardSpool")
	}
	if _, err := b.Open(); err == nil {
		t.Error("a discarded body still opens")
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close after DiscardSpool: %v", err)
	}
	if !exists(t, other) {
		t.Error("DiscardSpool removed a file that is not a spool file")
	}
}
