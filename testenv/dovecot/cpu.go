package dovecot

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/imapmig/imapmig/testenv/internal/serverproc"
)

// CPUSeconds is the CPU time (user + system) of Dovecot's master and every
// process under it, living or exited (an exited child's time is in its
// parent's cutime once reaped), read from /proc. Benchmarks report it
// beside their own CPU so that the server's share of a run is visible.
func (s *Server) CPUSeconds() (float64, error) {
	master, err := s.masterPID()
	if err != nil {
		return 0, err
	}
	return serverproc.TreeCPUSeconds(master)
}

// IMAPSessions is the number of Dovecot's imap processes still running
// (one per IMAP session; one that has exited is not counted). A benchmark
// waits for 0 before it measures a pass, so that what an earlier session
// still does after its LOGOUT (Dovecot writes a folder's indexes when it
// closes it) is neither counted as the pass's CPU nor competes with it.
func (s *Server) IMAPSessions() (int, error) {
	master, err := s.masterPID()
	if err != nil {
		return 0, err
	}
	return serverproc.LiveInTree(master, "imap")
}

// masterPID is the pid Dovecot's master wrote into its base directory.
func (s *Server) masterPID() (int, error) {
	pidb, err := os.ReadFile(filepath.Join(s.Dir, "base", "master.pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(pidb)))
}
