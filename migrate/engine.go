package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/imapmig/imapmig/csvbatch"
	"github.com/imapmig/imapmig/state"
)

// SourceFactory builds the connector of an endpoint. The daemon wires it to
// imapsrc; tests wire fakes.
type SourceFactory func(ctx context.Context, ep state.Endpoint) (SourceConnector, error)

// TargetFactory builds the Target of a tenant. The daemon wires it to
// graphdst.
type TargetFactory func(ctx context.Context, tenant state.Tenant) (Target, error)

// Options configure an Engine. Store is required.
type Options struct {
	Store   *state.Store
	Logger  *slog.Logger
	Sources SourceFactory
	Targets TargetFactory
	// MaxMessageBytes: larger messages are skipped (default 35 MB).
	MaxMessageBytes int64
	// MaxMailboxItems: a mailbox copies at most this many items in scope,
	// newest first (default 500,000).
	MaxMailboxItems int
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// RetryAttempts and RetryBackoff bound the retries of one operation
	// within a pass (default 4 attempts from 2 s); UserRetryBackoff is the
	// first wait before a failed pass runs again (default 1 min, doubling).
	RetryAttempts    int
	RetryBackoff     time.Duration
	UserRetryBackoff time.Duration
	// UserRetries is how many failed passes in a row end in Failed
	// (default 3; config failed_pass_limit). A user whose incremental
	// passes fail stays scheduled (with backoff, at most its sync
	// interval) while it shows Failed; a good pass clears the failure.
	UserRetries int
	// ReportSender is the mailbox report mails are sent from (Mail.Send);
	// ReportInterval is the time between periodic reports (default 24 h).
	ReportSender   string
	ReportInterval time.Duration
	// StallAfter flags a running user with no progress for this long as
	// stalled (default 15 min).
	StallAfter time.Duration
	// ScanInterval bounds how long the scheduler sleeps between looks at
	// the queue when nothing wakes it (default 30 s); MinScanGap is the
	// least time between two looks (default 500 ms): a look reads every
	// user, about 0.4 s at 50,000 users.
	ScanInterval time.Duration
	MinScanGap   time.Duration
}

// Engine runs batches. Its methods are the operator's actions; the HTTP API
// calls them and nothing else changes a batch.
type Engine struct {
	opts  Options
	store *state.Store
	log   *slog.Logger
	now   func() time.Time

	mu   sync.Mutex // serialises lifecycle actions
	wake chan struct{}
	// liveMu guards the options a reload changes (SetLiveOptions).
	liveMu sync.RWMutex

	regOnce  sync.Once
	registry *registry
	fatal    chan error
}

// New returns an engine over an open store.
func New(opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxMessageBytes == 0 {
		opts.MaxMessageBytes = 35 << 20
	}
	if opts.MaxMailboxItems == 0 {
		opts.MaxMailboxItems = 500000
	}
	if opts.RetryAttempts == 0 {
		opts.RetryAttempts = 4
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = 2 * time.Second
	}
	if opts.UserRetryBackoff == 0 {
		opts.UserRetryBackoff = time.Minute
	}
	if opts.UserRetries == 0 {
		opts.UserRetries = 3
	}
	if opts.ReportInterval == 0 {
		opts.ReportInterval = 24 * time.Hour
	}
	if opts.StallAfter == 0 {
		opts.StallAfter = 15 * time.Minute
	}
	if opts.MinScanGap == 0 {
		opts.MinScanGap = 500 * time.Millisecond
	}
	if opts.ScanInterval == 0 {
		opts.ScanInterval = 30 * time.Second
	}
	return &Engine{opts: opts, store: opts.Store, log: opts.Logger, now: opts.Now, wake: make(chan struct{}, 1)}
}

// Store returns the engine's store.
func (e *Engine) Store() *state.Store { return e.store }

// notify wakes the scheduler after users were queued.
func (e *Engine) notify() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// ActionError refuses an action that the object's status does not allow.
type ActionError struct {
	Object string // "batch" or "user"
	Name   string
	Status string
	Action string
	Hint   string
}

// Code is the operator-facing code.
func (e *ActionError) Code() string { return "InvalidStatusForAction" }

func (e *ActionError) Error() string {
	s := fmt.Sprintf("cannot %s %s %s: it is %s", e.Action, e.Object, e.Name, e.Status)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// CSVError rejects a batch whose CSV has bad rows (without
// SkipInvalidRows). The problems never quote a password.
type CSVError struct{ Problems []csvbatch.Problem }

// Code is the operator-facing code.
func (e *CSVError) Code() string { return "InvalidCsvRows" }

func (e *CSVError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the CSV has %d bad row(s); fix them or create the batch with --skip-invalid-rows", len(e.Problems))
	for i, p := range e.Problems {
		if i == 20 {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Problems)-20)
			break
		}
		b.WriteString("\n  " + p.Error())
	}
	return b.String()
}

