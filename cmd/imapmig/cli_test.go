package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/logbuf"
)

var binPath string

// knownSecrets are passwords the tests handed to the daemon; none may appear
// in its log.
var knownSecrets []string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imapmig-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "imapmig")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build imapmig: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	dc.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runCLI runs the binary and returns stdout, stderr and the exit code.
func runCLI(t testing.TB, env []string, args ...string) (string, string, int) {
	t.Helper()
	return runCLIIn(t, env, nil, args...)
}

// runCLIStdin is runCLI with standard input (not a terminal).
func runCLIStdin(t testing.TB, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return runCLIIn(t, env, strings.NewReader(stdin), args...)
}

// runCLIIn is runCLI reading stdin (nil: none) as its standard input.
func runCLIIn(t testing.TB, env []string, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return so.String(), se.String(), code
}

// cliProc is a CLI command that runs on while the test goes on (batch
// watch --follow); exited is closed when it ended, err is then its end.
type cliProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// startCLI starts the binary with stdout and stderr going to out and
// errOut; it is killed, if still running, at the end of the test.
func startCLI(t testing.TB, env []string, out, errOut io.Writer, args ...string) *cliProc {
	t.Helper()
	p := &cliProc{cmd: exec.Command(binPath, args...), exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = out, errOut
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill() // harmless when it has ended
		<-p.exited
	})
	return p
}

func writeFile(t testing.TB, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func csvRows(n int) string {
	var b strings.Builder
	b.WriteString("EmailAddress,UserName,Password\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "user%d@contoso.com,user%d,Pw-%d-secret\n", i, i, i)
	}
	return b.String()
}

func TestCSVValidate_ExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("x", 11<<20)
	cases := []struct {
		name, content string
		code          int
		want          string
	}{
		{"valid", csvRows(3), 0, "valid, 3 users"},
		{"toomany", csvRows(50001), 1, "TooManyRows"},
		{"toolarge", "EmailAddress,UserName,Password\n" + big, 1, "TooLarge"},
		{"noheader", "ann@contoso.com,ann,pw\n", 1, "MissingHeader"},
		{"semicolon excel", "\xef\xbb\xbfEmailAddress;UserName;Password\r\nann@contoso.com;ann;pw,1\r\nbob@contoso.com;bob;pw;2\r\n", 1, "line 3"},
		{"semicolon valid", "EmailAddress;UserName;Password\r\nann@contoso.com;ann;pw,1\r\n", 0, "valid, 1 users"},
		{"windows-1252", "EmailAddress;UserName;Password\r\nj\xfcrgen@contoso.com;j\xfcrgen;Secret-Dup-Pw\r\n", 1, `save the file as "CSV UTF-8`},
		{"duplicate", "EmailAddress,UserName,Password\nann@contoso.com,a,p\nbob@contoso.com,b,p\nANN@contoso.com,c,Secret-Dup-Pw\n", 1, "line 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(dir, tc.name+".csv"), tc.content)
			out, errOut, code := runCLI(t, nil, "csv", "validate", path)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out+errOut, tc.want) {
				t.Fatalf("output lacks %q:\n%s%s", tc.want, out, errOut)
			}
			if strings.Contains(out+errOut, "Secret-Dup-Pw") {
				t.Fatal("output contains a password")
			}
		})
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// oldAndContoso is the config of the tests that reach no IMAP server and no
// tenant: endpoint old on 127.0.0.1, tenant contoso.
const oldAndContoso = `endpoints: [{name: old, host: 127.0.0.1}]
tenants: [{name: contoso, tenant_id: t, client_id: c, client_secret_env: TEST_CLIENT_SECRET}]
`

// daemonDir is a test's directory with a config for imapmig serve.
type daemonDir struct {
	dir  string   // holds imapmig.yaml, the CSVs and data/
	addr string   // the API's listen address, a free port
	cfg  string   // the config file
	yaml string   // what the config file holds
	env  []string // the CLI's: IMAPMIG_CONFIG=cfg
}

