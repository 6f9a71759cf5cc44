package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/imapmig/imapmig/csvbatch"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/config"
	"github.com/imapmig/imapmig/migrate/model"
)

// MaxCSVUpload bounds a CSV sent in a create request (the CSV limit plus
// JSON overhead).
const MaxCSVUpload = csvbatch.MaxBytes*2 + 64<<10

// Engine is what the API needs of the engine.
type Engine interface {
	CreateBatch(ctx context.Context, spec migrate.BatchSpec) (*migrate.CreateResult, error)
	AddUsers(ctx context.Context, batch string, csv []byte, csvPath string, skipInvalid bool) (*migrate.CreateResult, error)
	Batch(name string) (migrate.BatchView, error)
	Batches() ([]migrate.BatchView, error)
	StartBatch(ctx context.Context, name string) error
	StopBatch(ctx context.Context, name string) error
	SyncNowBatch(ctx context.Context, name string) (int, error)
	CompleteBatch(ctx context.Context, name string) error
	RemoveBatch(ctx context.Context, name string) error
	ApproveBatch(ctx context.Context, name string) (int, error)
	Users(batch string) ([]migrate.UserView, error)
	User(email string) (migrate.UserView, error)
	SyncNowUser(ctx context.Context, email string) error
	StopUser(ctx context.Context, email string) error
	RemoveUser(ctx context.Context, email string) error
	Skipped(email string) ([]model.SkippedItem, error)
	ApproveSkipped(ctx context.Context, email string) (int, error)
	Events(batch string, n int) ([]model.Event, error)
	Endpoints() ([]model.Endpoint, error)
	TestEndpoint(ctx context.Context, name, email string) (*migrate.EndpointTest, error)
	TestEndpointLogin(ctx context.Context, name string, login migrate.Login) (*migrate.EndpointTest, error)
	SetBatchOptions(ctx context.Context, name string, p migrate.BatchOptionsPatch) (migrate.BatchView, error)
	Stats() (migrate.Stats, error)
	VerifyUser(ctx context.Context, email string) (*migrate.Verification, error)
}

// Server is the API's http.Handler.
type Server struct {
	eng   Engine
	token []byte
	log   *slog.Logger
	mux   *http.ServeMux
	// csvDir is where a request's CsvPath may point (SetCSVDir).
	csvDir atomic.Pointer[string]
	// cutover serves the cutover endpoints and guards complete (SetCutover).
	cutover Cutover
}

// NewServer returns the API over eng, requiring token.
func NewServer(eng Engine, token string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{eng: eng, token: []byte(token), log: log, mux: http.NewServeMux()}
	s.routes()
	return s
}

// CreateBatchRequest is the body of POST /v1/batches. The users come from
// Csv (the file's content, uploaded) or CsvPath (a file under the daemon's
// csv_dir, read by the daemon); with both, Csv is read and CsvPath only
// recorded.
type CreateBatchRequest struct {
	Name            string             `json:"Name"`
	Endpoint        string             `json:"Endpoint"`
	Tenant          string             `json:"Tenant"`
	CSVPath         string             `json:"CsvPath,omitempty"`
	CSV             string             `json:"Csv,omitempty"`
	Autostart       bool               `json:"AutoStart"`
	SkipInvalidRows bool               `json:"SkipInvalidRows"`
	Options         model.BatchOptions `json:"Options"`
}

// AddUsersRequest is the body of POST /v1/batches/{name}/users.
type AddUsersRequest struct {
	CSVPath         string `json:"CsvPath,omitempty"`
	CSV             string `json:"Csv,omitempty"`
	SkipInvalidRows bool   `json:"SkipInvalidRows"`
}

// TestEndpointRequest is the optional body of POST
// /v1/endpoints/{name}/test: log in with these credentials instead of a
// migration user's (before any batch exists). The password is used for the
// one login and never stored or logged.
type TestEndpointRequest struct {
	UserName string `json:"UserName"`
	Password string `json:"Password"`
	UserRoot string `json:"UserRoot,omitempty"`
}

