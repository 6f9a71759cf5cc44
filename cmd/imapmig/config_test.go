package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServe_RefusesAConfigThatCannotWork: serve exits 1 at once, naming the
// key and its line, for problems it used to log and run on with, and for
// bad values and YAML syntax errors.
func TestServe_RefusesAConfigThatCannotWork(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "users.csv"), csvRows(2))
	head := "data_dir: data\nlisten: ADDR\nendpoints:\n  - name: old\n    host: 127.0.0.1\n"
	tenant := "tenants:\n  - name: contoso\n    tenant_id: t\n    client_id: c\n    client_secret_env: TEST_CLIENT_SECRET\n"
	for _, tc := range []struct {
		name, body string
		want       string
	}{
		// line 10: client_secret_env of a variable the daemon does not have.
		{"unset secret variable", head + strings.Replace(tenant, "TEST_CLIENT_SECRET", "IMAPMIG_TEST_UNSET_SECRET", 1), "tenants[0].client_secret_env (line 10): environment variable IMAPMIG_TEST_UNSET_SECRET is not set"},
		// line 15: a batch whose CSV does not exist.
		{"missing csv", head + tenant +
			"batches:\n  - name: wave1\n    endpoint: old\n    tenant: contoso\n    csv: nosuch.csv\n", "batches[0].csv (line 15)"},
		// A bad value carries its line.
		{"bad value", head + "    security: bogus\n" + tenant, "endpoints[0].security (line 6): want ssl, tls or none"},
		// A YAML syntax error on line 7 is reported as line 7.
		{"syntax", "data_dir: data\nlisten: ADDR\nendpoints:\n  - name: old\n    host: 127.0.0.1\nlog_level: info\nreport_interval: [24h\nmax_mailbox_items: 5\n", "(line 7)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(tc.body, "ADDR", freePort(t), 1)
			cfg := writeFile(t, filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml"), body)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, binPath, "serve", "--config", cfg)
			cmd.Env = append(cmd.Environ(), "TEST_CLIENT_SECRET=unused-test-secret", "IMAPMIG_TEST_UNSET_SECRET=")
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("serve kept running with this config:\n%s\n%s", body, out)
			}
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), tc.want) {
				t.Fatalf("exit %v, want 1 with %q:\n%s", err, tc.want, out)
			}
		})
	}
}
