package serverproc

// LiveInTree counts the processes named comm (the executable's name, as
// /proc/<pid>/stat gives it) under process root that are still running:
// an exited process not yet reaped (state Z) is not counted.
func LiveInTree(root int, comm string) (int, error) {
	procs, err := readProcs()
	if err != nil {
		return 0, err
	}
	n := 0
	for pid := range inTree(root, procs) {
		if p := procs[pid]; p.comm == comm && p.state != 'Z' && p.state != 'X' {
			n++
		}
	}
	return n, nil
}
