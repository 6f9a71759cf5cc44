package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// TestDemo_EndsPerfectAndKeepsItsData runs the real demo: it ends Perfect
// with nothing skipped, and with --keep the printed commands work on the
// kept data afterwards.
func TestDemo_EndsPerfectAndKeepsItsData(t *testing.T) {
	keep := filepath.Join(t.TempDir(), "kept")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "demo", "--users", "2", "--messages", "5", "--keep", keep)
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"DataConsistencyScore: Perfect", "skipped:    0 (-)", "duplicates found in the target: 0", "imapmig serve --config " + filepath.Join(keep, "imapmig.yaml")} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	cfg := filepath.Join(keep, "imapmig.yaml")
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^listen: (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("kept config has no listen:\n%s", body)
	}
	startServeEnv(t, cfg, string(m[1]), nil)
	env := []string{"IMAPMIG_CONFIG=" + cfg}
	o, errOut, code := runCLI(t, env, "batch", "get", "demo", "-o", "json")
	if code != 0 {
		t.Fatalf("batch get on the kept data: %s", errOut)
	}
	var v migrate.BatchView
	if err := json.Unmarshal([]byte(o), &v); err != nil {
		t.Fatal(err)
	}
	if v.TotalCount != 2 || v.SyncedCount != 2 || v.DataConsistencyScore != migrate.ScorePerfect || v.SyncedItemCount == 0 {
		t.Errorf("kept batch: %+v", v)
	}
	if _, errOut, code := runCLI(t, env, "user", "skipped", "user01@contoso.example"); code != 0 {
		t.Errorf("user skipped on the kept data: %s", errOut)
	}
}
