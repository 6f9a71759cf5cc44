package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWatchFollow_SurvivesADaemonRestart runs `batch watch --follow` (the
// real binary, plain output) while the daemon is stopped and started
// again: it says it is waiting for the daemon, then goes on.
func TestWatchFollow_SurvivesADaemonRestart(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	cfg := writeFile(t, filepath.Join(dir, "imapmig.yaml"), fmt.Sprintf(`
data_dir: data
listen: %s
endpoints: [{name: old, host: 127.0.0.1}]
tenants: [{name: contoso, tenant_id: t, client_id: c, client_secret_env: TEST_CLIENT_SECRET}]
`, addr))
	env := []string{"IMAPMIG_CONFIG=" + cfg}
	d := startServe(t, cfg, addr)
	csv := writeFile(t, filepath.Join(dir, "one.csv"), csvRows(2))
	if out, errOut, code := runCLI(t, env, "batch", "new", "wave1", "--endpoint", "old", "--tenant", "contoso", "--csv", csv); code != 0 {
		t.Fatalf("batch new: %d %s %s", code, out, errOut)
	}
	w := exec.Command(binPath, "batch", "watch", "wave1", "--follow", "--interval", "20ms")
	w.Env = append(os.Environ(), env...)
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	w.Stdout, w.Stderr = out, errOut
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var werr error
	go func() { werr = w.Wait(); close(exited) }()
	t.Cleanup(func() {
		w.Process.Kill() // harmless when it has ended
		<-exited
	})
	alive := func() bool {
		select {
		case <-exited:
			t.Fatalf("watch ended: %v\nstdout:\n%s\nstderr:\n%s", werr, out.String(), errOut.String())
		default:
		}
		return true
	}
	poll(t, "the first frame", func() bool { return alive() && strings.Contains(out.String(), "batch wave1 Created") })
	stopServe(t, d)
	poll(t, "the waiting line", func() bool { return alive() && strings.Contains(out.String(), "waiting for the daemon") })
	startServe(t, cfg, addr)
	poll(t, "the watch going on", func() bool {
		s := out.String()
		i := strings.Index(s, "the daemon answers again")
		return alive() && i >= 0 && strings.Contains(s[i:], "batch wave1 Created")
	})
	if n := strings.Count(out.String(), "waiting for the daemon"); n != 1 {
		t.Errorf("%d waiting lines, want 1:\n%s", n, out.String())
	}
}
