package deploy_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/imapmig/imapmig/migrate/config"
	"github.com/imapmig/imapmig/testenv/hosttool"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildOut  []byte
	buildErr  error
)

const stamp = "9.8.7-deploytest"

// release builds the daemon with deploy/build.sh once per test binary.
func release(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "imapmig-release-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "imapmig")
		cmd := exec.Command("sh", "build.sh", stamp)
		cmd.Env = append(os.Environ(), "OUT="+builtBin)
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("deploy/build.sh: %v\n%s", buildErr, buildOut)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// The release build is static, has no build paths, and `imapmig version`
// prints the stamped version.
func TestReleaseBuild_StaticTrimmedAndStamped(t *testing.T) {
	bin := release(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "imapmig "+stamp) {
		t.Errorf("imapmig version: %v %q, want it to name %s", err, out, stamp)
	}
	info, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, info)
	}
	for _, want := range []string{"build\t-trimpath=true", "build\tCGO_ENABLED=0"} {
		if !bytes.Contains(info, []byte(want)) {
			t.Errorf("build info lacks %q:\n%s", want, info)
		}
	}
	wd, _ := os.Getwd()
	if strings.Contains(string(readAll(t, bin)), filepath.Dir(wd)) {
		t.Errorf("the binary contains the build path %s (not trimmed)", filepath.Dir(wd))
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unitDirectives parses a unit file's Key=Value lines by section.
func unitDirectives(t *testing.T, text string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	section := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, _ := strings.Cut(line, "=")
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	return out
}

// The unit has the hardening the project promises, and systemd accepts it
// without a single warning. systemd-analyze verify needs ExecStart to
// exist, so a copy pointing at the release build is verified (the
// directives are otherwise unchanged). Its exposure (systemd-analyze
// security) must stay at or below 2.0 of 10.
func TestSystemdUnit_HardenedAndVerified(t *testing.T) {
	text := string(readAll(t, "imapmig.service"))
	d := unitDirectives(t, text)
	for key, want := range map[string]string{
		"Service.DynamicUser": "yes", "Service.StateDirectory": "imapmig", "Service.ProtectSystem": "strict",
		"Service.NoNewPrivileges": "yes", "Service.PrivateTmp": "yes", "Service.Restart": "on-failure",
		"Service.ExecReload": "/bin/kill -HUP $MAINPID", "Service.ProtectHome": "yes", "Service.CapabilityBoundingSet": "",
		"Service.ExecStart": "/usr/local/bin/imapmig serve --config /etc/imapmig/imapmig.yaml",
		"Install.WantedBy":  "multi-user.target",
	} {
		if got := d[key]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	analyze := hosttool.Need(t, "systemd", "systemd-analyze")
	dir := t.TempDir()
	unit := filepath.Join(dir, "imapmig.service")
	bin := release(t)
	copyText := strings.Replace(text, "ExecStart=/usr/local/bin/imapmig ", "ExecStart="+bin+" ", 1)
	if err := os.WriteFile(unit, []byte(copyText), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(analyze, unit); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	if out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=20", unit).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze security: exposure above 2.0: %v\n%s", err, out)
	} else if m := regexp.MustCompile(`Overall exposure level for imapmig.service: ([0-9.]+)`).FindSubmatch(out); m != nil {
		t.Logf("systemd-analyze security: exposure %s", m[1])
	}
}

// verify runs systemd-analyze verify; any output is a failure too (it
// exits 0 on unknown keys and bad values and only warns).
func verify(analyze, unit string) ([]byte, error) {
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err == nil && len(bytes.TrimSpace(out)) > 0 {
		err = errWarnings
	}
	return out, err
}

type warnErr struct{}

func (warnErr) Error() string { return "systemd-analyze printed warnings" }

var errWarnings error = warnErr{}

// The unit check can fail: an unknown key, a bad value, a missing binary.
func TestSystemdUnit_VerifyCatchesMistakes(t *testing.T) {
	analyze := hosttool.Need(t, "systemd", "systemd-analyze")
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown-key.service":    "[Service]\nExecStart=/bin/true\nProtectSystm=strict\n",
		"bad-value.service":      "[Service]\nExecStart=/bin/true\nProtectSystem=bogus\n",
		"missing-binary.service": "[Service]\nExecStart=/nonexistent/imapmig serve\n",
	} {
		unit := filepath.Join(dir, name)
		if err := os.WriteFile(unit, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := verify(analyze, unit); err == nil {
			t.Errorf("%s passed verify:\n%s", name, out)
		}
	}
	unit := filepath.Join(dir, "bare.service")
	os.WriteFile(unit, []byte("[Service]\nExecStart=/bin/true\n"), 0o644)
	if out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=20", unit).CombinedOutput(); err == nil {
		t.Errorf("an unhardened unit passed the exposure threshold:\n%s", out)
	}
}

