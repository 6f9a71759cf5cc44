package webui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"time"
)

const (
	sessionCookie = "imapmig_session"
	// loginCookie carries the one-time value the sign-in form repeats
	// (login CSRF: another site cannot sign a browser in to its session).
	loginCookie = "imapmig_login"
	// maxSessions bounds memory; the oldest session goes first.
	maxSessions = 1000
)

// session is one signed-in browser.
type session struct {
	id      string
	csrf    string
	created time.Time

	mu    sync.Mutex
	seen  time.Time
	flash []flash
}

// flash is a message shown once on the next page (an action's outcome).
type flash struct {
	Error bool
	Text  string
}

func (s *session) checkCSRF(tok string) bool {
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.csrf)) == 1
}

func (s *session) addFlash(isErr bool, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.flash) < 5 {
		s.flash = append(s.flash, flash{Error: isErr, Text: text})
	}
}

func (s *session) takeFlash() []flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flash
	s.flash = nil
	return f
}

type sessions struct {
	now       func() time.Time
	idle, max time.Duration
	mu        sync.Mutex
	byID      map[string]*session
}

func newSessions(now func() time.Time, idle, max time.Duration) *sessions {
	return &sessions{now: now, idle: idle, max: max, byID: map[string]*session{}}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("webui: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func (ss *sessions) create() *session {
	now := ss.now()
	s := &session{id: randomHex(32), csrf: randomHex(32), created: now, seen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= maxSessions {
		var oldest *session
		for _, x := range ss.byID {
			if oldest == nil || x.created.Before(oldest.created) {
				oldest = x
			}
		}
		delete(ss.byID, oldest.id)
	}
	ss.byID[s.id] = s
	return s
}

// get returns the request's live session, or nil.
func (ss *sessions) get(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[ck.Value]
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.seen) > ss.idle || now.Sub(s.created) > ss.max {
		delete(ss.byID, s.id)
		return nil
	}
	s.seen = now
	return s
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, id)
}

// count is the number of sessions held (tests).
func (ss *sessions) count() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.byID)
}

// cookie returns a console cookie: HttpOnly, SameSite=Strict, Secure when
// the request came over TLS, scoped to /ui/.
func cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode}
}

// signinLimiter refuses sign-in from an address after too many wrong
// tokens within a minute.
type signinLimiter struct {
	now   func() time.Time
	mu    sync.Mutex
	fails map[string][]time.Time
}

const maxSigninFailures = 10

func newSigninLimiter(now func() time.Time) *signinLimiter {
	return &signinLimiter{now: now, fails: map[string][]time.Time{}}
}

func clientHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// recent returns the failures of host in the last minute (and forgets
// older ones).
func (l *signinLimiter) recent(host string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	cut := l.now().Add(-time.Minute)
	kept := l.fails[host][:0]
	for _, t := range l.fails[host] {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(l.fails, host)
		return 0
	}
	l.fails[host] = kept
	return len(kept)
}

func (l *signinLimiter) fail(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > 10000 {
		clear(l.fails)
	}
	l.fails[host] = append(l.fails[host], l.now())
}

// loginPage shows the sign-in form with a fresh one-time value.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if c.sessions.get(r) != nil {
		http.Redirect(w, r, Prefix+"batches", http.StatusSeeOther)
		return
	}
	c.renderLogin(w, r, http.StatusOK, "")
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	nonce := randomHex(16)
	http.SetCookie(w, cookie(r, loginCookie, nonce, 600))
	c.render(w, status, "login", pageData{Title: "Sign in", Nonce: nonce, Error: msg})
}

// login checks the token and starts a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	host := clientHost(r)
	if c.limiter.recent(host) >= maxSigninFailures {
		c.log.Warn("console: sign-in refused, too many wrong tokens", "remote", host)
		c.renderLogin(w, r, http.StatusTooManyRequests, "Too many wrong tokens from this address; wait a minute.")
		return
	}
	ck, err := r.Cookie(loginCookie)
	nonce := r.PostFormValue("nonce")
	if err != nil || nonce == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(nonce)) != 1 {
		c.renderLogin(w, r, http.StatusForbidden, "The sign-in form expired; enter the token again.")
		return
	}
	tok := []byte(r.PostFormValue("token"))
	if len(c.token) == 0 || subtle.ConstantTimeCompare(tok, c.token) != 1 {
		c.limiter.fail(host)
		c.log.Warn("console: sign-in with a wrong token", "remote", host)
		c.renderLogin(w, r, http.StatusUnauthorized, "Wrong token.")
		return
	}
	s := c.sessions.create()
	http.SetCookie(w, cookie(r, loginCookie, "", -1))
	http.SetCookie(w, cookie(r, sessionCookie, s.id, 0))
	c.log.Info("console: signed in", "remote", host)
	http.Redirect(w, r, Prefix+"batches", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.remove(s.id)
	http.SetCookie(w, cookie(r, sessionCookie, "", -1))
	c.log.Info("console: signed out", "remote", clientHost(r))
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}
