package migrate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// spoolSpy counts the bodies that were on disk in dir when Fetch returned.
type spoolSpy struct {
	migrate.SourceConnector
	dir     string
	onDisk  atomic.Int64
	fetched atomic.Int64
}

type spySource struct {
	migrate.Source
	spy *spoolSpy
}

func (s *spoolSpy) Connect(ctx context.Context, l migrate.Login) (migrate.Source, error) {
	src, err := s.SourceConnector.Connect(ctx, l)
	if err != nil {
		return nil, err
	}
	return spySource{src, s}, nil
}

func (s spySource) Fetch(ctx context.Context, f migrate.Folder, uid uint32) (migrate.Body, error) {
	b, err := s.Source.Fetch(ctx, f, uid)
	if err == nil {
		s.spy.fetched.Add(1)
		if len(spoolFiles(s.spy.dir)) > 0 {
			s.spy.onDisk.Add(1)
		}
	}
	return b, err
}

// spoolFiles lists the imapsrc spool files in dir.
func spoolFiles(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "imapsrc-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// Spooled bodies are plain customer mail: a leftover from a crash is gone
// when the connector starts, every body spooled during a pass is removed
// after use, and the spool dir is 0700.
func TestDovecot_SpoolEmptyAfterPassAndSweptAtStart(t *testing.T) {
	srv := dc.Get(t)
	u := srv.MustNewUser(t, "spool", dovecot.LayoutSlash)
	const n = 25
	if err := srv.Seed(u.Name, mailgen.Generate(mailgen.Options{Seed: 14, Messages: n})); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "spool")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, "imapsrc-4711.eml")
	if err := os.WriteFile(leftover, []byte("Subject: from a killed daemon\r\n\r\nsecret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// SpoolMemLimit 1: every body of the pass goes through a file.
	var spy *spoolSpy
	w, addr := newDovecotWorld(t, srv, u, worldOptions{
		source: func(c *imapsrc.Config) { c.SpoolDir, c.SpoolMemLimit = dir, 1 },
		wrap: func(conn *imapsrc.Connector) migrate.SourceConnector {
			if _, err := os.Stat(leftover); !os.IsNotExist(err) {
				t.Fatalf("the leftover spool file survived the connector's start: %v", err)
			}
			spy = &spoolSpy{SourceConnector: conn, dir: dir}
			return spy
		},
	})
	w.h.waitUser(addr, model.UserSynced)

	if got := spy.fetched.Load(); got == 0 || spy.onDisk.Load() != got {
		t.Fatalf("%d bodies fetched, %d of them were on disk: the test did not exercise the file spool", got, spy.onDisk.Load())
	}
	if left := spoolFiles(dir); len(left) != 0 {
		t.Errorf("spool files after the pass: %v", left)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("spool dir mode %v (%v), want 0700", st.Mode().Perm(), err)
	}
	if c := w.tgt.Box(addr).Counts(); c.Creates != int(spy.fetched.Load()) || c.Creates == 0 {
		t.Errorf("%d creates for %d fetched bodies", c.Creates, spy.fetched.Load())
	}
}
