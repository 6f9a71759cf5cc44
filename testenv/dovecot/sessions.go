package dovecot

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/imapmig/imapmig/testenv/internal/serverproc"
)

// IMAPSessions is the number of Dovecot's imap processes still running
// (one per IMAP session; one that has exited is not counted). A benchmark
// waits for 0 before it measures a pass, so that what an earlier session
// still does after its LOGOUT (Dovecot writes a folder's indexes when it
// closes it) is neither counted as the pass's CPU nor competes with it.
func (s *Server) IMAPSessions() (int, error) {
	pidb, err := os.ReadFile(filepath.Join(s.Dir, "base", "master.pid"))
	if err != nil {
		return 0, err
	}
	master, err := strconv.Atoi(strings.TrimSpace(string(pidb)))
	if err != nil {
		return 0, err
	}
	return serverproc.LiveInTree(master, "imap")
}
