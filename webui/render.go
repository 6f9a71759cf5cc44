package webui

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
)

// pages holds one template set per page, each the layout plus the page.
type pages struct {
	byName map[string]*template.Template
}

var funcs = template.FuncMap{
	"num":         fmtInt,
	"bytes":       fmtBytes,
	"time":        fmtTime,
	"statusClass": statusClass,
	"orDash":      orDash,
	"pathEscape":  url.PathEscape,
	"lower":       strings.ToLower,
	"int64":       func(i int) int64 { return int64(i) },
	"add":         func(a, b int64) int64 { return a + b },
	"timePtr":     func(t time.Time) *time.Time { return &t },
}

func mustParsePages() *pages {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range []string{"login", "batches", "batch", "user", "events", "confirm", "verify", "error"} {
		t := template.Must(template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html"))
		p.byName[name] = t
	}
	return p
}

// pageData is what every page template gets; each page fills its part.
type pageData struct {
	Title   string
	Nav     string // the active menu entry
	CSRF    string
	Flash   []flash
	LiveURL string // the JSON the page's figures are refreshed from

	Nonce, Error string // sign-in

	Batches []batchRow
	Batch   *batchRow
	Users   *userTable
	User    *userDetail
	Events  []model.Event
	EventOf string // the events page's batch ("" = all)
	Names   []string
	Confirm *confirmData
	Verify  *migrate.Verification
	Status  int
}

// render writes page name with data; a template error is a 500 and a log
// line, never a half page.
func (c *Console) render(w http.ResponseWriter, status int, name string, d pageData) {
	var buf bytes.Buffer
	if err := c.pages.byName[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		c.log.Error("console: page not rendered", "page", name, "err", err)
		http.Error(w, "page not rendered (see the daemon's log)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// base fills the fields every signed-in page has.
func base(s *session, title, nav string) pageData {
	return pageData{Title: title, Nav: nav, CSRF: s.csrf, Flash: s.takeFlash()}
}

// fail renders an error page for a query that failed (404 for an unknown
// batch or user).
func (c *Console) fail(w http.ResponseWriter, s *session, err error) {
	status := http.StatusInternalServerError
	if errorsIsNotFound(err) {
		status = http.StatusNotFound
	} else {
		c.log.Error("console: query failed", "err", err)
	}
	d := base(s, "Error", "")
	d.Error, d.Status = err.Error(), status
	c.render(w, status, "error", d)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// BatchActions are the batch page's buttons, in order.
func (pageData) BatchActions() []string { return BatchActions }

// ActionLabel is a batch action's button text.
func (pageData) ActionLabel(a string) string { return batchActions[a].Button }

// CountKeys are the batch page's counts by user status.
func (pageData) CountKeys() []string {
	return []string{"users", "active", "queued", "synced", "stopped", "failed", "completed", "stalled"}
}