// newDaemonDir writes imapmig.yaml in a new directory: data_dir data, the
// API on a free port, then rest.
func newDaemonDir(t testing.TB, rest string) *daemonDir {
	t.Helper()
	d := &daemonDir{dir: t.TempDir(), addr: freePort(t)}
	d.yaml = "data_dir: data\nlisten: " + d.addr + "\n" + rest
	d.cfg = writeFile(t, filepath.Join(d.dir, "imapmig.yaml"), d.yaml)
	d.env = []string{"IMAPMIG_CONFIG=" + d.cfg}
	return d
}

// file writes name in the directory and returns its path.
func (d *daemonDir) file(t testing.TB, name, content string) string {
	t.Helper()
	return writeFile(t, filepath.Join(d.dir, name), content)
}

// startServe runs `imapmig serve` and waits for /healthz.
func startServe(t *testing.T, cfgPath, addr string) *exec.Cmd {
	t.Helper()
	return startServeEnv(t, cfgPath, addr, []string{"TEST_CLIENT_SECRET=unused-test-secret"})
}

// startServeEnv is startServe with extra environment variables.
func startServeEnv(t testing.TB, cfgPath, addr string, env []string) *exec.Cmd {
	t.Helper()
	cmd, _ := startServeLogs(t, cfgPath, addr, env)
	return cmd
}

// startServeLogs is startServeEnv that also returns the daemon's log.
func startServeLogs(t testing.TB, cfgPath, addr string, env []string) (*exec.Cmd, *logbuf.Buffer) {
	t.Helper()
	return startServeAt(t, cfgPath, http.DefaultClient, "http://"+addr, env)
}

// startServeAt is startServeLogs for a daemon that answers at base through
// hc (HTTPS with its own CA).
func startServeAt(t testing.TB, cfgPath string, hc *http.Client, base string, env []string) (*exec.Cmd, *logbuf.Buffer) {
	t.Helper()
	cmd := exec.Command(binPath, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), env...)
	logs := &logbuf.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, hc, base, cmd, logs)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		for _, secret := range append([]string{"Pw-1-secret", "e2e-secret-value"}, knownSecrets...) {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("daemon log contains a secret (%s…)", secret[:4])
			}
		}
	})
	return cmd, logs
}

// waitHealthy polls base/healthz until the daemon cmd answers; it kills
// the daemon and fails t when it does not come up within a minute
// (generous: a loaded machine).
func waitHealthy(t testing.TB, hc *http.Client, base string, cmd *exec.Cmd, logs *logbuf.Buffer) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := hc.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("daemon did not come up at %s: %v\n%s", base, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killServe SIGKILLs the daemon and waits until it is dead.
func killServe(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

func stopServe(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop on SIGTERM")
	}
}

func TestServe_BatchSurvivesRestartAndDuplicateRefused(t *testing.T) {
	dd := newDaemonDir(t, "endpoints: [{name: old, host: 127.0.0.1, port: 1993}]\n"+
		"tenants: [{name: contoso, tenant_id: t, client_id: c, client_secret_env: TEST_CLIENT_SECRET}]\n")
	cfg, addr, env := dd.cfg, dd.addr, dd.env
	csv1 := dd.file(t, "one.csv", csvRows(4))
	csv2 := dd.file(t, "two.csv", "EmailAddress,UserName,Password\nnew@contoso.com,n,p\nuser2@contoso.com,u,p\n")

	d := startServe(t, cfg, addr)
	out, errOut, code := runCLI(t, env, "batch", "new", "wave1", "--endpoint", "old", "--tenant", "contoso", "--csv", csv1)
	if code != 0 || !strings.Contains(out, "created with 4 users") {
		t.Fatalf("batch new: %d %s %s", code, out, errOut)
	}
	_, errOut, code = runCLI(t, env, "batch", "new", "wave2", "--endpoint", "old", "--tenant", "contoso", "--csv", csv2)
	if code == 0 || !strings.Contains(errOut, "UserDuplicateInOtherBatch") {
		t.Fatalf("duplicate user accepted: %d %s", code, errOut)
	}
	csv3 := dd.file(t, "three.csv", "EmailAddress,UserName,Password\nthird@contoso.com,t,p\n")
	if out, errOut, code := runCLI(t, env, "batch", "new", "--name", "wave3", "--endpoint", "old", "--tenant", "contoso", "--csv", csv3); code != 0 || !strings.Contains(out, "batch wave3 created") {
		t.Fatalf("batch new --name: %d %s %s", code, out, errOut)
	}
	if _, errOut, code := runCLI(t, env, "batch", "start", "wave1"); code != 0 {
		t.Fatalf("start: %s", errOut)
	}
	stopServe(t, d)

	startServe(t, cfg, addr)
	out, errOut, code = runCLI(t, env, "user", "list", "--batch", "wave1", "-o", "json")
	if code != 0 {
		t.Fatalf("user list: %s", errOut)
	}
	var users []map[string]any
	if err := json.Unmarshal([]byte(out), &users); err != nil {
		t.Fatalf("user list -o json: %v\n%s", err, out)
	}
	if len(users) != 4 {
		t.Fatalf("%d users after restart, want 4", len(users))
	}
	for _, u := range users {
		// Started before the restart: queued, or already tried (this test
		// has no reachable IMAP server or tenant secret).
		if s := u["Status"]; s == "Created" || s == nil {
			t.Errorf("user %v status %v after restart, want a started status", u["EmailAddress"], s)
		}
	}
	out, _, code = runCLI(t, env, "batch", "get", "wave1")
	if code != 0 || !strings.Contains(out, "TotalCount:") || !strings.Contains(out, "QueuedCount:") {
		t.Fatalf("batch get table: %s", out)
	}
	// Without the token the API refuses.
	resp, err := http.Get("http://" + addr + "/v1/batches")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %v %v", resp.StatusCode, err)
	}
}

