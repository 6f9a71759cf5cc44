package webui_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
	"github.com/imapmig/imapmig/testenv/logbuf"
	"github.com/imapmig/imapmig/webui"
)

const token = "console-test-token-5f1e"

// world is a real engine on a real store with one batch of users, and the
// console over it on a test server.
type world struct {
	t       testing.TB
	st      *state.Store
	eng     *migrate.Engine
	console *webui.Console
	srv     *httptest.Server
	logs    *logbuf.Buffer
}

func csvUsers(n int) string {
	var b strings.Builder
	b.WriteString("EmailAddress,UserName,Password\n")
	for i := range n {
		fmt.Fprintf(&b, "user%04d@contoso.com,login%04d,Secret-Pa55-%d\n", i, i, i)
	}
	return b.String()
}

func newWorld(t testing.TB, users int, tlsServer bool) *world {
	t.Helper()
	st := statetest.MustOpenWith(t, statetest.OldEndpoint, statetest.ContosoTenant)
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng := migrate.New(migrate.Options{Store: st, Logger: log})
	if _, err := eng.CreateBatch(context.Background(), migrate.BatchSpec{Name: "wave1", Endpoint: "old", Tenant: "contoso", CSV: []byte(csvUsers(users))}); err != nil {
		t.Fatal(err)
	}
	c := webui.New(eng, token, webui.Options{Logger: log})
	mux := http.NewServeMux()
	mux.Handle(webui.Prefix, c)
	var srv *httptest.Server
	if tlsServer {
		srv = httptest.NewTLSServer(mux)
	} else {
		srv = httptest.NewServer(mux)
	}
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if strings.Contains(logs.String(), token) {
			t.Error("the token is in the log")
		}
	})
	return &world{t: t, st: st, eng: eng, console: c, srv: srv, logs: logs}
}

// browser is an HTTP client with cookies that does not follow redirects.
func (w *world) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	hc := w.srv.Client()
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return hc
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (w *world) do(hc *http.Client, method, path string, form url.Values, hdr ...string) answer {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, w.srv.URL+path, body)
	if err != nil {
		w.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

var (
	nonceRe = regexp.MustCompile(`name="nonce" value="([0-9a-f]+)"`)
	csrfRe  = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
)

func field(t testing.TB, re *regexp.Regexp, page string) string {
	t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in page:\n%s", re, page)
	}
	return m[1]
}

// signIn signs hc in and returns the session's CSRF token.
func (w *world) signIn(hc *http.Client) string {
	w.t.Helper()
	a := w.do(hc, "GET", "/ui/login", nil)
	a = w.do(hc, "POST", "/ui/login", url.Values{"nonce": {field(w.t, nonceRe, a.body)}, "token": {token}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/batches" {
		w.t.Fatalf("sign-in: %d %s\n%s", a.status, a.header.Get("Location"), a.body)
	}
	a = w.do(hc, "GET", "/ui/batches", nil)
	if a.status != 200 {
		w.t.Fatalf("batches after sign-in: %d", a.status)
	}
	return field(w.t, csrfRe, a.body)
}

func sessionCookie(t *testing.T, h http.Header) *http.Cookie {
	t.Helper()
	for _, line := range h.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err == nil && ck.Name == "imapmig_session" && ck.Value != "" {
			return ck
		}
	}
	return nil
}

