package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/httpapi"
)

func newAPIWithCSVDir(t *testing.T, dir string) *httpapi.Client {
	t.Helper()
	s := httpapi.NewServer(migrate.New(migrate.Options{Store: newStore(t)}), token, nil)
	s.SetCSVDir(dir)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &httpapi.Client{BaseURL: srv.URL, Token: token}
}

// TestAPI_CSVPathOnlyUnderCSVDir: CsvPath is read only under the daemon's
// csv_dir (relative or absolute, symbolic links followed); a file outside
// is refused with 400 naming csv_dir and never echoing the file's content;
// an uploaded Csv needs no path.
func TestAPI_CSVPathOnlyUnderCSVDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "csv")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(root, "shadow")
	if err := os.WriteFile(secret, []byte("root:SECRET-FIRST-LINE:19000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "wave1.csv"), []byte(csv3), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "link.csv")); err != nil {
		t.Fatal(err)
	}
	c := newAPIWithCSVDir(t, dir)
	body := func(name, path string) string {
		return `{"Name":"` + name + `","Endpoint":"old","Tenant":"contoso","CsvPath":` + jsonString(path) + `}`
	}
	for _, p := range []string{secret, "../shadow", filepath.Join(dir, "..", "shadow"), "link.csv", "/etc/passwd"} {
		st, eb, _ := raw(t, c, "POST", "/v1/batches", token, body("w", p))
		if st != http.StatusBadRequest || !strings.Contains(eb.Error.Message, "csv_dir") {
			t.Errorf("CsvPath %q: %d %+v", p, st, eb)
		}
		if strings.Contains(eb.Error.Message, "SECRET") || strings.Contains(eb.Error.Message, "root:") {
			t.Errorf("CsvPath %q: the error echoes the file: %q", p, eb.Error.Message)
		}
		st, eb, _ = raw(t, c, "POST", "/v1/batches/w/users", token, `{"CsvPath":`+jsonString(p)+`}`)
		if st != http.StatusBadRequest || strings.Contains(eb.Error.Message, "SECRET") {
			t.Errorf("add users CsvPath %q: %d %+v", p, st, eb)
		}
	}
	if st, eb, _ := raw(t, c, "POST", "/v1/batches", token, body("w1", "wave1.csv")); st != http.StatusOK {
		t.Fatalf("relative CsvPath under csv_dir: %d %+v", st, eb)
	}
	if err := os.WriteFile(filepath.Join(dir, "wave2.csv"), []byte("EmailAddress,UserName,Password\ndan@contoso.com,dan,P4ss!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, eb, _ := raw(t, c, "POST", "/v1/batches/w1/users", token, `{"CsvPath":`+jsonString(filepath.Join(dir, "wave2.csv"))+`}`); st != http.StatusOK {
		t.Fatalf("absolute CsvPath under csv_dir: %d %+v", st, eb)
	}
	up := `{"Name":"w2","Endpoint":"old","Tenant":"contoso","Csv":` + jsonString("EmailAddress,UserName,Password\neve@contoso.com,eve,P4ss!\n") + `,"CsvPath":"/somewhere/else.csv"}`
	if st, eb, _ := raw(t, c, "POST", "/v1/batches", token, up); st != http.StatusOK {
		t.Fatalf("uploaded Csv: %d %+v", st, eb)
	}

	// Without a csv_dir, no path is read at all.
	c0, _ := newAPI(t)
	if st, eb, _ := raw(t, c0, "POST", "/v1/batches", token, body("w", filepath.Join(dir, "wave1.csv"))); st != http.StatusBadRequest || !strings.Contains(eb.Error.Message, "Csv") {
		t.Errorf("no csv_dir: %d %+v", st, eb)
	}
}
