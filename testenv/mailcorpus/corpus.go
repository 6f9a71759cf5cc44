package mailcorpus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ExtraEnv names folders of further messages (one file each, separated
// like PATH) that Load adds to the corpus, for a corpus that is not in a
// Go module.
const ExtraEnv = "IMAPMIG_EXTRA_CORPUS"

// Message is one corpus message.
type Message struct {
	// Name is the module (or "GOROOT") and the path inside it.
	Name string
	Raw  []byte
}

// Module is a Go module whose testdata holds mail.
type Module struct {
	Path, Version string
	// Dirs are the folders of the module that hold messages; Ext the file
	// name endings that are messages.
	Dirs []string
	Ext  []string
}

// Modules is the corpus: enmime's test mail (well-formed, malformed and
// its encoder's golden outputs).
var Modules = []Module{
	{Path: "github.com/jhillyerd/enmime/v2", Version: "v2.3.0",
		Dirs: []string{"testdata/mail", "testdata/parts", "testdata/low-quality", "testdata/encode"},
		Ext:  []string{".raw", ".golden"}},
}

// goTool is the go command (in PATH, or next to GOROOT's).
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// moduleDir downloads a module into the module cache and returns its
// directory.
func moduleDir(ctx context.Context, path, version string) (string, error) {
	out, err := exec.CommandContext(ctx, goTool(), "mod", "download", "-json", path+"@"+version).Output()
	if err != nil {
		var ee *exec.ExitError
		if ok := asExit(err, &ee); ok {
			return "", fmt.Errorf("go mod download %s@%s: %v: %s", path, version, err, ee.Stderr)
		}
		return "", fmt.Errorf("go mod download %s@%s: %w", path, version, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", err
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", path, version, info.Error)
	}
	return info.Dir, nil
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}

// goroot asks the go command for GOROOT.
func goroot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, goTool(), "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Load returns every corpus message, byte-identical duplicates removed, in
// a stable order.
func Load(ctx context.Context) ([]Message, error) {
	var out []Message
	seen := map[[32]byte]bool{}
	add := func(name string, raw []byte) {
		h := sha256.Sum256(raw)
		if len(bytes.TrimSpace(raw)) == 0 || seen[h] {
			return
		}
		seen[h] = true
		out = append(out, Message{Name: name, Raw: raw})
	}
	for _, m := range Modules {
		dir, err := moduleDir(ctx, m.Path, m.Version)
		if err != nil {
			return nil, err
		}
		for _, d := range m.Dirs {
			err := filepath.WalkDir(filepath.Join(dir, d), func(p string, e fs.DirEntry, err error) error {
				if err != nil || e.IsDir() || !hasExt(p, m.Ext) {
					return err
				}
				raw, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				add(m.Path+"@"+m.Version+"/"+filepath.ToSlash(rel), raw)
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	for _, d := range filepath.SplitList(os.Getenv(ExtraEnv)) {
		if d == "" {
			continue
		}
		files, err := filepath.Glob(filepath.Join(d, "*"))
		if err != nil {
			return nil, err
		}
		for _, p := range files {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				raw, err := os.ReadFile(p)
				if err != nil {
					return nil, err
				}
				add(p, raw)
			}
		}
	}
	root, err := goroot(ctx)
	if err != nil {
		return nil, err
	}
	nested := filepath.Join(root, "src", "mime", "multipart", "testdata", "nested-mime")
	raw, err := os.ReadFile(nested)
	if err != nil {
		return nil, err
	}
	add("GOROOT/src/mime/multipart/testdata/nested-mime", raw)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func hasExt(p string, exts []string) bool {
	for _, e := range exts {
		if strings.HasSuffix(p, e) {
			return true
		}
	}
	return false
}