func TestConsole_SignInSessionCookieAndLogout(t *testing.T) {
	w := newWorld(t, 3, false)
	hc := w.browser()
	for _, p := range []string{"/ui/", "/ui/batches", "/ui/batches/wave1", "/ui/users/user0001@contoso.com", "/ui/events", "/ui/batches/wave1/confirm/stop"} {
		a := w.do(hc, "GET", p, nil)
		if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/ui/") {
			t.Errorf("GET %s without a session: %d → %q", p, a.status, a.header.Get("Location"))
		}
		if p != "/ui/" && a.header.Get("Location") != "/ui/login" {
			t.Errorf("GET %s without a session goes to %q, want the sign-in page", p, a.header.Get("Location"))
		}
	}
	if a := w.do(hc, "GET", "/ui/live/batches", nil); a.status != http.StatusUnauthorized {
		t.Errorf("live figures without a session: %d", a.status)
	}

	login := w.do(hc, "GET", "/ui/login", nil)
	nonce := field(t, nonceRe, login.body)
	a := w.do(hc, "POST", "/ui/login", url.Values{"nonce": {nonce}, "token": {"wrong-" + token}})
	if a.status != http.StatusUnauthorized || sessionCookie(t, a.header) != nil || !strings.Contains(a.body, "Wrong token") {
		t.Fatalf("wrong token: %d, cookie %v", a.status, sessionCookie(t, a.header))
	}
	// A sign-in without the form's own cookie (another site posting the
	// token form) is refused even with the right token.
	bare := w.browser()
	a = w.do(bare, "POST", "/ui/login", url.Values{"nonce": {nonce}, "token": {token}})
	if a.status != http.StatusForbidden || sessionCookie(t, a.header) != nil {
		t.Fatalf("sign-in without the form cookie: %d", a.status)
	}

	login = w.do(hc, "GET", "/ui/login", nil)
	a = w.do(hc, "POST", "/ui/login", url.Values{"nonce": {field(t, nonceRe, login.body)}, "token": {token}})
	ck := sessionCookie(t, a.header)
	if a.status != http.StatusSeeOther || ck == nil {
		t.Fatalf("sign-in: %d, cookie %v", a.status, ck)
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/ui/" || len(ck.Value) < 32 {
		t.Errorf("session cookie over plain HTTP: %+v", ck)
	}

	page := w.do(hc, "GET", "/ui/batches", nil)
	if page.status != 200 || !strings.Contains(page.body, `href="/ui/batches/wave1"`) {
		t.Fatalf("batches page: %d\n%s", page.status, page.body)
	}
	if strings.Contains(page.body, token) {
		t.Error("the token is in the page")
	}
	csrf := field(t, csrfRe, page.body)

	// Logout needs the CSRF token too.
	if a := w.do(hc, "POST", "/ui/logout", url.Values{}); a.status != http.StatusForbidden {
		t.Errorf("logout without CSRF token: %d", a.status)
	}
	a = w.do(hc, "POST", "/ui/logout", url.Values{"csrf": {csrf}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/login" {
		t.Fatalf("logout: %d %s", a.status, a.header.Get("Location"))
	}
	// The old cookie is worthless afterwards, even replayed.
	replay := w.browser()
	u, _ := url.Parse(w.srv.URL + "/ui/")
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/ui/"}})
	if a := w.do(replay, "GET", "/ui/batches", nil); a.status != http.StatusSeeOther {
		t.Errorf("old session cookie after logout: %d", a.status)
	}
	if a := w.do(hc, "GET", "/ui/batches", nil); a.status != http.StatusSeeOther {
		t.Errorf("after logout: %d", a.status)
	}
}

func TestConsole_SessionCookieIsSecureOverTLS(t *testing.T) {
	w := newWorld(t, 1, true)
	hc := w.browser()
	login := w.do(hc, "GET", "/ui/login", nil)
	a := w.do(hc, "POST", "/ui/login", url.Values{"nonce": {field(t, nonceRe, login.body)}, "token": {token}})
	ck := sessionCookie(t, a.header)
	if ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie over TLS: %+v", ck)
	}
	if a.header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
}

func TestConsole_WrongTokensAreLimited(t *testing.T) {
	w := newWorld(t, 1, false)
	hc := w.browser()
	last := 0
	for range 12 {
		login := w.do(hc, "GET", "/ui/login", nil)
		last = w.do(hc, "POST", "/ui/login", url.Values{"nonce": {field(t, nonceRe, login.body)}, "token": {"guess"}}).status
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("12th wrong token: %d, want 429", last)
	}
	// Even the right token waits now.
	login := w.do(hc, "GET", "/ui/login", nil)
	if a := w.do(hc, "POST", "/ui/login", url.Values{"nonce": {field(t, nonceRe, login.body)}, "token": {token}}); a.status != http.StatusTooManyRequests {
		t.Fatalf("right token while limited: %d", a.status)
	}
}

