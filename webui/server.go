package webui

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
)

//go:embed templates/*.html static/*
var files embed.FS

// Engine is what the console needs of the engine: the queries and actions
// the JSON API offers too.
type Engine interface {
	Batches() ([]migrate.BatchView, error)
	Batch(name string) (migrate.BatchView, error)
	Users(batch string) ([]migrate.UserView, error)
	User(email string) (migrate.UserView, error)
	Skipped(email string) ([]model.SkippedItem, error)
	Events(batch string, n int) ([]model.Event, error)
	StartBatch(ctx context.Context, name string) error
	StopBatch(ctx context.Context, name string) error
	SyncNowBatch(ctx context.Context, name string) (int, error)
	CompleteBatch(ctx context.Context, name string) error
	ApproveBatch(ctx context.Context, name string) (int, error)
	SyncNowUser(ctx context.Context, email string) error
	ApproveSkipped(ctx context.Context, email string) (int, error)
	VerifyUser(ctx context.Context, email string) (*migrate.Verification, error)
}

// Options tune the console; zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// SampleEvery is how often Run reads the batches' figures for the
	// throughput charts (default 10 s; longer while a read is slow, see
	// Run); Keep is how long samples are kept (default 6 h).
	SampleEvery, Keep time.Duration
	// SessionIdle signs a session out after this long without a request
	// (default 12 h); SessionMax after this long in any case (default 7
	// days).
	SessionIdle, SessionMax time.Duration
	// Now is the clock (tests).
	Now func() time.Time
}

// Console is the web console's http.Handler, to be mounted at /ui/.
type Console struct {
	eng      Engine
	token    []byte
	log      *slog.Logger
	now      func() time.Time
	every    time.Duration
	sessions *sessions
	limiter  *signinLimiter
	samples  *Sampler
	cache    *batchCache
	pages    *pages
	mux      *http.ServeMux
	origin   *http.CrossOriginProtection
	static   http.Handler
}

// Prefix is where the console is mounted.
const Prefix = "/ui/"

// New returns the console over eng; token is the API token that signs in.
func New(eng Engine, token string, o Options) *Console {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = 10 * time.Second
	}
	if o.Keep <= 0 {
		o.Keep = 6 * time.Hour
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 12 * time.Hour
	}
	if o.SessionMax <= 0 {
		o.SessionMax = 7 * 24 * time.Hour
	}
	static, _ := fs.Sub(files, "static")
	c := &Console{
		eng: eng, token: []byte(token), log: o.Logger, now: o.Now, every: o.SampleEvery,
		sessions: newSessions(o.Now, o.SessionIdle, o.SessionMax),
		limiter:  newSigninLimiter(o.Now),
		samples:  NewSampler(o.Keep, o.SampleEvery),
		cache:    newBatchCache(o.Now),
		pages:    mustParsePages(),
		mux:      http.NewServeMux(),
		origin:   http.NewCrossOriginProtection(),
		static:   http.StripPrefix(Prefix+"static/", http.FileServerFS(static)),
	}
	c.routes()
	return c
}

// Samples is the console's throughput history.
func (c *Console) Samples() *Sampler { return c.samples }

// Run feeds the throughput charts until ctx ends: one sample of every
// batch's figures now and then every SampleEvery, or every twenty times
// what a sample took when that is longer (reading 50,000 users is not
// free, and the charts need no more than a twentieth of a core).
func (c *Console) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		c.SampleNow()
		t.Reset(sampleDelay(c.every, time.Since(start)))
	}
}

// sampleDelay is the wait before the next sample.
func sampleDelay(every, took time.Duration) time.Duration {
	return max(every, 20*took)
}

// SampleNow reads every batch's figures once into the sampler.
func (c *Console) SampleNow() {
	views, err := c.eng.Batches()
	if err != nil {
		c.log.Warn("console: batch figures not sampled", "err", err)
		return
	}
	c.samples.Add(c.now(), views)
}

func (c *Console) routes() {
	m := c.mux
	m.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"batches", http.StatusSeeOther)
	})
	m.HandleFunc("GET /ui/login", c.loginPage)
	m.HandleFunc("POST /ui/login", c.login)
	m.Handle("GET /ui/static/", c.static)

	// Everything below needs a session; POSTs need its CSRF token.
	m.Handle("POST /ui/logout", c.post(c.logout))
	m.Handle("GET /ui/batches", c.page(c.batchesPage))
	m.Handle("GET /ui/batches/{name}", c.page(c.batchPage))
	m.Handle("GET /ui/batches/{name}/confirm/{action}", c.page(c.confirmBatchPage))
	m.Handle("POST /ui/batches/{name}/{action}", c.post(c.batchAction))
	m.Handle("GET /ui/users/{email}", c.page(c.userPage))
	m.Handle("GET /ui/users/{email}/confirm/{action}", c.page(c.confirmUserPage))
	m.Handle("POST /ui/users/{email}/verify", c.post(c.verifyUser))
	m.Handle("POST /ui/users/{email}/{action}", c.post(c.userAction))
	m.Handle("GET /ui/events", c.page(c.eventsPage))
	m.Handle("GET /ui/live/batches", c.live(c.liveBatches))
	m.Handle("GET /ui/live/batches/{name}", c.live(c.liveBatch))
	m.Handle("GET /ui/live/users/{email}", c.live(c.liveUser))
}

// ServeHTTP implements http.Handler: security headers on every answer,
// then the console's routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if !strings.HasPrefix(r.URL.Path, Prefix+"static/") {
		h.Set("Cache-Control", "no-store")
	}
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// Go's cross-origin check (Sec-Fetch-Site / Origin) before any
		// state change, sign-in included; the CSRF token comes on top.
		if err := c.origin.Check(r); err != nil {
			c.log.Warn("console: cross-origin request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
	}
	c.mux.ServeHTTP(w, r)
}

// page wraps a GET page: without a session it redirects to sign-in.
func (c *Console) page(f func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.sessions.get(r)
		if s == nil {
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
			return
		}
		f(w, r, s)
	})
}

// live wraps a JSON endpoint: without a session it answers 401.
func (c *Console) live(f func(*http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.sessions.get(r) == nil {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "signed out"})
			return
		}
		start := time.Now()
		v, err := f(r)
		if l, ok := v.(*live); ok {
			// Ask for the next refresh after ten times what this one
			// cost: a huge batch is refreshed less often than a small one.
			l.Next = max(3000, min(60000, 10*time.Since(start).Milliseconds()))
		}
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, migrate.ErrNotFound) {
				status = http.StatusNotFound
			}
			writeJSON(w, status, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// post wraps a state-changing request: it needs a session and that
// session's CSRF token (form field "csrf" or header X-CSRF-Token).
func (c *Console) post(f func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		s := c.sessions.get(r)
		if s == nil {
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
			return
		}
		tok := r.Header.Get("X-CSRF-Token")
		if tok == "" {
			tok = r.PostFormValue("csrf")
		}
		if !s.checkCSRF(tok) {
			c.log.Warn("console: request without a valid CSRF token refused", "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
			return
		}
		f(w, r, s)
	})
}
