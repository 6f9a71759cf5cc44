package migrate

import (
	"context"
	"log/slog"
	"sync"
	"time"

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
	// StreamFirstCopyAt: a first copy of at least this many messages (the
	// STATUS counts of the folders never finished) is copied oldest first,
	// chunk by chunk as their metadata is read, instead of after reading
	// every folder's metadata (newest first); see stream.go. Default
	// 50,000; negative: never.
	StreamFirstCopyAt int
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
	// average least time between two looks (default 500 ms; two may come
	// back to back after a quiet spell, see scanPace): a look reads every
	// user, about 0.4 s at 50,000 users.
	ScanInterval time.Duration
	MinScanGap   time.Duration
	// ShutdownGrace is how long creates already on the wire may go on
	// after Run's context ended before they are cut (default 2 s; see
	// shutdown.go).
	ShutdownGrace time.Duration
	// Observer is told of copies, skips and passes (metrics); nil is none.
	Observer Observer
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
	abort    aborter // shutdown.go
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
	if opts.StreamFirstCopyAt == 0 {
		opts.StreamFirstCopyAt = defaultStreamFirstCopyAt
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

func (e *Engine) event(batch, user, level, msg string) {
	if err := e.store.AppendEvent(batch, state.Event{User: user, Level: level, Message: msg}); err != nil {
		e.log.Warn("event log", "batch", batch, "err", err)
	}
	e.log.Info(msg, "batch", batch, "user", user)
}