// dockerfileStages splits a Dockerfile into stages of instructions
// (continuation lines joined, comments dropped).
func dockerfileStages(text string) [][]string {
	var stages [][]string
	var cur string
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "#") || (t == "" && cur == "") {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur += strings.TrimSuffix(t, "\\") + " "
			continue
		}
		ins := strings.TrimSpace(cur + t)
		cur = ""
		if ins == "" {
			continue
		}
		if strings.HasPrefix(strings.ToUpper(ins), "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], ins)
		}
	}
	return stages
}

// A STATIC check of the Dockerfile (no Docker engine on this machine, so
// the image is never built here): multi-stage, the binary built static
// (CGO_ENABLED=0), with -trimpath and the version stamped; the runtime
// stage has no Go toolchain, runs as a non-root USER and keeps its data in
// a VOLUME at the data_dir of deploy/imapmig.yaml.
func TestDockerfile_StaticCheck(t *testing.T) {
	stages := dockerfileStages(string(readAll(t, "../Dockerfile")))
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	build, final := strings.Join(stages[0], "\n"), stages[len(stages)-1]
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "./cmd/imapmig"} {
		if !strings.Contains(build, want) {
			t.Errorf("build stage lacks %q", want)
		}
	}
	if strings.Contains(final[0], "golang") {
		t.Errorf("the runtime stage is the Go image: %s", final[0])
	}
	var user, volume, copied string
	for _, ins := range final {
		f := strings.Fields(ins)
		switch strings.ToUpper(f[0]) {
		case "USER":
			user = f[1]
		case "VOLUME":
			volume = ins
		case "COPY":
			if strings.Contains(ins, "--from=") && strings.Contains(ins, "imapmig") {
				copied = ins
			}
		}
	}
	if u := strings.Split(user, ":")[0]; u == "" || u == "root" || u == "0" {
		t.Errorf("runtime USER %q, want a non-root user", user)
	}
	for _, path := range []string{"imapmig.yaml", "docker/imapmig.yaml"} {
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !strings.Contains(volume, cfg.DataDir) {
			t.Errorf("VOLUME %q is not the data_dir %s of deploy/%s", volume, cfg.DataDir, path)
		}
	}
	if copied == "" {
		t.Error("the runtime stage copies no binary from the build stage")
	}
}

// The check can fail: a single-stage Dockerfile running as root.
func TestDockerfile_StaticCheckCatchesASingleStageRootImage(t *testing.T) {
	stages := dockerfileStages("FROM golang:1.26\n# comment\nRUN go build \\\n  -o /x ./cmd/imapmig\nCMD [\"/x\"]\n")
	if len(stages) != 1 || len(stages[0]) != 3 || !strings.Contains(stages[0][1], "-o /x ./cmd/imapmig") {
		t.Fatalf("parsed %q", stages)
	}
}

// docker-compose.yml keeps its source-run services and adds `server`,
// built from the Dockerfile, with the state in a named volume.
func TestDockerCompose_ServerUsesTheImage(t *testing.T) {
	var dc struct {
		Services map[string]struct {
			Build struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Profiles []string `yaml:"profiles"`
			Volumes  []string `yaml:"volumes"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(readAll(t, "../docker-compose.yml"), &dc); err != nil {
		t.Fatal(err)
	}
	s, ok := dc.Services["server"]
	if !ok {
		t.Fatal("no service server")
	}
	if s.Build.Context != "." {
		t.Errorf("server builds %q, want the repository's Dockerfile (context .)", s.Build.Context)
	}
	var data bool
	for _, v := range s.Volumes {
		name, target, _ := strings.Cut(v, ":")
		if strings.HasPrefix(target, "/var/lib/imapmig") {
			_, declared := dc.Volumes[name]
			data = declared
		}
	}
	if !data {
		t.Errorf("server keeps no named volume at /var/lib/imapmig: %v", s.Volumes)
	}
	for _, name := range []string{"demo", "graph-emulator", "imapmig"} {
		if _, ok := dc.Services[name]; !ok {
			t.Errorf("service %s is gone", name)
		}
	}
}
