package serverproc

import (
	"os"
	"strconv"
	"strings"
)

// LiveInTree counts the processes named comm (the executable's name, as
// /proc/<pid>/stat gives it) under process root that are still running:
// an exited process not yet reaped (state Z) is not counted.
func LiveInTree(root int, comm string) (int, error) {
	type proc struct {
		ppid int
		live bool // named comm and not exited
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
		open, end := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(st[end+1:])
		// After the command: state ppid …
		if len(f) < 2 || f[0] == "" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		procs[pid] = proc{ppid, st[open+1:end] == comm && f[0][0] != 'Z' && f[0][0] != 'X'}
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
	n := 0
	for pid := range in {
		if procs[pid].live {
			n++
		}
	}
	return n, nil
}