// String never shows the password.
func (r TestEndpointRequest) String() string {
	return "TestEndpointRequest{UserName:" + r.UserName + "}"
}

// SetBatchRequest is the body of PATCH /v1/batches/{name}: the options to
// change (absent ones stay). Durations are written like "24h" or "1d",
// times as RFC 3339 or YYYY-MM-DD ("" clears a time).
type SetBatchRequest struct {
	ExcludeFolders      *[]string `json:"ExcludeFolders,omitempty"`
	IncludeFolders      *[]string `json:"IncludeFolders,omitempty"`
	NotificationEmails  *[]string `json:"NotificationEmails,omitempty"`
	SyncInterval        *string   `json:"SyncInterval,omitempty"`
	ReceivedAfter       *string   `json:"ReceivedAfter,omitempty"`
	StartAfter          *string   `json:"StartAfter,omitempty"`
	CompleteAfter       *string   `json:"CompleteAfter,omitempty"`
	MigrateDeletedItems *bool     `json:"MigrateDeletedItems,omitempty"`
}

func (r SetBatchRequest) patch() (migrate.BatchOptionsPatch, error) {
	p := migrate.BatchOptionsPatch{ExcludeFolders: r.ExcludeFolders, IncludeFolders: r.IncludeFolders,
		NotificationEmails: r.NotificationEmails, MigrateDeletedItems: r.MigrateDeletedItems}
	if r.SyncInterval != nil {
		d, err := config.ParseDuration(*r.SyncInterval)
		if err != nil {
			return p, fmt.Errorf("SyncInterval: %w", err)
		}
		if d < time.Minute {
			return p, fmt.Errorf("SyncInterval: must be at least 1m, got %s", d)
		}
		p.SyncInterval = &d
	}
	for key, v := range map[string]struct {
		in  *string
		out **time.Time
	}{"ReceivedAfter": {r.ReceivedAfter, &p.ReceivedAfter}, "StartAfter": {r.StartAfter, &p.StartAfter}, "CompleteAfter": {r.CompleteAfter, &p.CompleteAfter}} {
		if v.in == nil {
			continue
		}
		t, err := config.ParseTime(*v.in)
		if err != nil {
			return p, fmt.Errorf("%s: %w", key, err)
		}
		*v.out = &t
	}
	if p.Empty() {
		return p, fmt.Errorf("nothing to change")
	}
	return p, nil
}

// CountResult answers actions that touch several users.
type CountResult struct {
	Count int `json:"Count"`
}

// routes registers /healthz and the JSON API: every route but /healthz
// needs the token.
func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	h := func(pattern string, f func(*http.Request) (any, error)) {
		m.Handle(pattern, s.auth(func(w http.ResponseWriter, r *http.Request) {
			v, err := f(r)
			if err != nil {
				s.writeErr(w, r, err)
				return
			}
			if v == nil {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			writeJSON(w, http.StatusOK, v)
		}))
	}
	s.batchRoutes(h)
	s.userRoutes(h)
	s.endpointRoutes(h)
	s.cutoverRoutes(h)
}

// handle registers a JSON route that needs the token.
type handle = func(pattern string, f func(*http.Request) (any, error))