func TestServe_ConfigBatchCreatedAtStart(t *testing.T) {
	dd := newDaemonDir(t, oldAndContoso+`batches:
  - {name: fromcfg, endpoint: old, tenant: contoso, csv: users.csv, autostart: true}
`)
	dd.file(t, "users.csv", csvRows(2))
	startServe(t, dd.cfg, dd.addr)
	out, errOut, code := runCLI(t, dd.env, "batch", "list", "-o", "json")
	if code != 0 {
		t.Fatal(errOut)
	}
	var bs []map[string]any
	json.Unmarshal([]byte(out), &bs)
	if len(bs) != 1 || bs[0]["Identity"] != "fromcfg" || bs[0]["TotalCount"] != float64(2) || bs[0]["Status"] == "Created" {
		t.Fatalf("batches: %s", out)
	}
}

func TestServe_SIGHUPCreatesNewConfigBatches(t *testing.T) {
	dd := newDaemonDir(t, oldAndContoso)
	dd.file(t, "users.csv", csvRows(3))
	base, cfg, env := dd.yaml, dd.cfg, dd.env
	d, logs := startServeLogs(t, cfg, dd.addr, []string{"TEST_CLIENT_SECRET=unused-test-secret"})
	if out, _, _ := runCLI(t, env, "batch", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("batches before reload: %s", out)
	}
	// An invalid config is refused on reload; the daemon keeps running.
	writeFile(t, cfg, base+"batches: [{name: bad, endpoint: nope, tenant: contoso, csv: users.csv}]\n")
	d.Process.Signal(syscall.SIGHUP)
	for deadline := time.Now().Add(time.Minute); !strings.Contains(logs.String(), "reload refused"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the invalid config's reload was not refused:\n%s", logs.String())
		}
	}
	writeFile(t, cfg, base+"batches: [{name: late, endpoint: old, tenant: contoso, csv: users.csv}]\n")
	d.Process.Signal(syscall.SIGHUP)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		out, _, code := runCLI(t, env, "batch", "get", "late", "-o", "json")
		if code == 0 {
			var v map[string]any
			json.Unmarshal([]byte(out), &v)
			if v["TotalCount"] != float64(3) || v["Status"] != "Created" {
				t.Fatalf("batch from reload: %s", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not create the new batch")
		}
	}
	if _, _, code := runCLI(t, env, "batch", "get", "bad"); code == 0 {
		t.Error("a batch from an invalid config was created")
	}
}
