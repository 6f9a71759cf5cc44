package serverproc

import (
	"os"
	"strconv"
	"strings"
)

// procStat is what /proc/<pid>/stat says of one process.
type procStat struct {
	ppid  int
	comm  string // the executable's name
	state byte   // R, S, D, Z (exited, not reaped), X, …
	ticks int64  // utime + stime + cutime + cstime, in USER_HZ
}

// readProcs reads every process's stat; processes that exit meanwhile or
// whose line cannot be read are left out.
func readProcs() (map[int]procStat, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	procs := map[int]procStat{}
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
		open, end := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
		if open < 0 || end < open {
			continue
		}
		// After the command: state ppid … utime(14) stime cutime cstime.
		f := strings.Fields(st[end+1:])
		if len(f) < 15 || f[0] == "" {
			continue
		}
		p := procStat{comm: st[open+1 : end], state: f[0][0]}
		p.ppid, _ = strconv.Atoi(f[1])
		for _, k := range f[11:15] {
			t, _ := strconv.ParseInt(k, 10, 64)
			p.ticks += t
		}
		procs[pid] = p
	}
	return procs, nil
}

// inTree is root and every process under it.
func inTree(root int, procs map[int]procStat) map[int]bool {
	in := map[int]bool{root: true}
	for changed := true; changed; {
		changed = false
		for pid, p := range procs {
			if !in[pid] && in[p.ppid] {
				in[pid], changed = true, true
			}
		}
	}
	return in
}