// Every state-changing request needs the session's CSRF token and a
// same-origin browser; without either nothing changes.
func TestConsole_CSRFOnEveryPost(t *testing.T) {
	w := newWorld(t, 2, false)
	hc := w.browser()
	csrf := w.signIn(hc)
	posts := []string{
		"/ui/batches/wave1/start", "/ui/batches/wave1/stop", "/ui/batches/wave1/syncnow", "/ui/batches/wave1/complete",
		"/ui/batches/wave1/approve", "/ui/users/user0001@contoso.com/syncnow", "/ui/users/user0001@contoso.com/approve",
		"/ui/users/user0001@contoso.com/verify", "/ui/logout",
	}
	for _, p := range posts {
		for name, tc := range map[string]struct {
			form url.Values
			hdr  []string
		}{
			"no token":     {url.Values{}, nil},
			"wrong token":  {url.Values{"csrf": {strings.Repeat("0", len(csrf))}}, nil},
			"cross-site":   {url.Values{"csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
			"other origin": {url.Values{"csrf": {csrf}}, []string{"Origin", "https://evil.example"}},
		} {
			if a := w.do(hc, "POST", p, tc.form, tc.hdr...); a.status != http.StatusForbidden {
				t.Errorf("POST %s with %s: %d, want 403", p, name, a.status)
			}
		}
	}
	b, err := w.eng.Batch("wave1")
	if err != nil || b.Status != model.BatchCreated {
		t.Fatalf("batch changed by refused requests: %v %v", b.Status, err)
	}
	// The header works as well as the field.
	a := w.do(hc, "POST", "/ui/batches/wave1/start", url.Values{}, "X-CSRF-Token", csrf)
	if a.status != http.StatusSeeOther {
		t.Fatalf("start with the CSRF header: %d %s", a.status, a.body)
	}
	if b, _ := w.eng.Batch("wave1"); b.Status != model.BatchSyncing {
		t.Fatalf("batch after start: %s", b.Status)
	}
	// A session's token is not another session's.
	other := w.browser()
	w.signIn(other)
	if a := w.do(other, "POST", "/ui/batches/wave1/stop", url.Values{"csrf": {csrf}}); a.status != http.StatusForbidden {
		t.Errorf("another session's CSRF token: %d", a.status)
	}
}

// Pages carry a strict CSP and nothing it would block: no inline script,
// no inline style, no event-handler attribute.
func TestConsole_CSPAndNoInlineCode(t *testing.T) {
	w := newWorld(t, 3, false)
	if _, err := w.st.AddSkipped("user0001@contoso.com", model.SkippedItem{Folder: "INBOX", UID: 7, Subject: "big one", Size: 50 << 20, Reason: "MessageTooLarge"}); err != nil {
		t.Fatal(err)
	}
	hc := w.browser()
	w.signIn(hc)
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>[^<]|<script>|\sstyle=|\son[a-z]+=|javascript:`)
	for _, p := range []string{"/ui/login", "/ui/batches", "/ui/batches/wave1", "/ui/users/user0001@contoso.com", "/ui/events",
		"/ui/batches/wave1/confirm/stop", "/ui/users/user0001@contoso.com/confirm/approve", "/ui/batches/nope"} {
		a := w.do(hc, "GET", p, nil)
		csp := a.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", p, a.header)
		}
		if m := inline.FindString(a.body); m != "" {
			t.Errorf("%s: inline code %q", p, m)
		}
	}
	if a := w.do(hc, "GET", "/ui/batches/nope", nil); a.status != http.StatusNotFound {
		t.Errorf("unknown batch: %d", a.status)
	}
	if a := w.do(hc, "GET", "/ui/static/console.js", nil); a.status != 200 || !strings.Contains(a.header.Get("Content-Type"), "javascript") {
		t.Errorf("script: %d %s", a.status, a.header.Get("Content-Type"))
	}
}

// Text from mail and from the store is escaped: a subject with markup
// shows as text.
func TestConsole_StoredTextIsEscaped(t *testing.T) {
	w := newWorld(t, 2, false)
	evil := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	if _, err := w.st.AddSkipped("user0001@contoso.com", model.SkippedItem{Folder: "INBOX&<blink>", UID: 9, Subject: evil, Size: 1, Reason: "MessageTooLarge", Message: evil}); err != nil {
		t.Fatal(err)
	}
	if err := w.st.AppendEvent("wave1", model.Event{User: "user0001@contoso.com", Level: "warn", Message: evil}); err != nil {
		t.Fatal(err)
	}
	hc := w.browser()
	w.signIn(hc)
	for _, p := range []string{"/ui/users/user0001@contoso.com", "/ui/events", "/ui/events?batch=wave1"} {
		a := w.do(hc, "GET", p, nil)
		if a.status != 200 {
			t.Fatalf("%s: %d", p, a.status)
		}
		if strings.Contains(a.body, "<script>alert") || strings.Contains(a.body, "<img src=x") || strings.Contains(a.body, "<blink>") {
			t.Errorf("%s: markup from the store is not escaped", p)
		}
		if !strings.Contains(a.body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
			t.Errorf("%s: the escaped text is missing", p)
		}
	}
}

// The users table is paged, sorted and filtered on the server: the page
// holds its rows only.
func TestConsole_UsersTablePagedSortedFilteredOnServer(t *testing.T) {
	w := newWorld(t, 250, false)
	hc := w.browser()
	w.signIn(hc)
	rows := regexp.MustCompile(`<tr data-user="([^"]+)">`)
	users := func(q string) []string {
		a := w.do(hc, "GET", "/ui/batches/wave1"+q, nil)
		if a.status != 200 {
			t.Fatalf("batch page %s: %d", q, a.status)
		}
		var out []string
		for _, m := range rows.FindAllStringSubmatch(a.body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	first := users("")
	if len(first) != 100 || first[0] != "user0000@contoso.com" || first[99] != "user0099@contoso.com" {
		t.Fatalf("page 1: %d rows, %v … ", len(first), first[:min(3, len(first))])
	}
	p3 := users("?page=3")
	if len(p3) != 50 || p3[0] != "user0200@contoso.com" {
		t.Fatalf("page 3: %d rows from %v", len(p3), p3[:1])
	}
	desc := users("?sort=email&dir=desc&size=50")
	if len(desc) != 50 || desc[0] != "user0249@contoso.com" {
		t.Fatalf("descending: %d rows from %v", len(desc), desc[:1])
	}
	if got := users("?q=LOGIN012"); len(got) != 10 || got[0] != "user0120@contoso.com" {
		t.Fatalf("text filter on the login: %v", got)
	}
	if got := users("?status=failed"); len(got) != 0 {
		t.Fatalf("status filter failed: %v", got)
	}
	if got := users("?status=queued&q=user02"); len(got) != 50 {
		t.Fatalf("created users count as queued: %d", len(got))
	}
	if got := users("?score=none&page=99"); len(got) != 50 || got[0] != "user0200@contoso.com" {
		t.Fatalf("a page past the end shows the last page: %d rows", len(got))
	}
}

func TestConsole_BatchActionsConfirmThenActAndSayWhatHappened(t *testing.T) {
	w := newWorld(t, 2, false)
	hc := w.browser()
	csrf := w.signIn(hc)
	a := w.do(hc, "GET", "/ui/batches/wave1/confirm/stop", nil)
	if a.status != 200 || !strings.Contains(a.body, "Stop batch wave1?") || !strings.Contains(a.body, `action="/ui/batches/wave1/stop"`) {
		t.Fatalf("confirm page: %d\n%s", a.status, a.body)
	}
	if b, _ := w.eng.Batch("wave1"); b.Status != model.BatchCreated {
		t.Fatal("the confirmation page acted")
	}
	// Stop on a batch that never started is refused by the engine; the
	// page says so.
	a = w.do(hc, "POST", "/ui/batches/wave1/stop", url.Values{"csrf": {csrf}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/batches/wave1" {
		t.Fatalf("stop: %d %s", a.status, a.header.Get("Location"))
	}
	page := w.do(hc, "GET", "/ui/batches/wave1", nil)
	if !strings.Contains(page.body, "Stop refused") || !strings.Contains(page.body, "Created") {
		t.Errorf("refused stop not shown:\n%s", page.body)
	}
	w.do(hc, "POST", "/ui/batches/wave1/start", url.Values{"csrf": {csrf}})
	page = w.do(hc, "GET", "/ui/batches/wave1", nil)
	if !strings.Contains(page.body, "Batch wave1 started.") {
		t.Errorf("start not confirmed on the page")
	}
	if b, _ := w.eng.Batch("wave1"); b.Status != model.BatchSyncing {
		t.Errorf("after start: %s", b.Status)
	}
	// The message is shown once.
	if page = w.do(hc, "GET", "/ui/batches/wave1", nil); strings.Contains(page.body, "Batch wave1 started.") {
		t.Error("the outcome is shown twice")
	}
	if a := w.do(hc, "POST", "/ui/batches/wave1/explode", url.Values{"csrf": {csrf}}); a.status != http.StatusNotFound {
		t.Errorf("unknown action: %d", a.status)
	}
}

func TestConsole_UserPageShowsSkippedAndApproves(t *testing.T) {
	w := newWorld(t, 2, false)
	email := "user0001@contoso.com"
	if _, err := w.st.AddSkipped(email, model.SkippedItem{Folder: "INBOX", UID: 7, Subject: "Quarterly scan", Size: 50 << 20, Reason: "MessageTooLarge", Message: "52 MB is over the 35 MB limit"}); err != nil {
		t.Fatal(err)
	}
	hc := w.browser()
	csrf := w.signIn(hc)
	page := w.do(hc, "GET", "/ui/users/"+email, nil)
	for _, want := range []string{"Quarterly scan", "MessageTooLarge", "50.0 MB", "Approve skipped (1)", "1 · 1 not approved"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("user page lacks %q", want)
		}
	}
	a := w.do(hc, "POST", "/ui/users/"+email+"/approve", url.Values{"csrf": {csrf}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("approve: %d", a.status)
	}
	items, _ := w.eng.Skipped(email)
	if len(items) != 1 || !items[0].Approved {
		t.Fatalf("after approve: %+v", items)
	}
	page = w.do(hc, "GET", "/ui/users/"+email, nil)
	if !strings.Contains(page.body, "1 skipped items of "+email+" approved.") || strings.Contains(page.body, "Approve skipped (") {
		t.Errorf("after approve the page shows:\n%s", page.body)
	}
	if a := w.do(hc, "GET", "/ui/users/nobody@contoso.com", nil); a.status != http.StatusNotFound {
		t.Errorf("unknown user: %d", a.status)
	}
}

func TestConsole_LiveFiguresAndChart(t *testing.T) {
	w := newWorld(t, 3, false)
	hc := w.browser()
	w.signIn(hc)
	w.console.SampleNow()
	a := w.do(hc, "GET", "/ui/live/batches", nil)
	if a.status != 200 || !strings.Contains(a.body, `"b:wave1:status":"Created"`) || !strings.Contains(a.body, `"b:wave1:users":"3"`) {
		t.Fatalf("live batches: %d %s", a.status, a.body)
	}
	a = w.do(hc, "GET", "/ui/live/batches/wave1?sort=email&dir=desc&size=50", nil)
	if a.status != 200 || !strings.Contains(a.body, `"u:user0002@contoso.com:status":"Created"`) || !strings.Contains(a.body, `"b:wave1:chart-items"`) {
		t.Fatalf("live batch: %d %s", a.status, a.body)
	}
	if a := w.do(hc, "GET", "/ui/live/users/user0001@contoso.com", nil); a.status != 200 || !strings.Contains(a.body, `"u:user0001@contoso.com:items":"0 / 0"`) {
		t.Fatalf("live user: %d %s", a.status, a.body)
	}
	if a := w.do(hc, "GET", "/ui/live/batches/nope", nil); a.status != http.StatusNotFound {
		t.Fatalf("live unknown batch: %d", a.status)
	}
}

func TestConsole_EventsPage(t *testing.T) {
	w := newWorld(t, 1, false)
	if err := w.st.AppendEvent("wave1", model.Event{At: time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC), User: "user0000@contoso.com", Level: "error", Message: "login failed: AUTHENTICATIONFAILED"}); err != nil {
		t.Fatal(err)
	}
	hc := w.browser()
	w.signIn(hc)
	for _, p := range []string{"/ui/events", "/ui/events?batch=wave1"} {
		a := w.do(hc, "GET", p, nil)
		if a.status != 200 || !strings.Contains(a.body, "login failed: AUTHENTICATIONFAILED") || !strings.Contains(a.body, "2026-11-30 09:15") {
			t.Errorf("%s: %d", p, a.status)
		}
	}
	if a := w.do(hc, "GET", "/ui/events?batch=nope", nil); a.status != http.StatusNotFound {
		t.Errorf("events of an unknown batch: %d", a.status)
	}
}