// RefError reports a batch naming an endpoint or tenant that does not exist.
type RefError struct{ Kind, Name string }

func (e *RefError) Error() string { return fmt.Sprintf("no %s named %q", e.Kind, e.Name) }

// ErrInvalidName rejects a batch name that cannot be used.
var ErrInvalidName = errors.New("batch name must be 1-64 letters, digits, '-', '_' or '.'")

// BatchSpec describes a batch to create.
type BatchSpec struct {
	Name     string
	Endpoint string
	Tenant   string
	// CSVPath or CSV gives the users (CSV wins when both are set).
	CSVPath         string
	CSV             []byte
	Options         state.BatchOptions
	Autostart       bool
	SkipInvalidRows bool
	FromConfig      bool
}

// CreateResult tells what CreateBatch did.
type CreateResult struct {
	Batch       BatchView          `json:"Batch"`
	Users       int                `json:"UserCount"`
	SkippedRows []csvbatch.Problem `json:"SkippedRows,omitempty"`
}

// CreateBatch validates the CSV and stores the batch with its users. With
// Autostart it starts it too.
func (e *Engine) CreateBatch(ctx context.Context, spec BatchSpec) (*CreateResult, error) {
	if !ValidName(spec.Name) {
		return nil, ErrInvalidName
	}
	if err := e.checkRefs(spec.Endpoint, spec.Tenant); err != nil {
		return nil, err
	}
	var res *csvbatch.Result
	var err error
	if spec.CSV != nil {
		res, err = csvbatch.Parse(strings.NewReader(string(spec.CSV)))
	} else {
		res, err = csvbatch.ParseFile(spec.CSVPath)
	}
	if err != nil {
		return nil, err
	}
	if !res.Valid() && !spec.SkipInvalidRows {
		return nil, &CSVError{Problems: res.Problems}
	}
	users := make([]state.NewUser, len(res.Users))
	for i, u := range res.Users {
		users[i] = state.NewUser{EmailAddress: u.EmailAddress, UserName: u.UserName, Password: u.Password, UserRoot: u.UserRoot}
	}
	b := state.Batch{
		Name: spec.Name, Endpoint: spec.Endpoint, Tenant: spec.Tenant, CSVPath: spec.CSVPath,
		Options: spec.Options, FromConfig: spec.FromConfig, CreatedAt: e.now().UTC(),
	}
	if b.Options.SyncInterval == 0 {
		b.Options.SyncInterval = 24 * time.Hour
	}
	e.mu.Lock()
	err = e.store.CreateBatch(b, users)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	e.event(spec.Name, "", "info", fmt.Sprintf("batch created with %d users (%d bad rows left out)", len(users), len(res.Problems)))
	if spec.Autostart {
		if err := e.StartBatch(ctx, spec.Name); err != nil {
			return nil, err
		}
	}
	v, err := e.Batch(spec.Name)
	if err != nil {
		return nil, err
	}
	return &CreateResult{Batch: v, Users: len(users), SkippedRows: res.Problems}, nil
}

func (e *Engine) checkRefs(endpoint, tenant string) error {
	eps, err := e.store.Endpoints()
	if err != nil {
		return err
	}
	if !hasName(eps, endpoint, func(x state.Endpoint) string { return x.Name }) {
		return &RefError{Kind: "endpoint", Name: endpoint}
	}
	ts, err := e.store.Tenants()
	if err != nil {
		return err
	}
	if !hasName(ts, tenant, func(x state.Tenant) string { return x.Name }) {
		return &RefError{Kind: "tenant", Name: tenant}
	}
	return nil
}

func hasName[T any](xs []T, name string, key func(T) string) bool {
	for _, x := range xs {
		if key(x) == name {
			return true
		}
	}
	return false
}

// ValidName reports whether s can name a batch or an endpoint: 1-64
// letters, digits, '-', '_' or '.' (it appears in URLs and file names).
func ValidName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func (e *Engine) event(batch, user, level, msg string) {
	if err := e.store.AppendEvent(batch, state.Event{User: user, Level: level, Message: msg}); err != nil {
		e.log.Warn("event log", "batch", batch, "err", err)
	}
	e.log.Info(msg, "batch", batch, "user", user)
}
