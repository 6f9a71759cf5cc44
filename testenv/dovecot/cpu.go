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
	pidb, err := os.ReadFile(filepath.Join(s.Dir, "base", "master.pid"))
	if err != nil {
		return 0, err
	}
	master, err := strconv.Atoi(strings.TrimSpace(string(pidb)))
	if err != nil {
		return 0, err
	}
	return serverproc.TreeCPUSeconds(master)
}
