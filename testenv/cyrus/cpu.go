package cyrus

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/imapmig/imapmig/testenv/internal/serverproc"
)

// CPUSeconds is the CPU time (user + system) of Cyrus's master and every
// service process under it, living or exited, read from /proc. Benchmarks
// report it beside their own CPU.
func (s *Server) CPUSeconds() (float64, error) {
	pidb, err := os.ReadFile(filepath.Join(s.Dir, "master.pid"))
	if err != nil {
		return 0, err
	}
	master, err := strconv.Atoi(strings.TrimSpace(string(pidb)))
	if err != nil {
		return 0, err
	}
	return serverproc.TreeCPUSeconds(master)
}
