package serverproc

// TreeCPUSeconds is the CPU time (user + system) of process root and every
// process under it, living or exited (an exited child's time is in its
// parent's cutime once reaped), read from /proc.
func TreeCPUSeconds(root int) (float64, error) {
	procs, err := readProcs()
	if err != nil {
		return 0, err
	}
	var ticks int64
	for pid := range inTree(root, procs) {
		ticks += procs[pid].ticks
	}
	return float64(ticks) / 100, nil // USER_HZ is 100 on Linux
}
