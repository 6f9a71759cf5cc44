package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/imapmig/imapmig/migrate/config"
)

// The daemon sweeps <data_dir>/spool at start (bodies a killed daemon left)
// and empties it at shutdown; the dir is 0700.
func TestDaemon_SpoolSweptAtStartAndShutdown(t *testing.T) {
	dataDir := t.TempDir()
	spool := spoolDir(dataDir)
	if err := os.MkdirAll(spool, 0o755); err != nil {
		t.Fatal(err)
	}
	plant := func(name string) string {
		p := filepath.Join(spool, name)
		if err := os.WriteFile(p, []byte("Subject: customer mail\r\n\r\nbody\r\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	crash := plant("imapsrc-111.eml")
	cfg := &config.Config{DataDir: dataDir, Listen: "127.0.0.1:0", LogLevel: "info",
		MaxMessageBytes: config.DefaultMaxMessageBytes, MaxMailboxItems: config.DefaultMaxMailboxItems}
	d, err := startDaemon(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(crash); !os.IsNotExist(err) {
		t.Errorf("the spool file of a crashed run survived the start: %v", err)
	}
	if st, err := os.Stat(spool); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("spool dir mode %v (%v), want 0700", st.Mode().Perm(), err)
	}
	// A body still on disk when the engine stops (or is given up on).
	inflight := plant("imapsrc-222.eml")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(inflight); !os.IsNotExist(err) {
		t.Errorf("a spool file survived the shutdown: %v", err)
	}
}