// batchRoutes registers /v1/batches.
func (s *Server) batchRoutes(h handle) {
	h("GET /v1/batches", func(r *http.Request) (any, error) { return s.eng.Batches() })
	h("POST /v1/batches", s.createBatch)
	h("GET /v1/batches/{name}", func(r *http.Request) (any, error) { return s.eng.Batch(r.PathValue("name")) })
	h("DELETE /v1/batches/{name}", func(r *http.Request) (any, error) {
		return nil, s.eng.RemoveBatch(r.Context(), r.PathValue("name"))
	})
	h("POST /v1/batches/{name}/start", func(r *http.Request) (any, error) {
		return nil, s.eng.StartBatch(r.Context(), r.PathValue("name"))
	})
	h("POST /v1/batches/{name}/stop", func(r *http.Request) (any, error) {
		return nil, s.eng.StopBatch(r.Context(), r.PathValue("name"))
	})
	h("POST /v1/batches/{name}/syncnow", func(r *http.Request) (any, error) {
		n, err := s.eng.SyncNowBatch(r.Context(), r.PathValue("name"))
		return CountResult{n}, err
	})
	h("POST /v1/batches/{name}/complete", s.completeBatch) // cutover.go: MX guard unless Force
	h("POST /v1/batches/{name}/approve", func(r *http.Request) (any, error) {
		n, err := s.eng.ApproveBatch(r.Context(), r.PathValue("name"))
		return CountResult{n}, err
	})
	h("GET /v1/batches/{name}/users", func(r *http.Request) (any, error) { return s.eng.Users(r.PathValue("name")) })
	h("PATCH /v1/batches/{name}", s.setBatch)
	h("POST /v1/batches/{name}/users", s.addUsers)
	h("GET /v1/batches/{name}/events", func(r *http.Request) (any, error) {
		n, _ := strconv.Atoi(r.URL.Query().Get("last"))
		if n <= 0 {
			n = 100
		}
		return s.eng.Events(r.PathValue("name"), n)
	})
}

// userRoutes registers /v1/users.
func (s *Server) userRoutes(h handle) {
	h("GET /v1/users", func(r *http.Request) (any, error) { return s.eng.Users(r.URL.Query().Get("batch")) })
	h("GET /v1/users/{email}", func(r *http.Request) (any, error) { return s.eng.User(r.PathValue("email")) })
	h("DELETE /v1/users/{email}", func(r *http.Request) (any, error) {
		return nil, s.eng.RemoveUser(r.Context(), r.PathValue("email"))
	})
	h("POST /v1/users/{email}/syncnow", func(r *http.Request) (any, error) {
		return nil, s.eng.SyncNowUser(r.Context(), r.PathValue("email"))
	})
	h("POST /v1/users/{email}/stop", func(r *http.Request) (any, error) {
		return nil, s.eng.StopUser(r.Context(), r.PathValue("email"))
	})
	h("GET /v1/users/{email}/skipped", func(r *http.Request) (any, error) {
		items, err := s.eng.Skipped(r.PathValue("email"))
		if items == nil {
			items = []model.SkippedItem{}
		}
		return items, err
	})
	h("POST /v1/users/{email}/approve", func(r *http.Request) (any, error) {
		n, err := s.eng.ApproveSkipped(r.Context(), r.PathValue("email"))
		return CountResult{n}, err
	})
	h("POST /v1/users/{email}/verify", func(r *http.Request) (any, error) {
		return s.eng.VerifyUser(r.Context(), r.PathValue("email"))
	})
}

// endpointRoutes registers /v1/endpoints and /v1/stats.
func (s *Server) endpointRoutes(h handle) {
	h("GET /v1/endpoints", func(r *http.Request) (any, error) { return s.eng.Endpoints() })
	h("POST /v1/endpoints/{name}/test", s.testEndpoint)
	h("GET /v1/stats", func(r *http.Request) (any, error) { return s.eng.Stats() })
}

// createBatch answers POST /v1/batches: a batch from an uploaded CSV or a CsvPath under csv_dir.
func (s *Server) createBatch(r *http.Request) (any, error) {
	var req CreateBatchRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	spec := migrate.BatchSpec{Name: req.Name, Endpoint: req.Endpoint, Tenant: req.Tenant, CSVPath: req.CSVPath,
		Options: req.Options, Autostart: req.Autostart, SkipInvalidRows: req.SkipInvalidRows}
	if req.CSV != "" {
		spec.CSV = []byte(req.CSV)
	} else if req.CSVPath != "" {
		p, err := s.checkCSVPath(req.CSVPath)
		if err != nil {
			return nil, err
		}
		spec.CSVPath = p
	}
	res, err := s.eng.CreateBatch(r.Context(), spec)
	return res, withEchoes(err, req.Name, req.Endpoint, req.Tenant, req.CSVPath)
}

