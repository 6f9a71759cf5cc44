package serverproc

import (
	"os"
	"strconv"
	"strings"
)

// TreeCPUSeconds is the CPU time (user + system) of process root and every
// process under it, living or exited (an exited child's time is in its
// parent's cutime once reaped), read from /proc.
func TreeCPUSeconds(root int) (float64, error) {
	type proc struct {
		ppid  int
		ticks int64
	}
	procs := map[int]proc{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + ent.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		st := string(raw)
		f := strings.Fields(st[strings.LastIndexByte(st, ')')+2:])
		// After the command: state ppid … utime(14) stime cutime cstime.
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		var ticks int64
		for _, k := range f[11:15] {
			t, _ := strconv.ParseInt(k, 10, 64)
			ticks += t
		}
		procs[pid] = proc{ppid, ticks}
	}
	in := map[int]bool{root: true}
	for changed := true; changed; {
		changed = false
		for pid, p := range procs {
			if !in[pid] && in[p.ppid] {
				in[pid], changed = true, true
			}
		}
	}
	var ticks int64
	for pid := range in {
		ticks += procs[pid].ticks
	}
	return float64(ticks) / 100, nil // USER_HZ is 100 on Linux
}