// setBatch answers PATCH /v1/batches/NAME: changes only the options given.
func (s *Server) setBatch(r *http.Request) (any, error) {
	var req SetBatchRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	p, err := req.patch()
	if err != nil {
		return nil, &badRequest{err.Error()}
	}
	return s.eng.SetBatchOptions(r.Context(), r.PathValue("name"), p)
}

// addUsers answers POST /v1/batches/NAME/users: more users from a CSV.
func (s *Server) addUsers(r *http.Request) (any, error) {
	var req AddUsersRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	var csv []byte
	path := req.CSVPath
	if req.CSV != "" {
		csv = []byte(req.CSV)
	} else {
		if path == "" {
			return nil, &badRequest{"want the CSV's content in Csv (or a CsvPath under the daemon's csv_dir)"}
		}
		p, err := s.checkCSVPath(path)
		if err != nil {
			return nil, err
		}
		path = p
	}
	res, err := s.eng.AddUsers(r.Context(), r.PathValue("name"), csv, path, req.SkipInvalidRows)
	return res, withEchoes(err, req.CSVPath)
}

// testEndpoint answers POST /v1/endpoints/NAME/test, with a user's login when one is given.
func (s *Server) testEndpoint(r *http.Request) (any, error) {
	var req TestEndpointRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.UserName != "" {
		res, err := s.eng.TestEndpointLogin(r.Context(), r.PathValue("name"),
			migrate.Login{UserName: req.UserName, Password: req.Password, UserRoot: req.UserRoot})
		return res, withEchoes(err, req.UserName, req.UserRoot)
	}
	return s.eng.TestEndpoint(r.Context(), r.PathValue("name"), r.URL.Query().Get("user"))
}

// ServeHTTP implements http.Handler.
// Every answer but /healthz needs the token first (401 before 404 or 405),
// and every error is the JSON ErrorBody, the mux's own 404 and 405 too.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.log.Debug("api", "method", r.Method, "path", r.URL.Path, "status", sw.status, "dur", time.Since(start))
	}()
	if r.URL.Path != "/healthz" && !s.authorized(r) {
		s.unauthorized(sw)
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// Not found or method not allowed: keep the mux's status and
		// Allow header, answer in JSON.
		rec := &headerRecorder{h: http.Header{}}
		h.ServeHTTP(rec, r)
		if allow := rec.h.Get("Allow"); allow != "" {
			sw.Header().Set("Allow", allow)
		}
		code, msg := rec.status, fmt.Sprintf("no such API path: %s %s", r.Method, truncate(r.URL.Path, 200))
		if code == http.StatusMethodNotAllowed {
			msg = fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, truncate(r.URL.Path, 200), rec.h.Get("Allow"))
		}
		writeJSON(sw, code, ErrorBody{Error: ErrorDetail{Code: http.StatusText(code), Message: msg}})
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// headerRecorder keeps the status and headers of a handler and drops its
// body.
type headerRecorder struct {
	h      http.Header
	status int
}

func (r *headerRecorder) Header() http.Header { return r.h }
func (r *headerRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *headerRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(p), nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *Server) authorized(r *http.Request) bool {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	return len(h) > len(prefix) && h[:len(prefix)] == prefix &&
		subtle.ConstantTimeCompare([]byte(h[len(prefix):]), s.token) == 1
}

func (s *Server) unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="imapmig"`)
	writeJSON(w, http.StatusUnauthorized, ErrorBody{Error: ErrorDetail{Code: "Unauthorized", Message: "missing or wrong bearer token (IMAPMIG_API_TOKEN or the api.token file in the data directory)"}})
}

func (s *Server) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			s.unauthorized(w)
			return
		}
		next(w, r)
	})
}

// ErrorBody is the shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong.
type ErrorDetail struct {
	Code     string             `json:"code"`
	Message  string             `json:"message"`
	Problems []csvbatch.Problem `json:"problems,omitempty"`
}

type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, MaxCSVUpload))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &tooLarge{fmt.Sprintf("request body over %d bytes", tooBig.Limit)}
	case errors.Is(err, io.EOF):
		return nil // no body
	case err != nil:
		return &badRequest{"invalid request body: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if errors.As(err, &tooBig) {
			return &tooLarge{fmt.Sprintf("request body over %d bytes", tooBig.Limit)}
		}
		return &badRequest{"invalid request body: data after the JSON value"}
	}
	return nil
}

type tooLarge struct{ msg string }

func (e *tooLarge) Error() string { return e.msg }

// errorStatus maps an engine error to a status and body, by type.
func errorStatus(err error) (int, ErrorDetail) {
	var (
		act  *migrate.ActionError
		dup  *migrate.DuplicateUserError
		rows *migrate.CSVError
		file *csvbatch.FileError
		ref  *migrate.RefError
		bad  *badRequest
	)
	var big *tooLarge
	var coded interface {
		HTTPStatus() int
		Code() string
	}
	switch {
	case errors.As(err, &coded):
		return coded.HTTPStatus(), ErrorDetail{Code: coded.Code(), Message: err.Error()}
	case errors.As(err, &big):
		return http.StatusRequestEntityTooLarge, ErrorDetail{Code: "RequestTooLarge", Message: big.msg}
	case errors.As(err, &bad):
		return http.StatusBadRequest, ErrorDetail{Code: "BadRequest", Message: bad.msg}
	case errors.Is(err, migrate.ErrNotFound):
		return http.StatusNotFound, ErrorDetail{Code: "NotFound", Message: err.Error()}
	case errors.As(err, &act):
		return http.StatusConflict, ErrorDetail{Code: act.Code(), Message: err.Error()}
	case errors.As(err, &dup):
		return http.StatusConflict, ErrorDetail{Code: dup.Code(), Message: err.Error()}
	case errors.Is(err, migrate.ErrExists):
		return http.StatusConflict, ErrorDetail{Code: "AlreadyExists", Message: err.Error()}
	case errors.As(err, &rows):
		return http.StatusBadRequest, ErrorDetail{Code: rows.Code(), Message: err.Error(), Problems: rows.Problems}
	case errors.As(err, &file):
		return http.StatusBadRequest, ErrorDetail{Code: file.Code, Message: err.Error()}
	case errors.As(err, &ref):
		return http.StatusBadRequest, ErrorDetail{Code: "UnknownReference", Message: err.Error()}
	case errors.Is(err, migrate.ErrRecipientNotFound):
		return http.StatusNotFound, ErrorDetail{Code: migrate.ReasonRecipientNotFound, Message: err.Error()}
	case migrate.KindOf(err) == migrate.KindFailUser && migrate.ReasonOf(err) != "":
		// A user-level failure met by an action (verify, test): the
		// user's state makes it impossible, not the daemon.
		return http.StatusConflict, ErrorDetail{Code: migrate.ReasonOf(err), Message: err.Error()}
	case errors.Is(err, migrate.ErrInvalidName):
		return http.StatusBadRequest, ErrorDetail{Code: "InvalidName", Message: err.Error()}
	}
	return http.StatusInternalServerError, ErrorDetail{Code: "InternalError", Message: err.Error()}
}

func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	status, d := errorStatus(err)
	d.Message = shortenEchoes(d.Message, requestNames(r, err)...)
	if status >= 500 {
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, ErrorBody{Error: d})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
